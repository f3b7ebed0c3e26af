-- description: Idle GPU cost per billed resource and owning team: what no workload occupied, its GPU-hours, and its share of the resource's cost, per currency, largest first.
-- param period: billing month as YYYY-MM; NULL for every month
-- param basis: cost basis: effective (default; amortized commitments), billed or list
-- param top: the N largest idle costs per currency; NULL for all
--
-- idle_share is the idle cost ÷ everything allocated from the resource's lines (all buckets),
-- rounded to 6 decimals.
WITH shares AS NOT MATERIALIZED (  -- inlined: each use filters it (materialising copies every allocation)
    -- The period's shares of every bucket, priced on the chosen basis.
    SELECT *
    FROM priced_allocations($basis, $period)
),

idle AS (
    SELECT
        resource_id,
        team,
        billing_currency,
        sum(cost) AS idle_cost,
        sum(gpu_hours) AS idle_gpu_hours,
        count(*) AS line_items  -- a line has at most one idle share (time share leaves one remainder)
    FROM shares
    WHERE bucket = 'idle'
    GROUP BY resource_id, team, billing_currency
),

resources AS (
    -- Everything the resource's lines cost, whichever bucket took it.
    SELECT resource_id, billing_currency, sum(cost) AS resource_cost
    FROM shares
    WHERE resource_id IN (SELECT resource_id FROM idle)
    GROUP BY resource_id, billing_currency
)

SELECT
    i.resource_id,
    i.team,
    i.billing_currency AS currency,
    i.idle_cost,
    i.idle_gpu_hours,
    i.line_items,
    r.resource_cost,
    CAST(i.idle_cost / nullif(r.resource_cost, 0) AS DECIMAL(38, 6)) AS idle_share
FROM idle AS i
LEFT JOIN resources AS r ON r.resource_id = i.resource_id AND r.billing_currency = i.billing_currency
QUALIFY $top IS NULL
     OR row_number() OVER (PARTITION BY i.billing_currency ORDER BY i.idle_cost DESC NULLS LAST, i.resource_id, i.team) <= $top
ORDER BY currency, i.idle_cost DESC NULLS LAST, i.resource_id, i.team;
