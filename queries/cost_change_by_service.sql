-- description: Month-over-month change per provider, service and currency: this month's cost, the previous month's, the change and the relative change, largest absolute change first.
-- param period: billing month as YYYY-MM (required)
-- param basis: cost basis: effective (default; amortized commitments), billed or list
--
-- A service billed in only one of the two months has 0 for the other. change_pct is 100 × change ÷
-- previous_cost, rounded to 2 decimals; NULL when the previous month had none. Read from daily_costs.
WITH months AS (
    SELECT
        CASE WHEN $period IS NULL THEN error('give the month: -p period=YYYY-MM') ELSE $period END AS period,
        strftime(strptime($period || '-01', '%Y-%m-%d') - INTERVAL 1 MONTH, '%Y-%m') AS previous
),

lines AS (
    SELECT
        coalesce(ProviderName, x_Provider, '(unknown)') AS provider,
        coalesce(ServiceName, '(unknown)') AS service,
        BillingCurrency AS currency,
        strftime(BillingPeriodStart, '%Y-%m') AS billing_period,
        basis_cost($basis, billed_cost, effective_cost, list_cost) AS cost
    FROM daily_costs
),

changes AS (
    SELECT
        l.provider,
        l.service,
        l.currency,
        coalesce(sum(l.cost) FILTER (WHERE l.billing_period = m.period), 0) AS cost,
        coalesce(sum(l.cost) FILTER (WHERE l.billing_period = m.previous), 0) AS previous_cost
    FROM lines AS l, months AS m
    WHERE l.billing_period IN (m.period, m.previous)
    GROUP BY l.provider, l.service, l.currency
)

SELECT
    provider,
    service,
    currency,
    cost,
    previous_cost,
    cost - previous_cost AS change,
    CAST(100 * (cost - previous_cost) / nullif(previous_cost, 0) AS DECIMAL(38, 2)) AS change_pct
FROM changes
ORDER BY currency, abs(cost - previous_cost) DESC, provider, service;
