-- 0008: unmatched_resources no longer makes a name still in use look finished. A placement without an
-- end (its workload is still running) used to count its start as last_seen; now last_seen is NULL while
-- any placement on the name is open, and `running` counts the workloads with such a placement
-- (NULL for GPU telemetry, whose last_seen is its latest sample). The other columns are as in 0002.
CREATE OR REPLACE VIEW unmatched_resources AS
WITH named AS (
    SELECT 'placement' AS record, source, resource_id AS name, count(DISTINCT workload_id) AS workloads,
           min(started_at) AS first_seen,
           CASE WHEN count(*) = count(ended_at) THEN max(ended_at) END AS last_seen,
           count(DISTINCT workload_id) FILTER (WHERE ended_at IS NULL) AS running
    FROM workload_placements
    GROUP BY ALL
    UNION ALL
    SELECT 'gpu telemetry', source, coalesce(resource_id, host), NULL, min(ts), max(ts), NULL
    FROM gpu_samples
    WHERE coalesce(resource_id, host) IS NOT NULL
    GROUP BY ALL
)
SELECT * FROM named AS r
WHERE NOT EXISTS (SELECT 1 FROM resource_names AS n WHERE n.name = lower(r.name));
