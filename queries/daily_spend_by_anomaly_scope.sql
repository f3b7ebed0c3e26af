-- description: Spend per day, currency and scope value (service, attributed team or workload), for anomaly detection.
-- param from: first day (DATE)
-- param end: the day after the last day (DATE)
-- param basis: cost basis: effective (default; amortized commitments), billed or list
-- param scope: service (from the bill), team or workload (from `finops attribute`'s allocations)
--
-- A line's day is the UTC date its charge period starts; fixed charges (one-time; tax, credit, adjustment;
-- covering more than a day) are left out: a monthly fee is not an anomaly. Spend no team owns is team '(no team)'; idle,
-- shared and unattributed shares are workloads '(idle)', '(shared)', '(unattributed)'. Services come from
-- the bill's daily totals (daily_costs); teams and workloads from the allocations' (daily_allocations).
WITH service_days AS (
    SELECT
        day,
        BillingCurrency AS currency,
        coalesce(ServiceName, '(no service)') AS scope_value,
        basis_cost($basis, billed_cost, effective_cost, list_cost) AS cost
    FROM daily_costs
    WHERE $scope = 'service'
      AND day >= CAST($from AS DATE)
      AND day < CAST($end AS DATE)
      AND coalesce(ChargeFrequency, '') <> 'One-Time'
      AND ChargeCategory NOT IN ('Tax', 'Credit', 'Adjustment')
      AND NOT is_over_a_day
),

allocated_days AS (
    SELECT
        day,
        billing_currency AS currency,
        CASE $scope
            WHEN 'team' THEN coalesce(team, '(no team)')
            ELSE coalesce(workload_id, '(' || bucket || ')')
        END AS scope_value,
        basis_cost($basis, billed_cost, effective_cost, list_cost) AS cost
    FROM daily_allocations
    WHERE $scope IN ('team', 'workload')
      AND day >= CAST($from AS DATE)
      AND day < CAST($end AS DATE)
      AND coalesce(ChargeFrequency, '') <> 'One-Time'
      AND ChargeCategory NOT IN ('Tax', 'Credit', 'Adjustment')
      AND NOT is_over_a_day
),

scoped AS (
    SELECT day, currency, scope_value, cost FROM service_days
    UNION ALL
    SELECT day, currency, scope_value, cost FROM allocated_days
)

SELECT day, currency, scope_value, sum(cost) AS cost
FROM scoped
GROUP BY day, currency, scope_value
ORDER BY scope_value, currency, day;
