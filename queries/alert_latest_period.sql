-- description: The latest billing month (YYYY-MM) in the store that starts on or before a day: what `finops alert` evaluates by default.
-- param as_of: the day (DATE); NULL for no limit
SELECT strftime(max(BillingPeriodStart), '%Y-%m') AS period
FROM daily_costs
WHERE $as_of IS NULL OR BillingPeriodStart <= CAST($as_of AS DATE);
