-- description: A budget scope's spend per day and currency (with the part in fixed charges), then its top services and workloads in the period.
-- param from: first day to return (DATE); the forecast's trailing window may start before the period
-- param start: first day of the budget period (DATE); the drivers count from here
-- param end: the day after the budget period (DATE)
-- param basis: cost basis: effective (default; amortized commitments), billed or list
-- param attributed: true reads attributed spend (needs `finops attribute`); false or NULL reads the bill
-- param team: attributed team; NULL for any
-- param workload_kind: training, deployment, batch or notebook; NULL for any
-- param workload: glob over the workload's id or name (llm-*); NULL for any
-- param tag_keys: bill tag keys that must carry tag_values (same order); NULL for no tag filter
-- param tag_values: the values of tag_keys
-- param services: ServiceName one of these; NULL for any
-- param sub_accounts: SubAccountId or SubAccountName one of these; NULL for any
-- param top: drivers per kind and currency (default 5)
--
-- row_kind 'day' rows give cost and fixed_cost per day; 'service' and 'workload' rows give the top
-- drivers' cost over [start, end). A line's day is the UTC date its charge period starts. A fixed
-- charge is one-time, a tax, credit or adjustment, or covers more than a day (monthly support):
-- the forecast counts it as it is instead of extrapolating it. Idle, shared and unattributed shares
-- are workloads named '(idle)', '(shared)', '(unattributed)'. Without tag filters the daily totals answer
-- (daily_costs for the bill, daily_allocations when attributed), so the line items are not rescanned.
WITH bill_days AS (
    -- The bill's daily totals in the window that pass the bill filters, priced on the chosen basis.
    SELECT
        day,
        ServiceName AS service,
        ChargeFrequency = 'One-Time' OR ChargeCategory IN ('Tax', 'Credit', 'Adjustment') OR is_over_a_day AS is_fixed,
        BillingCurrency AS currency,
        basis_cost($basis, billed_cost, effective_cost, list_cost) AS cost
    FROM daily_costs
    WHERE $tag_keys IS NULL AND NOT coalesce($attributed, false)
      AND day >= CAST($from AS DATE)
      AND day < CAST($end AS DATE)
      AND ($services IS NULL OR list_contains($services, ServiceName))
      AND ($sub_accounts IS NULL OR list_contains($sub_accounts, SubAccountId)
           OR list_contains($sub_accounts, SubAccountName))
),

lines AS (
    -- The bill's lines in the window that pass the bill filters, priced on the chosen basis.
    SELECT
        x_LineItemId AS line_item_id,
        CAST(ChargePeriodStart AS DATE) AS day,
        ServiceName AS service,
        ChargeFrequency = 'One-Time' OR ChargeCategory IN ('Tax', 'Credit', 'Adjustment')
            OR ChargePeriodEnd - ChargePeriodStart > INTERVAL 1 DAY AS is_fixed,
        BillingCurrency AS currency,
        basis_cost($basis, BilledCost, EffectiveCost, ListCost) AS cost
    FROM cost_line_items
    WHERE $tag_keys IS NOT NULL
      AND ChargePeriodStart >= CAST($from AS DATE)
      AND ChargePeriodStart < CAST($end AS DATE)
      AND ($services IS NULL OR list_contains($services, ServiceName))
      AND ($sub_accounts IS NULL OR list_contains($sub_accounts, SubAccountId)
           OR list_contains($sub_accounts, SubAccountName))
      AND coalesce(len(list_filter(list_zip($tag_keys, $tag_values),
                                   lambda p: Tags[p[1]] IS DISTINCT FROM p[2])), 0) = 0
),

allocated_days AS (
    -- Without tag filters, attributed spend from the allocations' daily totals (daily_allocations).
    SELECT
        a.day,
        a.ServiceName AS service,
        coalesce(a.workload_id, '(' || a.bucket || ')') AS workload,
        a.ChargeFrequency = 'One-Time' OR a.ChargeCategory IN ('Tax', 'Credit', 'Adjustment') OR a.is_over_a_day
            AS is_fixed,
        a.billing_currency AS currency,
        basis_cost($basis, a.billed_cost, a.effective_cost, a.list_cost) AS cost
    FROM daily_allocations AS a
    LEFT JOIN workloads AS w ON w.source = a.workload_source AND w.workload_id = a.workload_id
    WHERE $tag_keys IS NULL AND coalesce($attributed, false)
      AND a.day >= CAST($from AS DATE)
      AND a.day < CAST($end AS DATE)
      AND ($services IS NULL OR list_contains($services, a.ServiceName))
      AND ($sub_accounts IS NULL OR list_contains($sub_accounts, a.SubAccountId)
           OR list_contains($sub_accounts, a.SubAccountName))
      AND ($team IS NULL OR a.team = $team)
      AND ($workload_kind IS NULL OR a.workload_kind = $workload_kind)
      AND ($workload IS NULL OR a.workload_id GLOB $workload OR w.name GLOB $workload)
),

shares AS (
    -- With tag filters, the attributed shares of the lines that pass them and the workload filters.
    SELECT
        l.day,
        l.service,
        coalesce(a.workload_id, '(' || a.bucket || ')') AS workload,
        l.is_fixed,
        a.billing_currency AS currency,
        a.cost
    FROM priced_allocations($basis, NULL) AS a
    JOIN lines AS l ON l.line_item_id = a.line_item_id
    LEFT JOIN workloads AS w ON w.source = a.workload_source AND w.workload_id = a.workload_id
    WHERE $tag_keys IS NOT NULL AND coalesce($attributed, false)
      AND ($team IS NULL OR a.team = $team)
      AND ($workload_kind IS NULL OR a.workload_kind = $workload_kind)
      AND ($workload IS NULL OR a.workload_id GLOB $workload OR w.name GLOB $workload)
),

spend AS (
    SELECT day, service, NULL AS workload, is_fixed, currency, cost
    FROM bill_days
    UNION ALL
    SELECT day, service, NULL, is_fixed, currency, cost
    FROM lines
    WHERE NOT coalesce($attributed, false)
    UNION ALL
    SELECT day, service, workload, is_fixed, currency, cost
    FROM allocated_days
    UNION ALL
    SELECT day, service, workload, is_fixed, currency, cost
    FROM shares
),

drivers AS (
    SELECT 'service' AS row_kind, service AS name, currency, cost FROM spend WHERE day >= CAST($start AS DATE)
    UNION ALL
    SELECT 'workload', workload, currency, cost FROM spend WHERE day >= CAST($start AS DATE) AND workload IS NOT NULL
)

SELECT
    'day' AS row_kind,
    day,
    currency,
    NULL AS name,
    coalesce(sum(cost), 0) AS cost,  -- list cost is NULL where a provider gives none
    coalesce(sum(cost) FILTER (WHERE is_fixed), 0) AS fixed_cost
FROM spend
GROUP BY day, currency
UNION ALL
(
    SELECT row_kind, NULL, currency, name, sum(cost), NULL
    FROM drivers
    GROUP BY row_kind, currency, name
    QUALIFY row_number() OVER (PARTITION BY row_kind, currency ORDER BY sum(cost) DESC, name) <= coalesce($top, 5)
)
ORDER BY row_kind, day, currency, cost DESC, name;
