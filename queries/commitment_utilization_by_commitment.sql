-- description: Commitment utilisation per Savings Plan, reservation or committed use discount: what its covered usage used, what went unused, and the utilisation share, per currency.
-- param period: billing month as YYYY-MM; NULL for every month
--
-- On the EffectiveCost basis (amortized): Used lines are the commitment's cost spent on covered
-- usage, Unused lines the part nothing used. utilization = used ÷ (used + unused), rounded to 6
-- decimals. on_demand_equivalent is the ListCost of the covered usage (what it would have cost
-- without the commitment); savings = on_demand_equivalent − used_cost.
SELECT
    coalesce(ProviderName, x_Provider, '(unknown)') AS provider,
    CommitmentDiscountId AS commitment_id,
    any_value(CommitmentDiscountName) AS commitment_name,
    coalesce(any_value(CommitmentDiscountType), any_value(CommitmentDiscountCategory)) AS commitment_type,
    any_value(CommitmentDiscountCategory) AS category,
    BillingCurrency AS currency,
    coalesce(sum(EffectiveCost) FILTER (WHERE CommitmentDiscountStatus = 'Used'), 0) AS used_cost,
    coalesce(sum(EffectiveCost) FILTER (WHERE CommitmentDiscountStatus = 'Unused'), 0) AS unused_cost,
    CAST(
        coalesce(sum(EffectiveCost) FILTER (WHERE CommitmentDiscountStatus = 'Used'), 0)
        / nullif(sum(EffectiveCost) FILTER (WHERE CommitmentDiscountStatus IN ('Used', 'Unused')), 0)
        AS DECIMAL(38, 6)
    ) AS utilization,
    sum(ListCost) FILTER (WHERE CommitmentDiscountStatus = 'Used') AS on_demand_equivalent,
    sum(ListCost) FILTER (WHERE CommitmentDiscountStatus = 'Used')
        - coalesce(sum(EffectiveCost) FILTER (WHERE CommitmentDiscountStatus = 'Used'), 0) AS savings
FROM cost_line_items
WHERE CommitmentDiscountId IS NOT NULL
  AND ChargeCategory = 'Usage'
  AND ($period IS NULL OR strftime(BillingPeriodStart, '%Y-%m') = $period)
GROUP BY ALL
ORDER BY currency, used_cost + unused_cost DESC, commitment_id;
