-- description: Cost per team and currency, split into what its workloads used, its idle resources, its share of shared costs and unattributed cost, with the total.
-- param period: billing month as YYYY-MM; NULL for every month
-- param basis: cost basis: effective (default; amortized commitments), billed or list
--
-- Every allocation counts once, so the totals over all rows of a currency equal the period's bill
-- in that currency. Cost no team owns (mostly unattributed) is on the row whose team is NULL.
WITH shares AS (
    -- The period's shares of every bucket, priced on the chosen basis.
    SELECT *
    FROM priced_allocations($basis, $period)
)

SELECT
    team,
    billing_currency AS currency,
    coalesce(sum(cost) FILTER (WHERE bucket = 'workload'), 0) AS workload_cost,
    coalesce(sum(cost) FILTER (WHERE bucket = 'idle'), 0) AS idle_cost,
    coalesce(sum(cost) FILTER (WHERE bucket = 'shared'), 0) AS shared_cost,
    coalesce(sum(cost) FILTER (WHERE bucket = 'unattributed'), 0) AS unattributed_cost,
    sum(cost) AS total_cost,
    sum(gpu_hours) FILTER (WHERE bucket = 'workload') AS workload_gpu_hours,
    sum(gpu_hours) FILTER (WHERE bucket = 'idle') AS idle_gpu_hours
FROM shares
GROUP BY team, billing_currency
ORDER BY currency, total_cost DESC NULLS LAST, team NULLS LAST;
