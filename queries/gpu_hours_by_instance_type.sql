-- description: GPU instance types: GPU cost, GPU-hours paid (allocated to workloads or idle), sampled and used, idle GPU-hours and idle cost, per currency, costliest first.
-- param period: billing month as YYYY-MM; NULL for every month
-- param basis: cost basis: effective (default; amortized commitments), billed or list
--
-- Only shares that carry GPU-hours (the lines of GPU resources that `finops attribute` split by
-- GPU time or gave wholly to a workload). used_share is used ÷ sampled GPU-hours, rounded to 6
-- decimals; NULL where nothing on the type has GPU samples.
WITH shares AS (
    SELECT
        a.*,
        coalesce(li.x_InstanceType, '(unknown)') AS instance_type,
        coalesce(li.ProviderName, li.x_Provider, '(unknown)') AS provider
    FROM priced_allocations($basis, $period) AS a
    JOIN cost_line_items AS li ON li.x_LineItemId = a.line_item_id
    WHERE a.gpu_hours IS NOT NULL
)

SELECT
    provider,
    instance_type,
    billing_currency AS currency,
    sum(cost) AS gpu_cost,
    sum(gpu_hours) AS paid_gpu_hours,
    sum(gpu_hours) FILTER (WHERE used_gpu_hours IS NOT NULL) AS sampled_gpu_hours,
    sum(used_gpu_hours) AS used_gpu_hours,
    coalesce(sum(gpu_hours) FILTER (WHERE bucket = 'idle'), 0) AS idle_gpu_hours,
    coalesce(sum(cost) FILTER (WHERE bucket = 'idle'), 0) AS idle_cost,
    CAST(sum(used_gpu_hours) / nullif(sum(gpu_hours) FILTER (WHERE used_gpu_hours IS NOT NULL), 0) AS DECIMAL(38, 6))
        AS used_share
FROM shares
GROUP BY provider, instance_type, billing_currency
ORDER BY currency, gpu_cost DESC, provider, instance_type;
