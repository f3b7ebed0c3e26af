-- description: Top resources by cost: ResourceId, its name, type, service, instance type and region, per currency, largest first.
-- param period: billing month as YYYY-MM; NULL for every month
-- param basis: cost basis: effective (default; amortized commitments), billed or list
-- param top: the N costliest resources per currency; NULL for all
--
-- Lines without a ResourceId (support, taxes, commitment purchases, most credits) are left out;
-- untagged_cost_by_service and cost_by_service cover them.
WITH resources AS (
    SELECT
        ResourceId AS resource_id,
        BillingCurrency AS currency,
        any_value(ResourceName) AS resource_name,
        any_value(ResourceType) AS resource_type,
        any_value(coalesce(ProviderName, x_Provider)) AS provider,
        any_value(ServiceName) AS service,
        any_value(x_InstanceType) AS instance_type,
        any_value(RegionId) AS region,
        sum(basis_cost($basis, BilledCost, EffectiveCost, ListCost)) AS cost,
        count(*) AS line_items
    FROM cost_line_items
    WHERE ResourceId IS NOT NULL
      AND ($period IS NULL OR strftime(BillingPeriodStart, '%Y-%m') = $period)
    GROUP BY ResourceId, BillingCurrency
)

SELECT *
FROM resources
QUALIFY $top IS NULL OR row_number() OVER (PARTITION BY currency ORDER BY cost DESC NULLS LAST, resource_id) <= $top
ORDER BY currency, cost DESC NULLS LAST, resource_id;
