-- 0003: an allocation names its workload by (workload_source, workload_id) like the workloads table,
-- says what kind of workload it is (also for runs known only from a bill tag), and which billed
-- resource the line was for (so idle spend stays per resource and per owner).

ALTER TABLE allocations ADD COLUMN workload_source VARCHAR;  -- NULL for a workload known only from a bill tag
ALTER TABLE allocations ADD COLUMN workload_kind VARCHAR;    -- training, deployment, batch, notebook
ALTER TABLE allocations ADD COLUMN resource_id VARCHAR;      -- the line's ResourceId

-- The period's allocations priced on one cost basis, as the named queries read them:
-- `FROM priced_allocations($basis, $period)` with basis effective (default), billed or list and
-- period YYYY-MM (NULL for every month).
CREATE MACRO priced_allocations(basis, period) AS TABLE
SELECT
    *,
    CASE coalesce(basis, 'effective')
        WHEN 'effective' THEN effective_cost
        WHEN 'billed' THEN billed_cost
        WHEN 'list' THEN list_cost
        ELSE error('basis must be effective, billed or list, not ' || basis)
    END AS cost
FROM allocations
WHERE period IS NULL OR strftime(billing_period_start, '%Y-%m') = period;

-- Each deployment's cost of the period on one basis, with GPU-hours, requests and cost per 1k requests.
-- request_count counts a deployment's whole recorded life, so cost per 1k requests is given only where
-- the cost covers that life too: over every month, or in a month that holds the deployment's start and
-- all of its attributed cost.
CREATE MACRO deployment_costs(basis, period) AS TABLE
WITH shares AS (
    -- The period's workload shares of deployments, priced on the chosen basis.
    SELECT *
    FROM priced_allocations(basis, period)
    WHERE bucket = 'workload'
      AND workload_kind = 'deployment'
),

whole_life AS (
    -- Deployments whose every attributed share lies in the period.
    SELECT workload_source, workload_id
    FROM allocations
    WHERE bucket = 'workload' AND workload_kind = 'deployment'
    GROUP BY workload_source, workload_id
    HAVING period IS NULL OR bool_and(strftime(billing_period_start, '%Y-%m') = period)
),

deployments AS (
    SELECT
        workload_source AS source,
        workload_id,
        billing_currency,
        min(team) AS team,
        sum(cost) AS cost,
        sum(gpu_hours) AS gpu_hours,
        sum(used_gpu_hours) AS used_gpu_hours,
        sum(gpu_hours) FILTER (WHERE used_gpu_hours IS NOT NULL) AS sampled_gpu_hours
    FROM shares
    GROUP BY workload_source, workload_id, billing_currency
)

SELECT
    d.workload_id AS deployment_id,
    w.name,
    coalesce(w.team, d.team) AS team,
    d.source,
    w.status,
    d.billing_currency AS currency,
    d.cost,
    d.gpu_hours,
    d.used_gpu_hours,
    CAST(d.cost / nullif(d.gpu_hours, 0) AS DECIMAL(38, 6)) AS cost_per_gpu_hour,
    CAST(1 - d.used_gpu_hours / nullif(d.sampled_gpu_hours, 0) AS DECIMAL(38, 6)) AS idle_share,
    w.request_count AS requests,
    CASE
        WHEN l.workload_id IS NOT NULL AND (period IS NULL OR strftime(w.started_at, '%Y-%m') = period)
        THEN CAST(d.cost * 1000 / nullif(w.request_count, 0) AS DECIMAL(38, 6))
    END AS cost_per_1k_requests
FROM deployments AS d
LEFT JOIN workloads AS w ON w.source = d.source AND w.workload_id = d.workload_id
LEFT JOIN whole_life AS l ON l.workload_source = d.source AND l.workload_id = d.workload_id;
