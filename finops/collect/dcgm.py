"""GPU samples from NVIDIA's DCGM exporter: a Prometheus server's range queries, or saved scrapes and responses.

Incremental semantics: a sample is (source "dcgm", host, GPU, ts), the GPU being its UUID (`<UUID>/MIG-<GPU_I_ID>`
for a MIG instance) or else its index. Live mode fetches the whole window [start, end) first, then replaces
the window's samples of the hosts it returned in one transaction (another cluster's hosts are kept):
collecting the same window again changes nothing, an overlapping
window replaces the overlap, a failed request writes nothing, and a window Prometheus has no samples for is
refused rather than emptied (it may be past the server's retention); it asks for every metric, so it replaces
whole samples. File mode replaces, per host, the dcgm samples between the first and last instant the files
hold for that host, when the files carry every column (GPU_UTIL, FB_USED with FB_FREE, POWER_USAGE). Files
that carry fewer (a saved query_range answer holds one metric) replace only those columns, per GPU between
its first and last instant: a sample of the same (host, GPU, ts) keeps its other values, so loading one
metric per command adds up to loading them together. The metrics of one GPU at one instant merge into one
row (NaN and ±Inf are null); where two series disagree (a GPU scraped twice) the larger value wins.

Choices: utilization is DCGM_FI_DEV_GPU_UTIL; a GPU with no such series in the collection (a MIG instance,
for which DCGM does not report it) gets DCGM_FI_PROF_GR_ENGINE_ACTIVE × 100, never a mix within one GPU; files
with GR_ENGINE_ACTIVE but no GPU_UTIL only fill samples that have no utilization, so they never override
GPU_UTIL loaded before. memory_total_mib is FB_USED + FB_FREE, so FB_FREE counts only beside FB_USED.
Scrape lines carry no time, so a scrape file needs `# finops-scraped-at: <ISO 8601>` or a name such as
dcgm-20251001T120000Z.prom (a per-line timestamp wins); the file's modification time is never used.
`exported_pod`/`_namespace`/`_container` win over `pod`/… (Prometheus renames the workload's labels so when
the scrape target has its own), and a bare `pod` that is such a target is the exporter's, not a workload's.
The host is the `hostname` label, else `instance` without its port.
"""

from __future__ import annotations

import glob
from array import array
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from itertools import repeat
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from finops import workloads as wl
from finops.collect import prometheus as prom
from finops.collect.files import SourceFile, fingerprint
from finops.errors import InputError

SOURCE = "dcgm"
METRICS = (
    "DCGM_FI_DEV_GPU_UTIL",  # % → utilization
    "DCGM_FI_DEV_FB_USED",  # MiB → memory_used_mib
    "DCGM_FI_DEV_FB_FREE",  # MiB; used + free → memory_total_mib
    "DCGM_FI_DEV_POWER_USAGE",  # W → power_watts
    "DCGM_FI_PROF_GR_ENGINE_ACTIVE",  # ratio; × 100 → utilization where GPU_UTIL is absent
)
SUFFIXES = (".prom", ".metrics", ".txt", ".json")
_CODES = {name: code for code, name in enumerate(METRICS)}
_POD_LABELS = ("pod", "namespace", "container")
_MERGE = (
    "SELECT gpu, ts, max(label) AS label, "
    + ", ".join(f"max(value) FILTER (WHERE metric = {code} AND isfinite(value)) AS m{code}" for code in _CODES.values())
    + " FROM _dcgm_points GROUP BY gpu, ts ORDER BY gpu, ts"
)


def collect(
    con: duckdb.DuckDBPyConnection,
    *,
    prometheus: str | None = None,
    paths: Sequence[str] = (),
    start: datetime | None = None,
    end: datetime | None = None,
    step: int = 60,
    token: str | None = None,
    timeout: float = 30.0,
    source: str = SOURCE,
    notice: Callable[[str], None] = lambda message: None,
) -> wl.CollectReport:
    """Load DCGM samples of a Prometheus window [start, end) or of saved files, replacing what they cover.

    `source` names the telemetry stream: give each Prometheus server (cluster) its own, since a window
    collection replaces that source's samples in the window for the hosts it returned.
    """
    if prometheus:
        if start is None or end is None:
            raise InputError("--prometheus needs a window: --start and --end, or --period YYYY-MM")
        client = prom.Client.connect(prometheus, token, timeout)
        samples = _fetch(con, client, start, end, step, notice)
        return wl.write(con, source, client.url, samples=samples, window=(start, end))
    if not paths:
        raise InputError("give --prometheus URL or saved DCGM scrapes / query_range JSON files")
    files = _files(paths)
    catalog = _Catalog()
    points = _Points(catalog)
    for file in files:
        _read(points, file.path, notice)
    carries, unused = _carries(catalog.metrics, " ".join(paths), notice)
    samples = catalog.table([points.merge(con, leave_out=unused)])
    return wl.write(con, source, " ".join(paths), samples=samples, files=files, carries=carries)


def _fetch(
    con: duckdb.DuckDBPyConnection,
    client: prom.Client,
    start: datetime,
    end: datetime,
    step: int,
    notice: Callable[[str], None],
) -> pa.Table:
    """Every chunk of the window, merged into sample rows; raises before anything is written."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("dcgm.collect: start and end must carry a time zone")
    if step < 1:
        raise InputError(f"--step {step}: give a whole number of seconds, at least 1")
    if end <= start:
        raise InputError(f"--end {end:%Y-%m-%dT%H:%M:%SZ} is not after --start {start:%Y-%m-%dT%H:%M:%SZ}")
    catalog, pieces, told = _Catalog(), [], set()
    for lo, hi in prom.chunks(prom.micros(start), prom.micros(end), step * 1_000_000):
        points = _Points(catalog)
        for metric in METRICS:
            found, warnings = client.query_range(metric, lo, hi, step)
            for warning in (w for w in warnings if w not in told):
                told.add(warning)
                notice(f"Prometheus {client.url}: {warning}")
            for labels, values in found:
                points.add(metric, labels, prom.points(values, client.url, lo, hi), client.url)
        pieces.append(points.merge(con))
    if not sum(piece.num_rows for piece in pieces):
        raise InputError(
            f"{client.url} has no DCGM samples from {start:%Y-%m-%dT%H:%M:%SZ} to {end:%Y-%m-%dT%H:%M:%SZ}; the store "
            "is unchanged (is the DCGM exporter scraped, and is the window within the server's retention?)"
        )
    return catalog.table(pieces)


def _files(arguments: Sequence[str]) -> list[SourceFile]:
    """Files, directories (their *.prom, *.metrics, *.txt, *.json) and globs, fingerprinted and sorted."""
    found: set[Path] = set()
    wanted = ", ".join(f"*{s}" for s in SUFFIXES)
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            matches = [p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES]
            if not matches:
                raise InputError(f"{path}: no DCGM files ({wanted}) in this directory")
        elif path.is_file():
            matches = [path]
        elif glob.has_magic(argument):
            matches = [Path(p) for p in glob.glob(argument, recursive=True) if Path(p).is_file()]
            if not matches:
                raise InputError(f"{argument}: the pattern matches no files")
        else:
            raise InputError(f"{path}: no such file or directory")
        found.update(matches)
    return [fingerprint(p) for p in sorted(found)]


def _carries(
    metrics: set[str], where: str, notice: Callable[[str], None]
) -> tuple[dict[str, wl.Carry], tuple[str, ...]]:
    """The gpu_samples columns these metrics carry (engine activity alone only fills), and metrics left out."""
    carries: dict[str, wl.Carry] = {}
    if "DCGM_FI_DEV_GPU_UTIL" in metrics:
        carries["utilization"] = "replace"
    elif "DCGM_FI_PROF_GR_ENGINE_ACTIVE" in metrics:
        carries["utilization"] = "fill"
    if "DCGM_FI_DEV_FB_USED" in metrics:
        carries["memory_used_mib"] = "replace"
        if "DCGM_FI_DEV_FB_FREE" in metrics:
            carries["memory_total_mib"] = "replace"
    if "DCGM_FI_DEV_POWER_USAGE" in metrics:
        carries["power_watts"] = "replace"
    if "DCGM_FI_DEV_FB_FREE" in metrics and "DCGM_FI_DEV_FB_USED" not in metrics:
        message = (
            f"{where}: DCGM_FI_DEV_FB_FREE without DCGM_FI_DEV_FB_USED gives no memory_total_mib (used + free); "
            "collect the two in one command, e.g. finops collect dcgm FB_USED.json FB_FREE.json"
        )
        if not carries:
            raise InputError(message)
        notice(message)
        return carries, ("DCGM_FI_DEV_FB_FREE",)
    return carries, ()


def _read(points: _Points, path: Path, notice: Callable[[str], None]) -> None:
    """Add the DCGM samples of one saved scrape or API answer."""
    before = len(points.ts)
    for name, labels, values in prom.read(path, notice):
        if name in _CODES:
            points.add(name, labels, values, str(path))
    if len(points.ts) == before:
        raise InputError(
            f"{path}: no DCGM samples ({', '.join(METRICS)}); expected a DCGM exporter scrape "
            "or a saved /api/v1/query_range or /api/v1/query JSON answer"
        )


class _Catalog:
    """The GPUs and pod label sets seen so far, numbered, and which GPUs report DCGM_FI_DEV_GPU_UTIL."""

    def __init__(self) -> None:
        self.gpus: dict[tuple[str | None, str], int] = {}
        self.columns: dict[str, list[Any]] = {"host": [], "gpu_uuid": [], "gpu_index": [], "gpu_model": []}
        self.pods: dict[tuple[str | None, str | None, str | None, bool], int] = {}  # (pod, ns, container, renamed)
        self.targets: set[str | None] = set()  # pods that scraped the exporter, seen beside exported_pod
        self.with_util: set[int] = set()
        self.metrics: set[str] = set()  # the METRICS any series had

    def identify(self, raw: Mapping[str, Any], where: str) -> tuple[int, int]:
        """(GPU number, pod label-set number or -1) of one series' labels."""
        labels = {str(k).lower(): str(v) for k, v in raw.items()}
        host = labels.get("hostname") or _host(labels.get("instance"))
        uuid, mig, index = labels.get("uuid") or None, labels.get("gpu_i_id") or None, _int(labels.get("gpu"))
        if uuid is None and index is None:
            raise InputError(f"{where}: a series has neither a UUID nor a gpu label; save per-GPU DCGM series")
        if uuid and mig:
            uuid = f"{uuid}/MIG-{mig}"
        key = (host, uuid or (f"{index}/MIG-{mig}" if mig else str(index)))
        if key not in self.gpus:
            self.gpus[key] = len(self.gpus)
            for column, value in zip(self.columns, (host, uuid, index, labels.get("modelname") or None), strict=True):
                self.columns[column].append(value)
        renamed = any(f"exported_{name}" in labels for name in _POD_LABELS)
        if renamed:
            self.targets.add(labels.get("pod"))
        pod, namespace, container = (labels.get(f"exported_{n}", labels.get(n)) or None for n in _POD_LABELS)
        if pod is None and namespace is None and container is None:
            return self.gpus[key], -1
        return self.gpus[key], self.pods.setdefault((pod, namespace, container, renamed), len(self.pods))

    def table(self, pieces: list[pa.Table]) -> pa.Table:
        """Merged pieces as rows of SAMPLE_SCHEMA, with the utilization choice applied per GPU."""
        wide = pa.concat_tables(pieces)
        gpu = wide.column("gpu")
        has_util = pc.is_in(gpu, value_set=pa.array(sorted(self.with_util), pa.int32()))
        label = pc.add(wide.column("label"), 1)  # -1 (no pod labels) takes the leading null
        pods = [None, *(None if not p[3] and p[0] in self.targets else p for p in self.pods)]
        columns = {
            "ts": wide.column("ts").cast(pa.timestamp("us", tz="UTC")),
            **{
                name: pc.take(pa.array(values, wl.SAMPLE_SCHEMA.field(name).type), gpu)
                for name, values in self.columns.items()
            },
            "utilization": pc.if_else(has_util, wide.column("m0"), pc.multiply(wide.column("m4"), 100.0)),
            "memory_used_mib": wide.column("m1"),
            "memory_total_mib": pc.add(wide.column("m1"), wide.column("m2")),
            "power_watts": wide.column("m3"),
            **{
                name: pc.take(pa.array([p and p[i] for p in pods], pa.string()), label)
                for i, name in enumerate(_POD_LABELS)
            },
        }
        nulls = {f.name: pa.nulls(wide.num_rows, f.type) for f in wl.SAMPLE_SCHEMA if f.name not in columns}
        return pa.Table.from_arrays([{**columns, **nulls}[f.name] for f in wl.SAMPLE_SCHEMA], schema=wl.SAMPLE_SCHEMA)


class _Points:
    """Samples of one chunk or one set of files in columns (one per metric value), before they merge into rows."""

    def __init__(self, catalog: _Catalog) -> None:
        self.catalog = catalog
        self.gpu, self.label, self.metric = array("i"), array("i"), array("b")
        self.ts, self.value = array("q"), array("d")

    def add(self, metric: str, labels: Mapping[str, Any], points: Sequence[tuple[int, float]], where: str) -> None:
        """Add one series' (µs, value) points of a metric."""
        gpu, label = self.catalog.identify(labels, where)
        self.catalog.metrics.add(metric)
        if metric == METRICS[0]:
            self.catalog.with_util.add(gpu)
        n = len(points)
        self.gpu.extend(repeat(gpu, n))
        self.label.extend(repeat(label, n))
        self.metric.extend(repeat(_CODES[metric], n))
        self.ts.extend(p[0] for p in points)
        self.value.extend(p[1] for p in points)

    def merge(self, con: duckdb.DuckDBPyConnection, leave_out: Sequence[str] = ()) -> pa.Table:
        """One row per (GPU, ts): a column per metric, NaN and ±Inf as null, the larger of duplicates."""
        points = pa.table(
            {
                "gpu": pa.array(self.gpu, pa.int32()),
                "label": pa.array(self.label, pa.int32()),
                "metric": pa.array(self.metric, pa.int8()),
                "ts": pa.array(self.ts, pa.int64()),
                "value": pa.array(self.value, pa.float64()),
            }
        )
        if leave_out:
            unused = pa.array([_CODES[name] for name in leave_out], pa.int8())
            points = points.filter(pc.invert(pc.is_in(points.column("metric"), value_set=unused)))
        con.register("_dcgm_points", points)
        try:
            return con.sql(_MERGE).to_arrow_table()
        finally:
            con.unregister("_dcgm_points")


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _host(instance: str | None) -> str | None:
    """The host part of a Prometheus `instance` label (host:port)."""
    if not instance:
        return None
    host, sep, port = instance.rpartition(":")
    return host if sep and port.isdigit() else instance
