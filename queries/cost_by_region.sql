-- description: Cost per provider, region and currency, largest first (lines without a region, such as support, taxes and global services, under '(global)').
-- param period: billing month as YYYY-MM; NULL for every month
-- param basis: cost basis: effective (default; amortized commitments), billed or list
SELECT
    coalesce(ProviderName, x_Provider, '(unknown)') AS provider,
    coalesce(RegionId, RegionName, '(global)') AS region,
    BillingCurrency AS currency,
    sum(basis_cost($basis, BilledCost, EffectiveCost, ListCost)) AS cost,
    count(*) AS line_items
FROM cost_line_items
WHERE $period IS NULL OR strftime(BillingPeriodStart, '%Y-%m') = $period
GROUP BY ALL
ORDER BY currency, cost DESC NULLS LAST, provider, region;
