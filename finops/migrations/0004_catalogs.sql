-- Catalogs the inventory and price collectors keep: GPU capacity per instance / machine type
-- (`finops collect aws-instances`, GCE machine types) and public list prices (`finops collect gcp-prices`).
-- Each collector replaces its own provider's rows in one transaction.

CREATE TABLE instance_types (
    provider VARCHAR NOT NULL,                 -- aws | gcp
    instance_type VARCHAR NOT NULL,            -- p4d.24xlarge, a2-highgpu-8g (SageMaker's ml. prefix stripped)
    gpu_count INTEGER,
    gpu_model VARCHAR,                         -- A100, H100, L4 ... (the static catalogue's names)
    gpu_memory_mib BIGINT,                     -- per GPU
    vcpus INTEGER,
    memory_mib BIGINT,
    source VARCHAR NOT NULL,                   -- describe_instance_types, compute.machineTypes, static
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE list_prices (
    provider VARCHAR NOT NULL,                 -- gcp
    service_id VARCHAR,                        -- 6F81-5844-456A (Compute Engine)
    sku_id VARCHAR NOT NULL,
    description VARCHAR,
    region VARCHAR NOT NULL,                   -- one row per service region of the SKU
    usage_type VARCHAR,                        -- OnDemand, Preemptible, Commit1Yr ...
    resource_group VARCHAR,                    -- GPU, CPU, RAM ...
    gpu_model VARCHAR,
    pricing_unit VARCHAR,                      -- h, GiBy.h ...
    billing_currency VARCHAR NOT NULL,
    unit_price DECIMAL(38, 18) NOT NULL,       -- per pricing_unit, first tier
    effective_time TIMESTAMPTZ,
    fetched_at TIMESTAMPTZ NOT NULL
);

-- aws
-- When the delivery a billing batch came from was written (legacy CUR assembly / Data Exports
-- execution manifest): a later load of an older delivery of the same period does not replace it.
ALTER TABLE ingest_batches ADD COLUMN manifest_at TIMESTAMPTZ;
