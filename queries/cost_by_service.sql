-- description: Cost per provider, service and currency, with its FOCUS service category and the line items, largest first.
-- param period: billing month as YYYY-MM; NULL for every month
-- param basis: cost basis: effective (default; amortized commitments), billed or list
--
-- Read from daily_costs (the bill's daily totals), so it does not rescan the line items.
SELECT
    coalesce(ProviderName, x_Provider, '(unknown)') AS provider,
    coalesce(ServiceName, '(unknown)') AS service,
    coalesce(ServiceCategory, 'Other') AS service_category,
    BillingCurrency AS currency,
    sum(basis_cost($basis, billed_cost, effective_cost, list_cost)) AS cost,
    CAST(sum(line_items) AS BIGINT) AS line_items
FROM daily_costs
WHERE $period IS NULL OR strftime(BillingPeriodStart, '%Y-%m') = $period
GROUP BY ALL
ORDER BY currency, cost DESC NULLS LAST, provider, service;
