-- description: Workload records per source and kind: how many, how many still running, their placements (open ones counted apart) and the GPU-hours of the closed placements, and the time they span.
SELECT
    w.source,
    w.kind,
    count(DISTINCT w.workload_id) AS workloads,
    count(DISTINCT w.workload_id) FILTER (WHERE w.ended_at IS NULL AND w.started_at IS NOT NULL) AS running,
    count(p.resource_id) AS placements,
    count(p.resource_id) FILTER (WHERE p.ended_at IS NULL) AS open_placements,
    CAST(sum(p.gpu_count * datediff('second', p.started_at, p.ended_at)) / 3600 AS DECIMAL(18, 4)) AS gpu_hours_closed,
    min(w.started_at) AS first_start,
    max(w.ended_at) AS last_end,
    max(w.loaded_at) AS last_loaded_at
FROM workloads AS w
LEFT JOIN workload_placements AS p ON p.source = w.source AND p.workload_id = w.workload_id
GROUP BY ALL
ORDER BY w.source, w.kind;
