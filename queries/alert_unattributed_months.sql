-- description: Billing months starting in a date range that have bill rows but no allocations: budgets on attributed spend need `finops attribute` for them.
-- param start: first day (DATE)
-- param end: the day after the last day (DATE)
WITH billed AS (
    SELECT DISTINCT BillingPeriodStart AS period_start
    FROM cost_line_items
    WHERE BillingPeriodStart >= CAST($start AS DATE)
      AND BillingPeriodStart < CAST($end AS DATE)
)

SELECT strftime(period_start, '%Y-%m') AS period
FROM billed
WHERE period_start NOT IN (SELECT DISTINCT billing_period_start FROM allocations)
ORDER BY period;
