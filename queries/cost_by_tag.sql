-- description: Cost per value of one bill tag (NULL value: lines without that tag) and currency, largest first.
-- param tag: the tag key, e.g. team or cost-center (required)
-- param period: billing month as YYYY-MM; NULL for every month
-- param basis: cost basis: effective (default; amortized commitments), billed or list
SELECT
    $tag AS tag,
    Tags[$tag] AS value,
    BillingCurrency AS currency,
    sum(basis_cost($basis, BilledCost, EffectiveCost, ListCost)) AS cost,
    count(*) AS line_items
FROM cost_line_items
WHERE ($period IS NULL OR strftime(BillingPeriodStart, '%Y-%m') = $period)
  AND (CASE WHEN $tag IS NULL THEN error('give the tag key: -p tag=KEY') ELSE true END)
GROUP BY ALL
ORDER BY currency, cost DESC NULLS LAST, value NULLS LAST;
