-- description: Commitment coverage per service: the share of usage (on the on-demand ListCost basis) that Savings Plans, reservations or CUDs covered, per currency, for services with any commitment-eligible usage.
-- param period: billing month as YYYY-MM; NULL for every month
--
-- Usage lines only (ChargeCategory Usage, not the Unused commitment rows). coverage =
-- covered ListCost ÷ all usage ListCost of the service, rounded to 6 decimals; a service that no
-- commitment touched in the period is listed only when it shares a provider with one that did.
WITH usage AS NOT MATERIALIZED (  -- inlined: materialising would copy every usage line
    SELECT
        coalesce(ProviderName, x_Provider, '(unknown)') AS provider,
        coalesce(ServiceName, '(unknown)') AS service,
        BillingCurrency AS currency,
        ListCost AS list_cost,
        EffectiveCost AS effective_cost,
        CommitmentDiscountId IS NOT NULL AS is_covered
    FROM cost_line_items
    WHERE ChargeCategory = 'Usage'
      AND coalesce(CommitmentDiscountStatus, '') <> 'Unused'
      AND ($period IS NULL OR strftime(BillingPeriodStart, '%Y-%m') = $period)
),

committed_providers AS (
    SELECT DISTINCT provider FROM usage WHERE is_covered
)

SELECT
    provider,
    service,
    currency,
    sum(list_cost) AS usage_list_cost,
    coalesce(sum(list_cost) FILTER (WHERE is_covered), 0) AS covered_list_cost,
    coalesce(sum(list_cost) FILTER (WHERE NOT is_covered), 0) AS on_demand_list_cost,
    sum(effective_cost) AS usage_effective_cost,
    CAST(coalesce(sum(list_cost) FILTER (WHERE is_covered), 0) / nullif(sum(list_cost), 0) AS DECIMAL(38, 6))
        AS coverage
FROM usage
WHERE provider IN (SELECT provider FROM committed_providers)
GROUP BY provider, service, currency
ORDER BY currency, usage_list_cost DESC NULLS LAST, provider, service;
