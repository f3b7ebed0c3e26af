-- description: Host, node or instance names in workload placements and GPU telemetry that join to no ResourceId on the bill (directly, by a bill tag, or by a [bridge] alias).
WITH placed AS (
    SELECT 'placement' AS record, source, resource_id AS name, count(DISTINCT workload_id) AS workloads,
           min(started_at) AS first_seen, max(coalesce(ended_at, started_at)) AS last_seen
    FROM workload_placements
    GROUP BY ALL
),
sampled AS (
    SELECT 'gpu telemetry' AS record, source, coalesce(resource_id, host) AS name, NULL::BIGINT AS workloads,
           min(ts) AS first_seen, max(ts) AS last_seen
    FROM gpu_samples
    WHERE coalesce(resource_id, host) IS NOT NULL
    GROUP BY ALL
)
SELECT r.*
FROM (SELECT * FROM placed UNION ALL SELECT * FROM sampled) AS r
WHERE lower(r.name) NOT IN (SELECT name FROM resource_names)
ORDER BY r.record, r.source, r.name;
