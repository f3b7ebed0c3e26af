-- description: GPU-hours paid vs used per team and workload kind: allocated GPU-hours, those with GPU samples, the utilisation-weighted hours used, and the idle share within the allocation.
-- param period: billing month as YYYY-MM; NULL for every month
--
-- Only workload shares: the GPU-hours no workload occupied are in idle_gpu_cost_by_resource.
-- idle_share is 1 − used ÷ sampled GPU-hours (the allocated hours that have samples), rounded to
-- 6 decimals; NULL where no share has samples.
WITH shares AS (
    SELECT *
    FROM allocations
    WHERE bucket = 'workload'
      AND ($period IS NULL OR strftime(billing_period_start, '%Y-%m') = $period)
),

paid AS (
    SELECT
        team,
        workload_kind AS kind,
        count(DISTINCT (workload_source, workload_id)) AS workloads,
        sum(gpu_hours) AS paid_gpu_hours,
        sum(gpu_hours) FILTER (WHERE used_gpu_hours IS NOT NULL) AS sampled_gpu_hours,
        sum(used_gpu_hours) AS used_gpu_hours
    FROM shares
    GROUP BY team, workload_kind
)

SELECT
    team,
    kind,
    workloads,
    paid_gpu_hours,
    sampled_gpu_hours,
    used_gpu_hours,
    CAST(1 - used_gpu_hours / nullif(sampled_gpu_hours, 0) AS DECIMAL(38, 6)) AS idle_share
FROM paid
ORDER BY team NULLS LAST, kind NULLS LAST;
