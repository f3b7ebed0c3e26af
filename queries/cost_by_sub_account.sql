-- description: Cost per provider, sub account (AWS member account, GCP project, Azure subscription) and currency, with the previous month's cost, largest first.
-- param period: billing month as YYYY-MM; NULL for every month (previous_cost is then NULL)
-- param basis: cost basis: effective (default; amortized commitments), billed or list
WITH lines AS (
    SELECT
        coalesce(ProviderName, x_Provider, '(unknown)') AS provider,
        SubAccountId AS sub_account_id,
        SubAccountName AS sub_account_name,
        BillingCurrency AS currency,
        strftime(BillingPeriodStart, '%Y-%m') AS billing_period,
        basis_cost($basis, billed_cost, effective_cost, list_cost) AS cost
    FROM daily_costs  -- the bill's daily totals: no rescan of the line items
),

previous AS (
    SELECT strftime(strptime($period || '-01', '%Y-%m-%d') - INTERVAL 1 MONTH, '%Y-%m') AS period
)

SELECT
    l.provider,
    l.sub_account_id,
    any_value(l.sub_account_name ORDER BY l.billing_period DESC) AS sub_account_name,
    l.currency,
    coalesce(sum(l.cost) FILTER (WHERE $period IS NULL OR l.billing_period = $period), 0) AS cost,
    sum(l.cost) FILTER (WHERE l.billing_period = p.period) AS previous_cost
FROM lines AS l, previous AS p
WHERE $period IS NULL OR l.billing_period IN ($period, p.period)
GROUP BY l.provider, l.sub_account_id, l.currency
ORDER BY l.currency, cost DESC, l.provider, l.sub_account_id NULLS LAST;
