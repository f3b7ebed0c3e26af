-- description: Data freshness: per kind of record and source, the last load (billing, workloads) or the newest sample (GPU telemetry), with the rows it holds.
SELECT 'billing' AS record, source, max(loaded_at) AS last_loaded_at, max(billing_period_start) AS latest_period,
       CAST(sum(row_count) AS BIGINT) AS rows
FROM current_batches
GROUP BY source
UNION ALL
SELECT 'workloads', source, max(loaded_at), NULL, count(*)
FROM workloads
GROUP BY source
UNION ALL
SELECT 'gpu telemetry', source, max(ts), NULL, count(*)
FROM gpu_samples
GROUP BY source
UNION ALL
SELECT 'attribution', 'finops attribute', max(computed_at), max(billing_period_start), count(*)
FROM allocations
HAVING count(*) > 0
ORDER BY record, source;
