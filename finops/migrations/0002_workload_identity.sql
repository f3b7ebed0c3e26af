-- 0002: workload records get a status, and host/node/instance names get a bridge to the bill.
-- Identity (kept by finops/workloads.py for every source):
--   workloads            (source, workload_id)      re-collecting updates the record in place
--   workload_placements  (source, workload_id)      a workload's placements are replaced with it
--   gpu_samples          (source, host, gpu, ts)    see finops/workloads.py for what a collection replaces

ALTER TABLE workloads ADD COLUMN status VARCHAR;   -- running, pending, finished, failed, cancelled, preempted

-- [bridge] of finops.toml as of the last write command: explicit aliases and the alias file.
CREATE TABLE resource_aliases (
    alias VARCHAR NOT NULL,
    resource_id VARCHAR NOT NULL,
    source VARCHAR NOT NULL,                   -- config | <alias file path>
    updated_at TIMESTAMPTZ NOT NULL
);

-- [bridge] bill_tag_keys as of the last write command: bill tags whose value names a resource's host.
CREATE TABLE bridge_tag_keys (tag_key VARCHAR NOT NULL);

-- Every name a workload source may use for a billed resource, lower-cased, with how it is known.
CREATE VIEW resource_names AS
SELECT DISTINCT lower(ResourceId) AS name, ResourceId AS resource_id, 'ResourceId' AS via
FROM cost_line_items WHERE ResourceId IS NOT NULL
UNION
SELECT DISTINCT lower(ResourceName), ResourceId, 'ResourceName'
FROM cost_line_items WHERE ResourceName IS NOT NULL AND ResourceId IS NOT NULL
UNION
SELECT DISTINCT lower(t.entry.value), li.ResourceId, 'tag:' || t.entry.key
FROM cost_line_items AS li, unnest(map_entries(li.Tags)) AS t(entry)
WHERE li.ResourceId IS NOT NULL AND t.entry.value IS NOT NULL
  AND t.entry.key IN (SELECT tag_key FROM bridge_tag_keys)
UNION
SELECT lower(alias), resource_id, source FROM resource_aliases;

-- Names in workload placements and GPU telemetry that join to no billed resource.
CREATE VIEW unmatched_resources AS
WITH named AS (
    SELECT 'placement' AS record, source, resource_id AS name, count(DISTINCT workload_id) AS workloads,
           min(started_at) AS first_seen, max(coalesce(ended_at, started_at)) AS last_seen
    FROM workload_placements
    GROUP BY ALL
    UNION ALL
    SELECT 'gpu telemetry', source, coalesce(resource_id, host), NULL, min(ts), max(ts)
    FROM gpu_samples
    WHERE coalesce(resource_id, host) IS NOT NULL
    GROUP BY ALL
)
SELECT * FROM named AS r
WHERE NOT EXISTS (SELECT 1 FROM resource_names AS n WHERE n.name = lower(r.name));
