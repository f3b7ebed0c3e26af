-- description: Cost per UTC day (of the charge period's start) and FOCUS service category, per currency, for the days of one billing month.
-- param period: billing month as YYYY-MM; NULL for every month
-- param basis: cost basis: effective (default; amortized commitments), billed or list
--
-- A charge that covers the whole month (a purchase, a tax, a monthly fee) counts on the day its
-- charge period starts. Lines without a ServiceCategory count as Other. Read from daily_costs (the
-- bill's daily totals), so it does not rescan the line items.
SELECT
    day,
    coalesce(ServiceCategory, 'Other') AS service_category,
    BillingCurrency AS currency,
    sum(basis_cost($basis, billed_cost, effective_cost, list_cost)) AS cost,
    CAST(sum(line_items) AS BIGINT) AS line_items
FROM daily_costs
WHERE $period IS NULL OR strftime(BillingPeriodStart, '%Y-%m') = $period
GROUP BY ALL
ORDER BY currency, day, service_category;
