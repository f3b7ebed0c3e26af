-- description: Spend of anomaly scopes on given days by service, workload and resource: what drove a change.
-- param days: the days (DATE list): anomalous days and their baseline days
-- param basis: cost basis: effective (default; amortized commitments), billed or list
-- param scope: service, team or workload (as in daily_spend_by_anomaly_scope)
-- param scope_values: the service names, teams or workload ids (list)
--
-- Contributors by workload come from `finops attribute`'s allocations; a service scope's resources
-- come from the bill, so they are there even before attribution. Fixed charges are left out, as in
-- daily_spend_by_anomaly_scope.
WITH lines AS (
    SELECT
        x_LineItemId AS line_item_id,
        CAST(ChargePeriodStart AS DATE) AS day,
        BillingCurrency AS currency,
        coalesce(ServiceName, '(no service)') AS service,
        coalesce(ResourceId, '(no resource)') AS resource,
        CASE coalesce($basis, 'effective')
            WHEN 'effective' THEN EffectiveCost
            WHEN 'billed' THEN BilledCost
            WHEN 'list' THEN ListCost
            ELSE error('basis must be effective, billed or list, not ' || $basis)
        END AS cost
    FROM cost_line_items
    WHERE list_contains($days, CAST(ChargePeriodStart AS DATE))
      AND coalesce(ChargeFrequency, '') <> 'One-Time'
      AND ChargeCategory NOT IN ('Tax', 'Credit', 'Adjustment')
      AND ChargePeriodEnd - ChargePeriodStart <= INTERVAL 1 DAY
),

shares AS (
    SELECT
        l.day,
        a.billing_currency AS currency,
        l.service,
        coalesce(a.resource_id, l.resource) AS resource,
        CASE $scope
            WHEN 'service' THEN l.service
            WHEN 'team' THEN coalesce(a.team, '(no team)')
            ELSE coalesce(a.workload_id, '(' || a.bucket || ')')
        END AS scope_value,
        coalesce(a.workload_id, '(' || a.bucket || ')') AS workload,
        a.cost
    FROM priced_allocations($basis, NULL) AS a
    JOIN lines AS l ON l.line_item_id = a.line_item_id
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
