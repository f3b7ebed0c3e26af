-- description: Spend of anomaly scopes on given days by service, workload and resource: what drove a change.
-- param days: the days (DATE list): anomalous days and their baseline days
-- param basis: cost basis: effective (default; amortized commitments), billed or list
-- param scope: service, team or workload (as in daily_spend_by_anomaly_scope)
-- param scope_values: the service names, teams or workload ids (list)
--
-- Contributors by workload come from `finops attribute`'s allocations (their daily totals,
-- daily_allocations); a service scope's resources
-- come from the bill, so they are there even before attribution. Fixed charges are left out, as in
-- daily_spend_by_anomaly_scope.
WITH lines AS (
    SELECT
        x_LineItemId AS line_item_id,
        CAST(ChargePeriodStart AS DATE) AS day,
        BillingCurrency AS currency,
        coalesce(ServiceName, '(no service)') AS service,
        coalesce(ResourceId, '(no resource)') AS resource,
        basis_cost($basis, BilledCost, EffectiveCost, ListCost) AS cost
    FROM cost_line_items
    WHERE $scope = 'service'
      AND list_contains($days, CAST(ChargePeriodStart AS DATE))
      AND coalesce(ChargeFrequency, '') <> 'One-Time'
      AND ChargeCategory NOT IN ('Tax', 'Credit', 'Adjustment')
      AND ChargePeriodEnd - ChargePeriodStart <= INTERVAL 1 DAY
),

shares AS (
    -- The allocations' daily totals (daily_allocations), fixed charges left out.
    SELECT
        day,
        billing_currency AS currency,
        coalesce(ServiceName, '(no service)') AS service,
        coalesce(resource_id, '(no resource)') AS resource,
        CASE $scope
            WHEN 'service' THEN coalesce(ServiceName, '(no service)')
            WHEN 'team' THEN coalesce(team, '(no team)')
            ELSE coalesce(workload_id, '(' || bucket || ')')
        END AS scope_value,
        coalesce(workload_id, '(' || bucket || ')') AS workload,
        basis_cost($basis, billed_cost, effective_cost, list_cost) AS cost
    FROM daily_allocations
    WHERE list_contains($days, day)
      AND coalesce(ChargeFrequency, '') <> 'One-Time'
      AND ChargeCategory NOT IN ('Tax', 'Credit', 'Adjustment')
      AND NOT is_over_a_day
),

scoped_shares AS (
    SELECT * FROM shares WHERE list_contains($scope_values, scope_value)
),

contributions AS (
    SELECT service AS scope_value, day, currency, 'resource' AS kind, resource AS name, cost
    FROM lines
    WHERE $scope = 'service' AND list_contains($scope_values, service)
    UNION ALL
    SELECT scope_value, day, currency, 'resource', resource, cost FROM scoped_shares WHERE $scope <> 'service'
    UNION ALL
    SELECT scope_value, day, currency, 'service', service, cost FROM scoped_shares WHERE $scope <> 'service'
    UNION ALL
    SELECT scope_value, day, currency, 'workload', workload, cost FROM scoped_shares WHERE $scope <> 'workload'
)

SELECT scope_value, currency, day, kind, name, sum(cost) AS cost
FROM contributions
GROUP BY scope_value, currency, day, kind, name
ORDER BY scope_value, currency, kind, name, day;
