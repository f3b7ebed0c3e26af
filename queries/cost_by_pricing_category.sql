-- description: Spot vs on-demand vs committed: cost per provider, FOCUS pricing category (Standard = on-demand, Dynamic = spot/preemptible, Committed = covered by a commitment) and currency, with the on-demand list cost and the saving against it.
-- param period: billing month as YYYY-MM; NULL for every month
-- param basis: cost basis: effective (default; amortized commitments), billed or list
--
-- Usage lines only: purchases, taxes and credits have no pricing category. savings = list_cost −
-- cost; savings_share = savings ÷ list_cost, rounded to 6 decimals.
SELECT
    coalesce(ProviderName, x_Provider, '(unknown)') AS provider,
    coalesce(PricingCategory, '(none)') AS pricing_category,
    CASE PricingCategory
        WHEN 'Standard' THEN 'on-demand'
        WHEN 'Dynamic' THEN 'spot'
        WHEN 'Committed' THEN 'committed'
        WHEN 'Other' THEN 'other'
    END AS capacity,
    BillingCurrency AS currency,
    sum(basis_cost($basis, BilledCost, EffectiveCost, ListCost)) AS cost,
    sum(ListCost) AS list_cost,
    sum(ListCost) - sum(basis_cost($basis, BilledCost, EffectiveCost, ListCost)) AS savings,
    CAST(
        (sum(ListCost) - sum(basis_cost($basis, BilledCost, EffectiveCost, ListCost))) / nullif(sum(ListCost), 0)
        AS DECIMAL(38, 6)
    ) AS savings_share,
    count(*) AS line_items
FROM cost_line_items
WHERE ChargeCategory = 'Usage'
  AND coalesce(CommitmentDiscountStatus, '') <> 'Unused'
  AND ($period IS NULL OR strftime(BillingPeriodStart, '%Y-%m') = $period)
GROUP BY ALL
ORDER BY currency, cost DESC NULLS LAST, provider, pricing_category;
