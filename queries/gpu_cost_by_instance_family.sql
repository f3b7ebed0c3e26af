-- description: Cost of GPU instances per provider, instance family (p4d, p5, g5, a2, a3, g2 ...) and currency, with their GPU model, usage hours and line items, largest first.
-- param period: billing month as YYYY-MM; NULL for every month
-- param basis: cost basis: effective (default; amortized commitments), billed or list
--
-- A GPU instance is a line whose instance type is in the instance_types catalogue with GPUs, or
-- whose x_GpuCount is positive. The family is the type up to its first '.' (AWS, SageMaker's 'ml.'
-- dropped) or '-' (GCP).
WITH lines AS (
    SELECT
        li.*,
        regexp_replace(li.x_InstanceType, '^ml\.', '') AS instance_type
    FROM cost_line_items AS li
    WHERE li.x_InstanceType IS NOT NULL
      AND ($period IS NULL OR strftime(li.BillingPeriodStart, '%Y-%m') = $period)
),

gpu_types AS (
    SELECT instance_type, max(gpu_model) AS gpu_model
    FROM instance_types
    WHERE gpu_count > 0
    GROUP BY instance_type
)

SELECT
    coalesce(l.ProviderName, l.x_Provider, '(unknown)') AS provider,
    regexp_extract(l.instance_type, '^[^.-]+') AS instance_family,
    coalesce(any_value(g.gpu_model), any_value(l.x_GpuModel)) AS gpu_model,
    l.BillingCurrency AS currency,
    sum(basis_cost($basis, l.BilledCost, l.EffectiveCost, l.ListCost)) AS cost,
    sum(l.ConsumedQuantity) FILTER (WHERE l.ConsumedUnit = 'Hours') AS instance_hours,
    count(DISTINCT l.ResourceId) AS resources,
    count(*) AS line_items
FROM lines AS l
LEFT JOIN gpu_types AS g ON g.instance_type = l.instance_type
WHERE g.instance_type IS NOT NULL OR l.x_GpuCount > 0
GROUP BY ALL
ORDER BY currency, cost DESC NULLS LAST, provider, instance_family;
