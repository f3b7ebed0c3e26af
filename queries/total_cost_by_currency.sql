-- description: The period's total cost per currency on one cost basis, the previous month's, and the month-over-month change (absolute and relative).
-- param period: billing month as YYYY-MM; NULL for every month (then nothing to compare with)
-- param basis: cost basis: effective (default; amortized commitments), billed or list
--
-- From daily_costs, the bill's daily totals kept with every load: the totals equal `finops sql` sums
-- over cost_line_items without rescanning them. change_pct is
-- 100 × (cost − previous_cost) ÷ previous_cost, rounded to 2 decimals; NULL without a previous month.
WITH lines AS (
    SELECT
        BillingCurrency AS currency,
        strftime(BillingPeriodStart, '%Y-%m') AS billing_period,
        basis_cost($basis, billed_cost, effective_cost, list_cost) AS cost,
        line_items
    FROM daily_costs
),

months AS (
    SELECT
        $period AS period,
        strftime(strptime($period || '-01', '%Y-%m-%d') - INTERVAL 1 MONTH, '%Y-%m') AS previous
),

totals AS (
    SELECT
        l.currency,
        sum(l.cost) FILTER (WHERE m.period IS NULL OR l.billing_period = m.period) AS cost,
        CAST(coalesce(sum(l.line_items) FILTER (WHERE m.period IS NULL OR l.billing_period = m.period), 0) AS BIGINT)
            AS line_items,
        sum(l.cost) FILTER (WHERE l.billing_period = m.previous) AS previous_cost
    FROM lines AS l, months AS m
    GROUP BY l.currency
)

SELECT
    currency,
    coalesce(cost, 0) AS cost,
    line_items,
    previous_cost,
    coalesce(cost, 0) - previous_cost AS change,
    CAST(100 * (coalesce(cost, 0) - previous_cost) / nullif(previous_cost, 0) AS DECIMAL(38, 2)) AS change_pct
FROM totals
WHERE line_items > 0 OR previous_cost IS NOT NULL
ORDER BY currency;
