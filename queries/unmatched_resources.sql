-- description: Host, node or instance names in workload placements and GPU telemetry that join to no ResourceId on the bill (directly, by a bill tag, or by a [bridge] alias).
SELECT record, source, name, workloads, first_seen, last_seen
FROM unmatched_resources
ORDER BY record, source, name;
