-- description: GPU telemetry per source: samples, hosts and GPUs seen, mean utilisation, and the time covered.
SELECT
    source,
    count(*) AS samples,
    count(DISTINCT host) AS hosts,
    count(DISTINCT coalesce(gpu_uuid, host || '/' || gpu_index)) AS gpus,
    round(avg(utilization), 2) AS mean_utilization_pct,
    min(ts) AS first_sample,
    max(ts) AS last_sample
FROM gpu_samples
GROUP BY source
ORDER BY source;
