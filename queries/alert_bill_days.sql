-- description: The first and last UTC day with usage on the bill before a date: how far the bill reaches, for the forecast's cutoff and the anomaly baseline.
-- param before: the day after the last day to look at (DATE); NULL for no limit
--
-- Only lines charged for a day or less count: a monthly fee dated the 1st says nothing about how far
-- the bill has arrived.
SELECT
    min(CAST(ChargePeriodStart AS DATE)) AS first_day,
    max(CAST(ChargePeriodStart AS DATE)) AS last_day
FROM cost_line_items
WHERE ChargePeriodEnd - ChargePeriodStart <= INTERVAL 1 DAY
  AND ($before IS NULL OR ChargePeriodStart < CAST($before AS DATE));
