-- The commitment a Savings Plan recurring fee or RI fee left unused, as its own row the way FOCUS models
-- it: ChargeCategory Usage, PricingCategory Committed, CommitmentDiscountStatus Unused, BilledCost 0
-- (the fee row bills it), EffectiveCost the unused amount. Reads `_cur_unused`: the fee rows of one
-- file as aws_cur.sql mapped them, with `_unused` <> 0. Staged after the file's rows.
SELECT * REPLACE (
    0 AS BilledCost,
    'Usage' AS ChargeCategory,
    'Usage-Based' AS ChargeFrequency,
    'Unused' AS CommitmentDiscountStatus,
    CAST(NULL AS DECIMAL(38, 18)) AS ConsumedQuantity,
    CAST(NULL AS VARCHAR) AS ConsumedUnit,
    0 AS ContractedCost,
    CAST(NULL AS DECIMAL(38, 18)) AS ContractedUnitPrice,
    _unused AS EffectiveCost,
    0 AS ListCost,
    CAST(NULL AS DECIMAL(38, 18)) AS ListUnitPrice,
    'Committed' AS PricingCategory,
    CAST(NULL AS DECIMAL(38, 18)) AS PricingQuantity,
    CAST(NULL AS VARCHAR) AS PricingUnit,
    coalesce(ResourceId, CommitmentDiscountId) AS ResourceId,
    CAST(NULL AS VARCHAR) AS x_InstanceType,
    CAST(NULL AS VARCHAR) AS x_GpuModel,
    CAST(NULL AS DECIMAL(38, 18)) AS x_GpuCount,
    CAST(NULL AS VARCHAR) AS _problem
)
FROM _cur_unused
