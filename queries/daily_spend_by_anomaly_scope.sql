-- description: Spend per day, currency and scope value (service, attributed team or workload), for anomaly detection.
-- param from: first day (DATE)
-- param end: the day after the last day (DATE)
-- param basis: cost basis: effective (default; amortized commitments), billed or list
-- param scope: service (from the bill), team or workload (from `finops attribute`'s allocations)
--
-- A line's day is the UTC date its charge period starts; fixed charges (one-time; tax, credit, adjustment;
-- covering more than a day) are left out: a monthly fee is not an anomaly. Spend no team owns is team '(no team)'; idle,
-- shared and unattributed shares are workloads '(idle)', '(shared)', '(unattributed)'.
WITH lines AS (
    SELECT
        x_LineItemId AS line_item_id,
        CAST(ChargePeriodStart AS DATE) AS day,
        ServiceName AS service,
        BillingCurrency AS currency,
        CASE coalesce($basis, 'effective')
            WHEN 'effective' THEN EffectiveCost
            WHEN 'billed' THEN BilledCost
            WHEN 'list' THEN ListCost
            ELSE error('basis must be effective, billed or list, not ' || $basis)
        END AS cost
    FROM cost_line_items
    WHERE ChargePeriodStart >= CAST($from AS DATE)
      AND ChargePeriodStart < CAST($end AS DATE)
      AND coalesce(ChargeFrequency, '') <> 'One-Time'
      AND ChargeCategory NOT IN ('Tax', 'Credit', 'Adjustment')
      AND ChargePeriodEnd - ChargePeriodStart <= INTERVAL 1 DAY
),

scoped AS (
    SELECT day, currency, coalesce(service, '(no service)') AS scope_value, cost
    FROM lines
    WHERE $scope = 'service'
    UNION ALL
    SELECT
        l.day,
        a.billing_currency,
        CASE $scope
            WHEN 'team' THEN coalesce(a.team, '(no team)')
            ELSE coalesce(a.workload_id, '(' || a.bucket || ')')
        END,
        a.cost
    FROM priced_allocations($basis, NULL) AS a
    JOIN lines AS l ON l.line_item_id = a.line_item_id
    WHERE $scope IN ('team', 'workload')
)

SELECT day, currency, scope_value, sum(cost) AS cost
FROM scoped
GROUP BY day, currency, scope_value
ORDER BY scope_value, currency, day;
