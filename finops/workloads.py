"""Workload records, placements and GPU samples, written with one identity rule for every source.

Identity and replacement (the same for Slurm, MLflow, manifests, DCGM, nvidia-smi):
- a workload is (source, workload_id): collecting it again replaces its record and all its
  placements in place (a run that was running and has ended gets its end), never a second copy;
- GPU samples are (source, host, gpu, ts). A collection over an explicit window (Prometheus)
  replaces, for each host it returned, that source's samples in the window. A collection from
  files replaces, per host, that source's samples between the host's first and last new
  timestamp ("span"), so a log saved again with another start or step does not leave doubles;
  per-run telemetry (MLflow) replaces only samples with the same (host, gpu, ts) ("keys"), so
  collecting one experiment never removes another's.
- A file collection that holds only some of the value columns (`carries`, e.g. one saved DCGM
  query per metric) replaces only those: a stored sample of the same (host, gpu, ts) keeps its
  other values, and "span" works per GPU (host, gpu) instead of per host: that GPU's stored
  samples in the span that the collection has no row for lose the carried values, and go once
  they hold no value. A "fill" column is written only where the stored sample has no value.
Each write is one transaction, recorded in ingest_loads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

import duckdb
import pyarrow as pa

from finops.collect.files import SourceFile, combined_checksum
from finops.errors import InputError
from finops.store import fetch_one, next_load_id, record_load, transaction

KINDS = ("training", "deployment", "batch", "notebook")
# Status words of the sources -> finops's few: running, pending, finished, failed, cancelled, preempted.
STATUSES = {
    "completed": "finished",
    "complete": "finished",
    "succeeded": "finished",
    "scheduled": "pending",
    "requeued": "pending",
    "configuring": "pending",
    "suspended": "running",
    "completing": "running",
    "killed": "cancelled",
    "canceled": "cancelled",
    "timeout": "failed",
    "out_of_memory": "failed",
    "node_fail": "failed",
    "boot_fail": "failed",
    "deadline": "failed",
}


def status_of(word: str | None) -> str | None:
    """A source's status word as one of finops's statuses; unknown words are kept, lower-cased."""
    if word is None or not word.strip():
        return None
    word = word.strip().lower()
    return STATUSES.get(word, word)


VALUES = ("utilization", "memory_used_mib", "memory_total_mib", "power_watts")  # a sample's measured columns
Carry = Literal["replace", "fill"]

SAMPLE_SCHEMA = pa.schema(
    [
        ("ts", pa.timestamp("us", tz="UTC")),
        ("host", pa.string()),
        ("resource_id", pa.string()),
        ("gpu_uuid", pa.string()),
        ("gpu_index", pa.int32()),
        ("gpu_model", pa.string()),
        ("utilization", pa.float64()),
        ("memory_used_mib", pa.float64()),
        ("memory_total_mib", pa.float64()),
        ("power_watts", pa.float64()),
        ("pod", pa.string()),
        ("namespace", pa.string()),
        ("container", pa.string()),
    ]
)


@dataclass(frozen=True)
class Placement:
    """One interval [started_at, ended_at) of a workload on a resource; None times inherit the workload's."""

    resource_id: str
    started_at: datetime | None = None
    ended_at: datetime | None = None
    gpu_count: Decimal | None = None
    gpu_uuids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Workload:
    """One training run, deployment, batch job or notebook as a source knows it."""

    workload_id: str
    kind: str
    started_at: datetime | None
    ended_at: datetime | None = None  # None while running
    name: str | None = None
    team: str | None = None
    project: str | None = None
    owner: str | None = None
    status: str | None = None
    request_count: int | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)
    placements: tuple[Placement, ...] = ()


@dataclass(frozen=True)
class CollectReport:
    """What one workload or telemetry collection wrote."""

    source: str
    new: int = 0
    updated: int = 0
    placements: int = 0
    samples: int = 0
    hosts: int = 0

    def as_row(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "workloads_new": self.new,
            "workloads_updated": self.updated,
            "placements": self.placements,
            "gpu_samples": self.samples,
            "hosts": self.hosts,
        }


def write(
    con: duckdb.DuckDBPyConnection,
    source: str,
    source_uri: str,
    workloads: Sequence[Workload] = (),
    samples: pa.Table | None = None,
    window: tuple[datetime, datetime] | None = None,
    files: Sequence[SourceFile] = (),
    replace: Literal["span", "keys"] = "span",
    carries: Mapping[str, Carry] | None = None,
) -> CollectReport:
    """Validate, then replace these workloads (with their placements) and samples in one transaction.

    `carries` names the VALUES columns a file collection holds, each to "replace" or to "fill"; None
    (or every column replaced) replaces whole samples.
    """
    workload_table, placement_table = _tables(source, workloads)
    if samples is not None:
        samples = _checked_samples(samples, source)
        carries = _partial(samples, source, carries, window)
    with transaction(con):
        con.register("_new_workloads", workload_table)
        con.register("_new_placements", placement_table)
        try:
            known = fetch_one(
                con,
                "SELECT count(*) FROM workloads WHERE source = ? AND workload_id IN "
                "(SELECT workload_id FROM _new_workloads)",
                [source],
            )
            updated = int(known[0]) if known else 0
            con.execute(
                "DELETE FROM workload_placements WHERE source = ? AND workload_id IN "
                "(SELECT workload_id FROM _new_workloads)",
                [source],
            )
            con.execute(
                "DELETE FROM workloads WHERE source = ? AND workload_id IN (SELECT workload_id FROM _new_workloads)",
                [source],
            )
            con.execute("INSERT INTO workloads BY NAME SELECT *, current_timestamp AS loaded_at FROM _new_workloads")
            con.execute(
                "INSERT INTO workload_placements BY NAME SELECT *, current_timestamp AS loaded_at FROM _new_placements"
            )
            hosts = _replace_samples(con, source, samples, window, replace, carries) if samples is not None else 0
        finally:
            con.unregister("_new_workloads")
            con.unregister("_new_placements")
        report = CollectReport(
            source,
            new=len(workloads) - updated,
            updated=updated,
            placements=placement_table.num_rows,
            samples=samples.num_rows if samples is not None else 0,
            hosts=hosts,
        )
        _record(con, source, source_uri, files, report, window)
    return report


def samples_table(columns: Mapping[str, Sequence[Any]]) -> pa.Table:
    """An Arrow table in SAMPLE_SCHEMA from column lists; missing columns are null."""
    length = len(next(iter(columns.values()))) if columns else 0
    arrays = [
        pa.array(columns[f.name], f.type) if f.name in columns else pa.nulls(length, f.type) for f in SAMPLE_SCHEMA
    ]
    return pa.Table.from_arrays(arrays, schema=SAMPLE_SCHEMA)


def _tables(source: str, workloads: Sequence[Workload]) -> tuple[pa.Table, pa.Table]:
    """Arrow tables of the workloads and their placements, after checking what a store row needs."""
    seen: set[str] = set()
    rows: list[dict[str, Any]] = []
    placements: list[dict[str, Any]] = []
    for w in workloads:
        where = f"{source} workload {w.workload_id!r}"
        if not w.workload_id or not w.workload_id.strip():
            raise InputError(f"{source}: a workload has an empty id; every record needs one")
        if w.workload_id in seen:
            raise InputError(f"{where} appears twice; merge its rows (one record per workload, many placements)")
        seen.add(w.workload_id)
        if w.kind not in KINDS:
            raise InputError(f"{where}: kind {w.kind!r} is not one of {', '.join(KINDS)}")
        _check_interval(where, w.started_at, w.ended_at)
        rows.append(
            {
                "workload_id": w.workload_id,
                "kind": w.kind,
                "name": w.name,
                "team": w.team,
                "project": w.project,
                "owner": w.owner,
                "source": source,
                "started_at": w.started_at,
                "ended_at": w.ended_at,
                "request_count": w.request_count,
                "attributes": list(w.attributes.items()) or None,
                "status": status_of(w.status),
            }
        )
        for p in w.placements:
            start = p.started_at or w.started_at
            end = p.ended_at or w.ended_at
            if start is None:
                raise InputError(f"{where}: placement on {p.resource_id!r} has no start and neither has the workload")
            _check_interval(f"{where} on {p.resource_id!r}", start, end)
            _check_inside(f"{where}: placement on {p.resource_id!r}", start, end, w.started_at, w.ended_at)
            if p.gpu_count is not None and p.gpu_count < 0:
                raise InputError(f"{where}: placement on {p.resource_id!r} has a negative GPU count")
            placements.append(
                {
                    "workload_id": w.workload_id,
                    "resource_id": p.resource_id,
                    "gpu_count": p.gpu_count,
                    "gpu_uuids": list(p.gpu_uuids) or None,
                    "started_at": start,
                    "ended_at": end,
                    "source": source,
                }
            )
    return pa.Table.from_pylist(rows, schema=_WORKLOAD_SCHEMA), pa.Table.from_pylist(placements, _PLACEMENT_SCHEMA)


def _check_interval(where: str, start: datetime | None, end: datetime | None) -> None:
    for value in (start, end):
        if value is not None and value.tzinfo is None:
            raise ValueError(f"{where}: naive datetime {value}; collectors must attach a time zone")
    if start is not None and end is not None and end < start:
        raise InputError(f"{where}: ends ({end:%Y-%m-%d %H:%M:%S %Z}) before it starts ({start:%Y-%m-%d %H:%M:%S %Z})")


def _check_inside(
    where: str, start: datetime, end: datetime | None, outer_start: datetime | None, outer_end: datetime | None
) -> None:
    """A placement lies within its workload's span (where the workload states one)."""
    if outer_start is not None and start < outer_start:
        raise InputError(f"{where} starts ({start:%Y-%m-%d %H:%M:%S %Z}) before the workload does")
    if outer_end is not None and (end is None or end > outer_end):
        raise InputError(f"{where} ends after the workload does ({outer_end:%Y-%m-%d %H:%M:%S %Z})")


def _checked_samples(samples: pa.Table, source: str) -> pa.Table:
    if samples.schema != SAMPLE_SCHEMA:
        samples = samples.select(SAMPLE_SCHEMA.names).cast(SAMPLE_SCHEMA)
    if samples.column("ts").null_count:
        raise InputError(f"{source}: a GPU sample has no timestamp")
    return samples


def _partial(
    samples: pa.Table, source: str, carries: Mapping[str, Carry] | None, window: tuple[datetime, datetime] | None
) -> Mapping[str, Carry] | None:
    """The checked `carries` of a partial collection; None for one that replaces whole samples."""
    if carries is None:
        return None
    if not set(carries) <= set(VALUES) or not set(carries.values()) <= {"replace", "fill"}:
        raise ValueError(f"{source}: carries {dict(carries)} must map some of {', '.join(VALUES)} to replace or fill")
    if all(carries.get(column) == "replace" for column in VALUES):
        return None
    if window is not None:
        raise ValueError(f"{source}: a window collection asks for every metric, so it replaces whole samples")
    stray = [c for c in VALUES if c not in carries and samples.column(c).null_count != samples.num_rows]
    if stray:
        raise ValueError(f"{source}: samples hold values in {', '.join(stray)}, which the collection does not carry")
    return carries


def _replace_samples(
    con: duckdb.DuckDBPyConnection,
    source: str,
    samples: pa.Table,
    window: tuple[datetime, datetime] | None,
    replace: str,
    carries: Mapping[str, Carry] | None,
) -> int:
    """Replace the samples (of a partial collection: the values) this collection covers; count its hosts."""
    con.register("_new_samples", samples)
    try:
        if carries is not None:
            _merge_samples(con, source, carries, per_gpu_span=replace == "span")
        else:
            if window is not None:
                outside = fetch_one(con, "SELECT count(*) FROM _new_samples WHERE ts < ? OR ts >= ?", list(window))
                if outside and outside[0]:
                    raise InputError(f"{source}: {outside[0]} sample(s) lie outside the collected window")
                con.execute(
                    "DELETE FROM gpu_samples WHERE source = ? AND ts >= ? AND ts < ? "
                    "AND host IN (SELECT DISTINCT host FROM _new_samples)",
                    [source, window[0], window[1]],
                )
            elif replace == "span":
                con.execute(
                    "DELETE FROM gpu_samples AS g USING (SELECT host, min(ts) AS lo, max(ts) AS hi FROM _new_samples "
                    "GROUP BY host) AS b WHERE g.source = ? AND g.host IS NOT DISTINCT FROM b.host "
                    "AND g.ts BETWEEN b.lo AND b.hi",
                    [source],
                )
            else:
                con.execute(
                    f"DELETE FROM gpu_samples AS g USING _new_samples AS n WHERE g.source = ? AND {_SAME}", [source]
                )
            con.execute("INSERT INTO gpu_samples BY NAME SELECT *, ? AS source FROM _new_samples", [source])
        hosts = fetch_one(con, "SELECT count(DISTINCT host) FROM _new_samples")
    finally:
        con.unregister("_new_samples")
    return int(hosts[0]) if hosts else 0


def _merge_samples(
    con: duckdb.DuckDBPyConnection, source: str, carries: Mapping[str, Carry], per_gpu_span: bool
) -> None:
    """Write the carried values of _new_samples into the stored samples, keeping the values it does not carry."""
    how = {"source": source, **{column: carries.get(column, "keep") for column in VALUES}}
    if per_gpu_span:
        con.execute(_DROP_EMPTIED, how)
        con.execute(_CLEAR_CARRIED, how)
    con.execute(_MERGE_MATCHED, how)
    con.execute(_INSERT_UNMATCHED, {"source": source})


# The SQL of a partial collection. $source binds the source; $<column> of VALUES binds replace, fill or keep.
_SAME = (
    "g.ts = n.ts AND g.host IS NOT DISTINCT FROM n.host AND g.gpu_uuid IS NOT DISTINCT FROM n.gpu_uuid "
    "AND g.gpu_index IS NOT DISTINCT FROM n.gpu_index"
)
_GPU_SPANS = "(SELECT host, gpu_uuid, gpu_index, min(ts) AS lo, max(ts) AS hi FROM _new_samples GROUP BY ALL) AS b"
_UNMATCHED_IN_SPAN = (
    "g.source = $source AND g.host IS NOT DISTINCT FROM b.host AND g.gpu_uuid IS NOT DISTINCT FROM b.gpu_uuid "
    "AND g.gpu_index IS NOT DISTINCT FROM b.gpu_index AND g.ts BETWEEN b.lo AND b.hi "
    f"AND NOT EXISTS (SELECT 1 FROM _new_samples AS n WHERE {_SAME})"
)
# A stored sample in a GPU's span with no new row at its instant: it goes if only carried values would be left ...
_DROP_EMPTIED = f"DELETE FROM gpu_samples AS g USING {_GPU_SPANS} WHERE {_UNMATCHED_IN_SPAN} AND " + " AND ".join(
    f"(g.{c} IS NULL OR ${c} = 'replace')" for c in VALUES
)
# ... else it loses the replaced values.
_CLEAR_CARRIED = (
    "UPDATE gpu_samples AS g SET "
    + ", ".join(f"{c} = CASE WHEN ${c} = 'replace' THEN NULL ELSE g.{c} END" for c in VALUES)
    + f" FROM {_GPU_SPANS} WHERE {_UNMATCHED_IN_SPAN}"
)
# A stored sample at a new row's (host, gpu, ts) takes the carried values and any labels the new row has.
_MERGE_MATCHED = (
    "UPDATE gpu_samples AS g SET "
    + ", ".join(
        f"{c} = CASE ${c} WHEN 'replace' THEN n.{c} WHEN 'fill' THEN coalesce(g.{c}, n.{c}) ELSE g.{c} END"
        for c in VALUES
    )
    + ", "
    + ", ".join(f"{c} = coalesce(n.{c}, g.{c})" for c in ("resource_id", "gpu_model", "pod", "namespace", "container"))
    + f" FROM _new_samples AS n WHERE g.source = $source AND {_SAME}"
)
_INSERT_UNMATCHED = (
    "INSERT INTO gpu_samples BY NAME SELECT n.*, $source AS source FROM _new_samples AS n "
    f"WHERE NOT EXISTS (SELECT 1 FROM gpu_samples AS g WHERE g.source = $source AND {_SAME})"
)


def _record(
    con: duckdb.DuckDBPyConnection,
    source: str,
    source_uri: str,
    files: Sequence[SourceFile],
    report: CollectReport,
    window: tuple[datetime, datetime] | None,
) -> None:
    span = [f"window:{window[0].isoformat()}/{window[1].isoformat()}"] if window else []
    checksum = combined_checksum([f.sha256 for f in files] or [source_uri, *span])
    record_load(con, next_load_id(con), source, source_uri, checksum, [f.as_record() for f in files], [report.as_row()])


_WORKLOAD_SCHEMA = pa.schema(
    [
        ("workload_id", pa.string()),
        ("kind", pa.string()),
        ("name", pa.string()),
        ("team", pa.string()),
        ("project", pa.string()),
        ("owner", pa.string()),
        ("source", pa.string()),
        ("started_at", pa.timestamp("us", tz="UTC")),
        ("ended_at", pa.timestamp("us", tz="UTC")),
        ("request_count", pa.int64()),
        ("attributes", pa.map_(pa.string(), pa.string())),
        ("status", pa.string()),
    ]
)
_PLACEMENT_SCHEMA = pa.schema(
    [
        ("workload_id", pa.string()),
        ("resource_id", pa.string()),
        ("gpu_count", pa.decimal128(38, 18)),
        ("gpu_uuids", pa.list_(pa.string())),
        ("started_at", pa.timestamp("us", tz="UTC")),
        ("ended_at", pa.timestamp("us", tz="UTC")),
        ("source", pa.string()),
    ]
)
