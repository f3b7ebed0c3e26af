-- 0006: the bill's cost per UTC day and bill dimension, per ingest batch, kept by the billing
-- collectors in the same transaction that replaces a batch's line items (so it always equals them;
-- `finops doctor` checks). Alerts and the report read daily totals here instead of rescanning every
-- line item. Grouping columns keep their FOCUS names; tag- and workload-scoped spend still reads
-- cost_line_items and allocations.
CREATE TABLE daily_costs (
    batch_id BIGINT NOT NULL,                  -- ingest_batches.batch_id (cost_line_items.x_BatchId)
    BillingPeriodStart TIMESTAMPTZ NOT NULL,
    day DATE NOT NULL,                         -- the UTC date the charge period starts
    is_over_a_day BOOLEAN NOT NULL,            -- the charge period is longer than a day (monthly fees)
    ProviderName VARCHAR,
    x_Provider VARCHAR,
    BillingAccountId VARCHAR,
    SubAccountId VARCHAR,
    SubAccountName VARCHAR,
    ServiceName VARCHAR,
    ServiceCategory VARCHAR,
    RegionId VARCHAR,
    ChargeCategory VARCHAR NOT NULL,
    ChargeFrequency VARCHAR,
    BillingCurrency VARCHAR NOT NULL,
    billed_cost DECIMAL(38, 18) NOT NULL,
    effective_cost DECIMAL(38, 18) NOT NULL,
    list_cost DECIMAL(38, 18),                 -- NULL where no line of the group has a list cost
    line_items BIGINT NOT NULL
);

-- Batches loaded before this migration.
INSERT INTO daily_costs
SELECT
    x_BatchId,
    BillingPeriodStart,
    CAST(timezone('UTC', ChargePeriodStart) AS DATE),
    ChargePeriodEnd - ChargePeriodStart > INTERVAL 1 DAY,
    ProviderName,
    x_Provider,
    BillingAccountId,
    SubAccountId,
    SubAccountName,
    ServiceName,
    ServiceCategory,
    RegionId,
    ChargeCategory,
    ChargeFrequency,
    BillingCurrency,
    sum(BilledCost),
    sum(EffectiveCost),
    sum(ListCost),
    count(*)
FROM cost_line_items
GROUP BY ALL;

-- The bridge's names (0002) with tag values looked up per configured key instead of unnesting every
-- line's tags: the same rows, without materialising tags × line items (which ran out of memory at
-- 10M line items under a 1 GB memory_limit).
CREATE OR REPLACE VIEW resource_names AS
SELECT DISTINCT lower(ResourceId) AS name, ResourceId AS resource_id, 'ResourceId' AS via
FROM cost_line_items WHERE ResourceId IS NOT NULL
UNION
SELECT DISTINCT lower(ResourceName), ResourceId, 'ResourceName'
FROM cost_line_items WHERE ResourceName IS NOT NULL AND ResourceId IS NOT NULL
UNION
SELECT DISTINCT lower(li.Tags[k.tag_key]), li.ResourceId, 'tag:' || k.tag_key
FROM cost_line_items AS li, (SELECT DISTINCT tag_key FROM bridge_tag_keys) AS k
WHERE li.ResourceId IS NOT NULL AND li.Tags[k.tag_key] IS NOT NULL
UNION
SELECT lower(alias), resource_id, source FROM resource_aliases;

-- The allocations' cost per UTC day (of the line's charge period start) and the bill and workload
-- dimensions alerts filter on, per ingest batch; `finops attribute` rewrites a period's rows with its
-- allocations, and a reload drops them with the batch's allocations. Team and workload anomalies and
-- attributed budgets without tag filters read it instead of joining every allocation to its line.
CREATE TABLE daily_allocations (
    batch_id BIGINT NOT NULL,                  -- the line items' batch
    billing_period_start TIMESTAMPTZ NOT NULL,
    day DATE NOT NULL,
    is_over_a_day BOOLEAN NOT NULL,
    ChargeFrequency VARCHAR,
    ChargeCategory VARCHAR NOT NULL,
    ServiceName VARCHAR,
    SubAccountId VARCHAR,
    SubAccountName VARCHAR,
    resource_id VARCHAR,                       -- the allocation's resource, else the line's ResourceId
    billing_currency VARCHAR NOT NULL,
    bucket VARCHAR NOT NULL,
    workload_source VARCHAR,
    workload_id VARCHAR,
    workload_kind VARCHAR,
    team VARCHAR,
    billed_cost DECIMAL(38, 18) NOT NULL,
    effective_cost DECIMAL(38, 18) NOT NULL,
    list_cost DECIMAL(38, 18),
    allocations BIGINT NOT NULL
);

INSERT INTO daily_allocations
SELECT
    l.x_BatchId,
    a.billing_period_start,
    CAST(timezone('UTC', l.ChargePeriodStart) AS DATE),
    l.ChargePeriodEnd - l.ChargePeriodStart > INTERVAL 1 DAY,
    l.ChargeFrequency,
    l.ChargeCategory,
    l.ServiceName,
    l.SubAccountId,
    l.SubAccountName,
    coalesce(a.resource_id, l.ResourceId),
    a.billing_currency,
    a.bucket,
    a.workload_source,
    a.workload_id,
    a.workload_kind,
    a.team,
    sum(a.billed_cost),
    sum(a.effective_cost),
    sum(a.list_cost),
    count(*)
FROM allocations AS a JOIN cost_line_items AS l ON l.x_LineItemId = a.line_item_id
GROUP BY ALL;
