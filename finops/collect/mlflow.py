"""MLflow runs (REST API 2.0 or an mlruns/ file store) as workloads, their GPU system metrics as samples.

Incremental semantics: a run is the workload (source "mlflow", run_id). A collection reads every
active run of the chosen experiments (all by default) and their GPU system metrics first, then writes
once: a run seen before is replaced in place with its placements (a run that was RUNNING and has
finished gets its end and status), so collecting twice leaves the same rows and the second report
counts them as updated. GPU samples replace only stored samples of the same (host, GPU, time), so collecting
one experiment never removes another's samples on a shared host.
Runs deleted in MLflow are skipped, never removed from the store; runs not read are left alone.

Mapping: kind from the `kind_tag` (training when absent or unknown); team, owner, project from the
first present of their tags (owner falls back to the run's user_id); one placement per name in the
first present host or resource tag (comma-separated names give one each), with the GPU tag's count
split equally between them, or else each host's number of `gpu_<i>` system metrics. Attributes are
experiment_id, experiment_name, parent_run_id, user_id and every tag except MLflow's internal
`mlflow.*` ones; of those only the source and git tags (KEPT_MLFLOW_TAGS) are kept.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import duckdb
import pyarrow as pa

from finops import workloads as wl
from finops.collect import times
from finops.collect.files import SourceFile
from finops.config import MlflowSettings
from finops.errors import ConfigError, InputError

SOURCE = "mlflow"
STATUSES = ("running", "scheduled", "finished", "failed", "killed")  # MLflow's RunStatus 1..5, lower-cased
KEPT_MLFLOW_TAGS = frozenset(
    {
        "mlflow.source.name",
        "mlflow.source.type",
        "mlflow.source.git.commit",
        "mlflow.source.git.branch",
        "mlflow.source.git.repoURL",
        "mlflow.project.entryPoint",
    }
)
GPU_KEY = re.compile(r"system/(?:(?P<node>[^/]+)/)?gpu_(?P<gpu>\d+)_(?P<what>\w+)")
SAMPLED = {"utilization_percentage": "utilization", "memory_usage_megabytes": "memory_mb", "power_usage_watts": "power"}
MIB = 1048576
DEFAULT_SETTINGS = MlflowSettings()
Point = tuple[int, float | None]  # (epoch ms, value); None for NaN or infinity


@dataclass(frozen=True)
class Run:
    """One MLflow run as either reader finds it: its info, tags and the keys of its metrics."""

    run_id: str
    experiment_id: str
    name: str | None
    user_id: str | None
    status: str  # one of STATUSES
    start_ms: int | None
    end_ms: int | None
    tags: Mapping[str, str]
    metric_keys: frozenset[str]
    where: str  # how messages name it: its meta.yaml, or the server and run id


@dataclass
class Fetched:
    """Everything one collection read, before anything is written."""

    source_uri: str
    experiments: dict[str, str]  # id -> name
    runs: list[Run]
    history: dict[tuple[str, str], list[Point]]  # (run_id, metric key) -> points
    files: list[SourceFile] = field(default_factory=list)


def collect(
    con: duckdb.DuckDBPyConnection,
    *,
    tracking_uri: str | None = None,
    path: str | None = None,
    experiments: Sequence[str] = (),
    settings: MlflowSettings = DEFAULT_SETTINGS,
    token: str | None = None,
    username: str | None = None,
    password: str | None = None,
    notice: Callable[[str], None] = lambda m: None,
) -> wl.CollectReport:
    """Read the runs of an MLflow server or mlruns/ folder, then replace them and their samples in one write."""
    if bool(tracking_uri) == bool(path):
        raise ConfigError("give either --tracking-uri URL or --path mlruns/, not both")
    if path:
        from finops.collect import mlflow_files

        fetched = mlflow_files.read(Path(path), experiments, notice)
    else:
        from finops.collect import mlflow_rest

        fetched = mlflow_rest.read(str(tracking_uri), experiments, token, username, password)
    if not fetched.runs:
        notice(f"{fetched.source_uri}: no active runs in experiment(s) {', '.join(sorted(fetched.experiments))}")
    workloads = [_workload(run, fetched.experiments, settings) for run in fetched.runs]
    samples = _samples(fetched, settings, notice)
    return wl.write(con, SOURCE, fetched.source_uri, workloads, samples=samples, files=fetched.files, replace="keys")


def select(experiments: Mapping[str, str], wanted: Sequence[str], where: str) -> dict[str, str]:
    """The experiments named by id or name (all when none is named); an unknown one is an error."""
    if not wanted:
        return dict(experiments)
    by_name = {name: exp_id for exp_id, name in experiments.items()}
    chosen: dict[str, str] = {}
    for item in wanted:
        exp_id = item if item in experiments else by_name.get(item)
        if exp_id is None:
            known = ", ".join(f"{name!r} ({i})" for i, name in sorted(experiments.items())[:20])
            raise InputError(f"{where}: no active experiment with id or name {item!r}; known: {known or 'none'}")
        chosen[exp_id] = experiments[exp_id]
    return chosen


def sampled_keys(run: Run) -> list[str]:
    """The run's GPU system metric keys that become gpu_samples rows."""
    return sorted(k for k in run.metric_keys if (m := GPU_KEY.fullmatch(k)) and m["what"] in SAMPLED)


def status_word(value: object, where: str) -> str:
    """MLflow's run status (int 1-5 of a meta.yaml or the API's RUNNING, FINISHED, ...) as a lower-case word."""
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= len(STATUSES):
        return STATUSES[value - 1]
    if isinstance(value, str) and value.lower() in STATUSES:
        return value.lower()
    raise InputError(f"{where}: run status {value!r} is not one of {', '.join(s.upper() for s in STATUSES)} (1-5)")


def _workload(run: Run, experiments: Mapping[str, str], settings: MlflowSettings) -> wl.Workload:
    label = f"run {run.name!r} ({run.run_id})" if run.name else f"run {run.run_id}"
    start = _instant(run.start_ms, run.where, "start_time")
    end = None if run.status in ("running", "scheduled") else _instant(run.end_ms, run.where, "end_time")
    if start is not None and end is not None and end < start:
        raise InputError(
            f"{run.where}: {label} ends ({end:%Y-%m-%d %H:%M:%S} UTC) before it starts "
            f"({start:%Y-%m-%d %H:%M:%S} UTC); correct its end_time in MLflow or delete the run"
        )
    kind = _first(run.tags, (settings.kind_tag,)).lower()
    attributes = {"experiment_id": run.experiment_id, "experiment_name": experiments.get(run.experiment_id, "")}
    if parent := run.tags.get("mlflow.parentRunId"):
        attributes["parent_run_id"] = parent
    if run.user_id:
        attributes["user_id"] = run.user_id
    for key, value in sorted(run.tags.items()):
        if not key.startswith("mlflow.") or key in KEPT_MLFLOW_TAGS:
            attributes.setdefault(key, value)
    return wl.Workload(
        workload_id=run.run_id,
        kind=kind if kind in wl.KINDS else "training",
        started_at=start,
        ended_at=end,
        name=run.name or run.tags.get("mlflow.runName") or None,
        team=_first(run.tags, settings.team_tags) or None,
        project=_first(run.tags, settings.project_tags) or None,
        owner=_first(run.tags, settings.owner_tags) or run.user_id or None,
        status=run.status,
        attributes=attributes,
        placements=tuple(
            wl.Placement(resource_id=host, gpu_count=count) for host, count in _gpu_counts(run, settings).items()
        ),
    )


def _hosts(run: Run, settings: MlflowSettings) -> list[str]:
    """The names in the run's first present host or resource tag, in order, without repeats."""
    value = _first(run.tags, (*settings.host_tags, *settings.resource_tags))
    return list(dict.fromkeys(name.strip() for name in value.split(",") if name.strip()))


def _gpu_counts(run: Run, settings: MlflowSettings) -> dict[str, Decimal | None]:
    """Each host's GPUs: the GPU tag's count split equally, else the host's distinct gpu_<i> metrics."""
    hosts = _hosts(run, settings)
    text = _first(run.tags, settings.gpu_tags)
    if text and hosts:
        try:
            total = Decimal(text)
        except InvalidOperation:
            total = Decimal("NaN")
        if not total.is_finite() or total < 0:
            raise InputError(f"{run.where}: GPU tag value {text!r} is not a count; tag the run with e.g. gpus=8")
        share = (total / len(hosts)).quantize(Decimal(10) ** -18)
        return {h: share if i else total - share * (len(hosts) - 1) for i, h in enumerate(hosts)}
    indices: dict[str | None, set[int]] = {}
    for key in run.metric_keys:
        if m := GPU_KEY.fullmatch(key):
            indices.setdefault(m["node"], set()).add(int(m["gpu"]))
    single = indices.get(None) if len(hosts) == 1 else None
    found = {h: indices.get(h) or single for h in hosts}
    return {h: Decimal(len(gpus)) if gpus else None for h, gpus in found.items()}


def _samples(fetched: Fetched, settings: MlflowSettings, notice: Callable[[str], None]) -> pa.Table:
    """One gpu_samples row per (host, GPU, timestamp) of the runs' GPU system metrics."""
    rows: dict[tuple[str, int, int], dict[str, float | None]] = {}
    unplaced: list[str] = []
    for run in fetched.runs:
        hosts = _hosts(run, settings)
        for key in sampled_keys(run):
            m = GPU_KEY.fullmatch(key)
            assert m is not None
            host = m["node"] or (hosts[0] if len(hosts) == 1 else None)
            if host is None:
                unplaced.append(run.run_id)
                continue
            for ts, value in fetched.history.get((run.run_id, key), []):
                rows.setdefault((host, int(m["gpu"]), ts), {})[SAMPLED[m["what"]]] = value
    if unplaced:
        runs = sorted(set(unplaced))
        notice(
            f"skipped the GPU system metrics of {len(runs)} run(s) that name no single host ({', '.join(runs[:5])}): "
            "tag each run with its host (host_tags in [collect.mlflow]) or set MLFLOW_SYSTEM_METRICS_NODE_ID"
        )
    keys = sorted(rows)
    values = [rows[k] for k in keys]
    memory = [v.get("memory_mb") for v in values]
    return wl.samples_table(
        {
            "ts": [times.from_epoch(ts, f"{fetched.source_uri} GPU metric of {host}", "ms") for host, _, ts in keys],
            "host": [host for host, _, _ in keys],
            "gpu_index": [gpu for _, gpu, _ in keys],
            "utilization": [v.get("utilization") for v in values],
            "memory_used_mib": [mb * 1e6 / MIB if mb is not None else None for mb in memory],
            "power_watts": [v.get("power") for v in values],
        }
    )


def _first(tags: Mapping[str, str], names: Sequence[str]) -> str:
    """The stripped value of the first of these tags that is present and not blank, else ''."""
    for name in names:
        value = tags.get(name, "").strip()
        if value:
            return value
    return ""


def _instant(ms: int | None, where: str, what: str) -> datetime | None:
    return times.from_epoch(ms, f"{where} {what}", "ms") if ms is not None else None


def finite(value: float) -> float | None:
    """A metric value, or None for NaN and infinity (MLflow logs them; a sample cannot use them)."""
    return value if math.isfinite(value) else None
