-- description: Unattributed cost per reason (no resource id, no placement, ...), per currency: cost, line items and resources concerned, and its share of all the period's cost.
-- param period: billing month as YYYY-MM; NULL for every month
-- param basis: cost basis: effective (default; amortized commitments), billed or list
--
-- share_of_total is the reason's cost ÷ every allocation of the period in that currency (which is
-- the period's billed total: attribution conserves cost), rounded to 6 decimals.
WITH shares AS NOT MATERIALIZED (  -- inlined: each use filters it (materialising copies every allocation)
    -- The period's shares of every bucket, priced on the chosen basis.
    SELECT *
    FROM priced_allocations($basis, $period)
),

totals AS (
    SELECT billing_currency, sum(cost) AS total_cost
    FROM shares
    GROUP BY billing_currency
)

SELECT
    s.reason,
    s.billing_currency AS currency,
    sum(s.cost) AS cost,
    count(*) AS line_items,  -- a line has at most one unattributed share (rules claim whole lines)
    count(DISTINCT s.resource_id) AS resources,
    CAST(sum(s.cost) / nullif(any_value(t.total_cost), 0) AS DECIMAL(38, 6)) AS share_of_total
FROM shares AS s
JOIN totals AS t ON t.billing_currency = s.billing_currency
WHERE s.bucket = 'unattributed'
GROUP BY s.reason, s.billing_currency
ORDER BY currency, cost DESC NULLS LAST, s.reason;
