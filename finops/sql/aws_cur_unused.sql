-- The commitment a Savings Plan recurring fee or RI fee left unused, as its own row the way FOCUS models
-- it: ChargeCategory Usage, PricingCategory Committed, CommitmentDiscountStatus Unused, BilledCost 0
-- (the fee row bills it), EffectiveCost the unused amount. Reads a file's rows as aws_cur.sql maps
-- them; every row passes through, and a fee row with `_unused` <> 0 is followed by its unused row (one
-- scan of the file: unnest gives the fee row twice, the second time rewritten).
SELECT * EXCLUDE (_unused_row) REPLACE (
    CASE WHEN _unused_row THEN 0 ELSE BilledCost END AS BilledCost,
    CASE WHEN _unused_row THEN 'Usage' ELSE ChargeCategory END AS ChargeCategory,
    CASE WHEN _unused_row THEN 'Usage-Based' ELSE ChargeFrequency END AS ChargeFrequency,
    CASE WHEN _unused_row THEN 'Unused' ELSE CommitmentDiscountStatus END AS CommitmentDiscountStatus,
    CASE WHEN _unused_row THEN NULL ELSE ConsumedQuantity END AS ConsumedQuantity,
    CASE WHEN _unused_row THEN NULL ELSE ConsumedUnit END AS ConsumedUnit,
    CASE WHEN _unused_row THEN 0 ELSE ContractedCost END AS ContractedCost,
    CASE WHEN _unused_row THEN NULL ELSE ContractedUnitPrice END AS ContractedUnitPrice,
    CASE WHEN _unused_row THEN _unused ELSE EffectiveCost END AS EffectiveCost,
    CASE WHEN _unused_row THEN 0 ELSE ListCost END AS ListCost,
    CASE WHEN _unused_row THEN NULL ELSE ListUnitPrice END AS ListUnitPrice,
    CASE WHEN _unused_row THEN 'Committed' ELSE PricingCategory END AS PricingCategory,
    CASE WHEN _unused_row THEN NULL ELSE PricingQuantity END AS PricingQuantity,
    CASE WHEN _unused_row THEN NULL ELSE PricingUnit END AS PricingUnit,
    CASE WHEN _unused_row THEN coalesce(ResourceId, CommitmentDiscountId) ELSE ResourceId END AS ResourceId,
    CASE WHEN _unused_row THEN NULL ELSE x_InstanceType END AS x_InstanceType,
    CASE WHEN _unused_row THEN NULL ELSE x_GpuModel END AS x_GpuModel,
    CASE WHEN _unused_row THEN NULL ELSE x_GpuCount END AS x_GpuCount,
    CASE WHEN _unused_row THEN NULL ELSE _problem END AS _problem,
    CASE WHEN _unused_row THEN NULL ELSE _row END AS _row  -- numbered at commit, after the file rows
)
FROM (SELECT *, unnest(CASE WHEN _unused <> 0 THEN [false, true] ELSE [false] END) AS _unused_row FROM ({rows}))
