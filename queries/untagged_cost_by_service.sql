-- description: Untagged spend per provider, service and currency: the cost of lines without the given tag (or without any tag), and its share of the service's cost.
-- param tag: the tag key that should be on every line, e.g. team; NULL: lines with no tag at all
-- param period: billing month as YYYY-MM; NULL for every month
-- param basis: cost basis: effective (default; amortized commitments), billed or list
--
-- untagged_share is untagged ÷ all of the service's cost, rounded to 6 decimals.
WITH lines AS (
    SELECT
        coalesce(ProviderName, x_Provider, '(unknown)') AS provider,
        coalesce(ServiceName, '(unknown)') AS service,
        BillingCurrency AS currency,
        CASE
            WHEN $tag IS NULL THEN Tags IS NULL OR cardinality(Tags) = 0
            ELSE coalesce(Tags[$tag], '') = ''
        END AS is_untagged,
        basis_cost($basis, BilledCost, EffectiveCost, ListCost) AS cost
    FROM cost_line_items
    WHERE $period IS NULL OR strftime(BillingPeriodStart, '%Y-%m') = $period
)

SELECT
    provider,
    service,
    currency,
    sum(cost) FILTER (WHERE is_untagged) AS untagged_cost,
    count(*) FILTER (WHERE is_untagged) AS untagged_line_items,
    sum(cost) AS cost,
    CAST(sum(cost) FILTER (WHERE is_untagged) / nullif(sum(cost), 0) AS DECIMAL(38, 6)) AS untagged_share
FROM lines
GROUP BY provider, service, currency
HAVING count(*) FILTER (WHERE is_untagged) > 0
ORDER BY currency, untagged_cost DESC NULLS LAST, provider, service;
