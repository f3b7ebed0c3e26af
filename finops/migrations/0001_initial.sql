-- 0001: the store of DESIGN.md. Money and quantities DECIMAL(38, 18); instants TIMESTAMPTZ (UTC);
-- every interval half-open [start, end). FOCUS columns keep FOCUS names; our own tables are snake_case.

-- One run of a billing collector (recorded even when it changed nothing).
CREATE TABLE ingest_loads (
    load_id BIGINT PRIMARY KEY,
    source VARCHAR NOT NULL,                   -- collector: focus, aws-cur, gcp-billing, ...
    source_uri VARCHAR NOT NULL,               -- what the user pointed the collector at
    load_checksum VARCHAR NOT NULL,            -- sha256 over every file's checksum and the load's settings
    files JSON NOT NULL,                       -- [{"path", "sha256", "bytes"}]
    scopes JSON NOT NULL,                      -- [{"billing_account_id", "billing_period_start", "checksum", "action"}]
    loaded_at TIMESTAMPTZ NOT NULL,
    finops_version VARCHAR NOT NULL
);

-- One load of one source for one (billing account, billing period): the unit of replacement.
CREATE TABLE ingest_batches (
    batch_id BIGINT PRIMARY KEY,
    load_id BIGINT NOT NULL,                   -- the ingest_loads run that wrote it
    source VARCHAR NOT NULL,
    source_uri VARCHAR NOT NULL,
    provider VARCHAR,                          -- x_Provider of the rows
    billing_account_id VARCHAR NOT NULL,       -- '' when the source names none
    billing_period_start TIMESTAMPTZ NOT NULL,
    billing_period_end TIMESTAMPTZ NOT NULL,
    billing_currency VARCHAR NOT NULL,         -- one per batch: currencies are never summed together
    files JSON NOT NULL,                       -- [{"path", "sha256", "bytes"}] that gave rows to this batch
    checksum VARCHAR NOT NULL,                 -- identity of the batch's row content (order-free)
    manifest_id VARCHAR,                       -- assembly / execution id where the source has one
    row_count BIGINT NOT NULL,
    billed_cost DECIMAL(38, 18) NOT NULL,      -- Σ BilledCost of the batch's rows
    effective_cost DECIMAL(38, 18) NOT NULL,   -- Σ EffectiveCost
    list_cost DECIMAL(38, 18),                 -- Σ ListCost (NULL when no row has one)
    loaded_at TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,         -- last time a load found these exact files again
    replaced_batch_id BIGINT                   -- the batch of the same scope this one replaced
);

-- Batches whose rows are in cost_line_items now (not replaced by a later load).
CREATE VIEW current_batches AS
SELECT b.* FROM ingest_batches b
WHERE NOT EXISTS (SELECT 1 FROM ingest_batches n WHERE n.replaced_batch_id = b.batch_id);

-- One billing line: a FOCUS Cost and Usage row (1.2 columns, then 1.3/1.4 ones, then x_ extras).
CREATE TABLE cost_line_items (
    AvailabilityZone VARCHAR,
    BilledCost DECIMAL(38, 18) NOT NULL,
    BillingAccountId VARCHAR,
    BillingAccountName VARCHAR,
    BillingAccountType VARCHAR,
    BillingCurrency VARCHAR NOT NULL,
    BillingPeriodEnd TIMESTAMPTZ NOT NULL,
    BillingPeriodStart TIMESTAMPTZ NOT NULL,
    CapacityReservationId VARCHAR,
    CapacityReservationStatus VARCHAR,
    ChargeCategory VARCHAR NOT NULL,
    ChargeClass VARCHAR,
    ChargeDescription VARCHAR,
    ChargeFrequency VARCHAR,
    ChargePeriodEnd TIMESTAMPTZ NOT NULL,
    ChargePeriodStart TIMESTAMPTZ NOT NULL,
    CommitmentDiscountCategory VARCHAR,
    CommitmentDiscountId VARCHAR,
    CommitmentDiscountName VARCHAR,
    CommitmentDiscountQuantity DECIMAL(38, 18),
    CommitmentDiscountStatus VARCHAR,
    CommitmentDiscountType VARCHAR,
    CommitmentDiscountUnit VARCHAR,
    ConsumedQuantity DECIMAL(38, 18),
    ConsumedUnit VARCHAR,
    ContractedCost DECIMAL(38, 18),
    ContractedUnitPrice DECIMAL(38, 18),
    EffectiveCost DECIMAL(38, 18) NOT NULL,
    InvoiceId VARCHAR,
    InvoiceIssuerName VARCHAR,
    ListCost DECIMAL(38, 18),
    ListUnitPrice DECIMAL(38, 18),
    PricingCategory VARCHAR,
    PricingCurrency VARCHAR,
    PricingCurrencyContractedUnitPrice DECIMAL(38, 18),
    PricingCurrencyEffectiveCost DECIMAL(38, 18),
    PricingCurrencyListUnitPrice DECIMAL(38, 18),
    PricingQuantity DECIMAL(38, 18),
    PricingUnit VARCHAR,
    ProviderName VARCHAR,
    PublisherName VARCHAR,
    RegionId VARCHAR,
    RegionName VARCHAR,
    ResourceId VARCHAR,
    ResourceName VARCHAR,
    ResourceType VARCHAR,
    ServiceCategory VARCHAR,
    ServiceName VARCHAR,
    ServiceSubcategory VARCHAR,
    SkuId VARCHAR,
    SkuMeter VARCHAR,
    SkuPriceDetails JSON,
    SkuPriceId VARCHAR,
    SubAccountId VARCHAR,
    SubAccountName VARCHAR,
    SubAccountType VARCHAR,
    Tags MAP(VARCHAR, VARCHAR),
    AllocatedMethodDetails JSON,
    AllocatedMethodId VARCHAR,
    AllocatedResourceId VARCHAR,
    AllocatedResourceName VARCHAR,
    AllocatedTags MAP(VARCHAR, VARCHAR),
    ContractApplied JSON,
    HostProviderName VARCHAR,
    ServiceProviderName VARCHAR,
    CommitmentProgramEligibilityDetails JSON,
    InvoiceDetailId VARCHAR,
    x_Provider VARCHAR,
    x_ServiceCode VARCHAR,
    x_UsageType VARCHAR,
    x_Operation VARCHAR,
    x_LineItemType VARCHAR,
    x_InstanceType VARCHAR,
    x_GpuModel VARCHAR,
    x_GpuCount DECIMAL(38, 18),
    x_Extras MAP(VARCHAR, VARCHAR),
    x_BatchId BIGINT NOT NULL,
    x_LineItemId BIGINT NOT NULL
);

-- One training run, deployment, batch job or notebook.
CREATE TABLE workloads (
    workload_id VARCHAR NOT NULL,
    kind VARCHAR NOT NULL CHECK (kind IN ('training', 'deployment', 'batch', 'notebook')),
    name VARCHAR,
    team VARCHAR,
    project VARCHAR,
    owner VARCHAR,
    source VARCHAR NOT NULL,
    started_at TIMESTAMPTZ,
    ended_at TIMESTAMPTZ,                      -- NULL while running
    request_count BIGINT,                      -- deployments, where known
    attributes MAP(VARCHAR, VARCHAR),
    loaded_at TIMESTAMPTZ NOT NULL
);

-- One interval [started_at, ended_at) of a workload on a resource.
CREATE TABLE workload_placements (
    workload_id VARCHAR NOT NULL,
    resource_id VARCHAR NOT NULL,              -- instance id, ARN, node or host name
    gpu_count DECIMAL(38, 18),
    gpu_uuids VARCHAR[],
    started_at TIMESTAMPTZ NOT NULL,
    ended_at TIMESTAMPTZ,
    source VARCHAR NOT NULL,
    loaded_at TIMESTAMPTZ NOT NULL
);

-- One resource and its GPU capacity.
CREATE TABLE resources (
    resource_id VARCHAR NOT NULL,
    provider VARCHAR,
    instance_type VARCHAR,
    gpu_count DECIMAL(38, 18),
    gpu_model VARCHAR,
    gpu_memory_mib BIGINT,
    region VARCHAR,
    hostname VARCHAR,
    source VARCHAR NOT NULL,
    attributes MAP(VARCHAR, VARCHAR),
    updated_at TIMESTAMPTZ NOT NULL
);

-- One GPU metric sample (telemetry, not money: DOUBLE is fine here).
CREATE TABLE gpu_samples (
    ts TIMESTAMPTZ NOT NULL,
    host VARCHAR,
    resource_id VARCHAR,
    gpu_uuid VARCHAR,
    gpu_index INTEGER,
    gpu_model VARCHAR,
    utilization DOUBLE,                        -- percent, 0-100
    memory_used_mib DOUBLE,
    memory_total_mib DOUBLE,
    power_watts DOUBLE,
    pod VARCHAR,
    namespace VARCHAR,
    container VARCHAR,
    source VARCHAR NOT NULL
);

-- One share of one line item for a workload or a bucket; Σ shares == the line item's cost per basis.
CREATE TABLE allocations (
    billing_period_start TIMESTAMPTZ NOT NULL,
    line_item_id BIGINT NOT NULL,              -- cost_line_items.x_LineItemId
    bucket VARCHAR NOT NULL CHECK (bucket IN ('workload', 'idle', 'shared', 'unattributed')),
    workload_id VARCHAR,
    team VARCHAR,
    rule VARCHAR NOT NULL,                     -- the rule that claimed the share
    reason VARCHAR,                            -- why, for unattributed and shared
    billing_currency VARCHAR NOT NULL,
    billed_cost DECIMAL(38, 18) NOT NULL,
    effective_cost DECIMAL(38, 18) NOT NULL,
    list_cost DECIMAL(38, 18),
    gpu_hours DECIMAL(38, 18),                 -- allocated (paid) GPU-hours
    used_gpu_hours DECIMAL(38, 18),            -- utilisation-weighted, where samples exist
    computed_at TIMESTAMPTZ NOT NULL
);

-- One alert state per budget x period x threshold.
CREATE TABLE alert_events (
    alert_key VARCHAR NOT NULL,                -- budget or anomaly scope
    kind VARCHAR NOT NULL,                     -- actual, forecast, anomaly
    period_start DATE NOT NULL,
    threshold VARCHAR NOT NULL,
    status VARCHAR NOT NULL CHECK (status IN ('firing', 'resolved')),
    billing_currency VARCHAR,
    amount DECIMAL(38, 18),                    -- the spend or forecast that crossed
    limit_amount DECIMAL(38, 18),
    channel VARCHAR,
    details JSON,
    first_fired_at TIMESTAMPTZ NOT NULL,
    last_sent_at TIMESTAMPTZ
);
