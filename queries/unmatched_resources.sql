-- description: Host, node or instance names in workload placements and GPU telemetry that join to no ResourceId on the bill (directly, by a bill tag, or by a [bridge] alias); running counts workloads still placed there (last_seen is empty while any is).
SELECT record, source, name, workloads, running, first_seen, last_seen
FROM unmatched_resources
ORDER BY record, source, name;
