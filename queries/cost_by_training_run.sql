-- description: Training runs by cost, each retry rolled up into its first attempt: cost, waste (attempts that failed, were preempted or cancelled), GPU-hours, cost per GPU-hour and the idle share within the run's allocation, per currency.
-- param period: billing month as YYYY-MM; NULL for every month
-- param basis: cost basis: effective (default; amortized commitments), billed or list
-- param top: the N costliest runs per currency; NULL for every run
--
-- A run is its first attempt: a workload whose attributes['retry_of'] names another workload of the
-- same source belongs to that workload's run (followed back to an attempt that retries nothing).
-- A run known only from a bill tag (workload_source NULL) has no record and is its own run.
-- Ratios are rounded to 6 decimals; idle_share is 1 − used ÷ allocated GPU-hours over the shares
-- that have GPU samples, NULL where none do.
WITH RECURSIVE shares AS (
    -- The period's workload shares of training runs, priced on the chosen basis.
    SELECT *
    FROM priced_allocations($basis, $period)
    WHERE bucket = 'workload'
      AND workload_kind = 'training'
),

chains (source, workload_id, run_id) AS (
    -- First attempts: workloads whose retry_of names no other recorded workload of their source.
    SELECT w.source, w.workload_id, w.workload_id
    FROM workloads AS w
    WHERE NOT EXISTS (
        SELECT 1 FROM workloads AS p
        WHERE p.source = w.source
          AND p.workload_id = w.attributes['retry_of']
          AND p.workload_id <> w.workload_id
    )
    UNION
    -- Their retries, and the retries of those.
    SELECT w.source, w.workload_id, c.run_id
    FROM workloads AS w
    JOIN chains AS c ON w.source = c.source AND w.attributes['retry_of'] = c.workload_id
    WHERE w.workload_id <> c.workload_id
),

attempts AS (
    -- Each share with its run and the status of the attempt it paid for. A workload on a retry
    -- loop reaches no first attempt and stands as its own run.
    SELECT
        s.workload_source AS source,
        coalesce(c.run_id, s.workload_id) AS run_id,
        s.workload_id,
        s.team,
        s.billing_currency,
        s.cost,
        s.gpu_hours,
        s.used_gpu_hours,
        w.status,
        w.started_at
    FROM shares AS s
    LEFT JOIN chains AS c ON c.source = s.workload_source AND c.workload_id = s.workload_id
    LEFT JOIN workloads AS w ON w.source = s.workload_source AND w.workload_id = s.workload_id
),

runs AS (
    SELECT
        source,
        run_id,
        billing_currency,
        min(team) AS team,
        -- the run's status is its latest attempt's
        arg_max(status, started_at) AS status,
        count(DISTINCT workload_id) AS attempts,
        sum(cost) AS cost,
        sum(cost) FILTER (WHERE status IN ('failed', 'preempted', 'cancelled')) AS waste,
        sum(gpu_hours) AS gpu_hours,
        sum(used_gpu_hours) AS used_gpu_hours,
        sum(gpu_hours) FILTER (WHERE used_gpu_hours IS NOT NULL) AS sampled_gpu_hours
    FROM attempts
    GROUP BY source, run_id, billing_currency
)

SELECT
    r.run_id,
    w.name,
    coalesce(w.team, r.team) AS team,
    r.source,
    coalesce(r.status, w.status) AS status,
    r.attempts,
    r.billing_currency AS currency,
    r.cost,
    CASE WHEN r.cost IS NOT NULL THEN coalesce(r.waste, 0) END AS waste_cost,
    r.gpu_hours,
    r.used_gpu_hours,
    CAST(r.cost / nullif(r.gpu_hours, 0) AS DECIMAL(38, 6)) AS cost_per_gpu_hour,
    CAST(1 - r.used_gpu_hours / nullif(r.sampled_gpu_hours, 0) AS DECIMAL(38, 6)) AS idle_share
FROM runs AS r
LEFT JOIN workloads AS w ON w.source = r.source AND w.workload_id = r.run_id
QUALIFY $top IS NULL OR row_number() OVER (PARTITION BY r.billing_currency ORDER BY r.cost DESC NULLS LAST, r.run_id) <= $top
ORDER BY currency, r.cost DESC NULLS LAST, r.run_id;
