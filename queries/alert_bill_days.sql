-- description: The first and last UTC day with usage on the bill before a date: how far the bill reaches, for the forecast's cutoff and the anomaly baseline.
-- param before: the day after the last day to look at (DATE); NULL for no limit
--
-- Only lines charged for a day or less count: a monthly fee dated the 1st says nothing about how far
-- the bill has arrived.
-- Read from daily_costs, the bill's daily totals.
SELECT
    min(day) AS first_day,
    max(day) AS last_day
FROM daily_costs
WHERE NOT is_over_a_day
  AND ($before IS NULL OR day < CAST($before AS DATE));
