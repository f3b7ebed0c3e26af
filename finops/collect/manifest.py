"""A plain workload manifest (CSV or JSON) for runs and deployments no other collector knows.

CSV: one row per placement; the workload's columns repeat on each of its rows. JSON: a list of
workload objects (or {"workloads": [...]}) with optional "placements" and "attributes".
Columns/keys: workload_id, kind (training|deployment|batch|notebook), name, team, project, owner,
status, start, end, request_count, resource_id, gpus, gpu_uuids, placement_start, placement_end;
any other CSV column becomes an attribute. Times are ISO 8601; without an offset they need
--timezone. Identity: (source, workload_id); collecting a manifest again updates its workloads.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb

from finops import workloads as wl
from finops.collect import times
from finops.collect.files import SourceFile, fingerprint
from finops.errors import InputError

SOURCE = "manifest"
WORKLOAD_KEYS = ("workload_id", "kind", "name", "team", "project", "owner", "status", "start", "end", "request_count")
PLACEMENT_KEYS = ("resource_id", "gpus", "gpu_uuids", "placement_start", "placement_end")


def collect(
    con: duckdb.DuckDBPyConnection,
    paths: Sequence[str],
    timezone: str | None = None,
    source: str = SOURCE,
    notice: Callable[[str], None] = lambda message: None,
) -> wl.CollectReport:
    """Load manifest files; every workload in them replaces its earlier record."""
    local = times.zone(timezone, source) if timezone else None
    files = [fingerprint(Path(p)) for p in paths]
    records: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}
    for file in files:
        for where, record in _records(file):
            workload_id = str(record.get("workload_id") or "").strip()
            if not workload_id:
                raise InputError(f"{where}: workload_id is empty; every record needs one")
            records.setdefault(workload_id, []).append((where, record))
    if not records:
        raise InputError(f"{', '.join(paths)}: no workloads in the manifest")
    parsed = [_workload(workload_id, rows, local) for workload_id, rows in records.items()]
    return wl.write(con, source, " ".join(paths), parsed, files=files)


def _records(file: SourceFile) -> list[tuple[str, Mapping[str, Any]]]:
    """(where, record) pairs of one manifest file, keys lower-cased."""
    path = file.path
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text; save the manifest as UTF-8") from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text, parse_float=Decimal, parse_constant=_no_constant, object_pairs_hook=_unique)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
        except ValueError as exc:
            raise InputError(f"{path}: {exc}") from None
        items = data.get("workloads") if isinstance(data, dict) else data
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise InputError(f'{path}: expected a list of workload objects (or {{"workloads": [...]}})')
        return [(f"{path} workload #{n}", {k.lower(): v for k, v in item.items()}) for n, item in enumerate(items, 1)]
    reader = csv.DictReader(text.splitlines())
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [k for k in ("workload_id", "kind") if k not in header]
    if missing:
        raise InputError(f"{path}: the header lacks {', '.join(missing)}; see `finops collect workloads --help`")
    rows: list[tuple[str, Mapping[str, Any]]] = []
    for number, row in enumerate(reader, start=1):
        if None in row:
            raise InputError(f"{path} row {number}: more fields than the header has columns")
        rows.append((f"{path} row {number}", {k.strip().lower(): (v or "").strip() for k, v in row.items()}))
    return rows


def _workload(workload_id: str, rows: list[tuple[str, Mapping[str, Any]]], local: ZoneInfo | None) -> wl.Workload:
    """One workload from all its records; workload fields must agree between them."""
    first_where, first = rows[0]
    fields: dict[str, Any] = {}
    for key in WORKLOAD_KEYS:
        values = {text for _, r in rows if (text := _text(r.get(key))) is not None}
        if len(values) > 1:
            raise InputError(f"{first_where}: workload {workload_id!r} has different {key} values: {sorted(values)}")
        fields[key] = values.pop() if values else None
    placements = [p for where, record in rows for p in _placements(where, record, local)]
    start = times.instant(fields["start"], f"{first_where} start", local) if fields["start"] else None
    end = times.instant(fields["end"], f"{first_where} end", local) if fields["end"] else None
    if start is None and placements:
        starts = [p.started_at for p in placements if p.started_at is not None]
        if not starts:
            raise InputError(f"{first_where}: workload {workload_id!r} has placements but no start; give start")
        start = min(starts)
    attributes = dict(first.get("attributes") or {}) if isinstance(first.get("attributes"), dict) else {}
    for _, record in rows:
        for key, value in record.items():
            if key not in WORKLOAD_KEYS + PLACEMENT_KEYS + ("placements", "attributes") and _text(value) is not None:
                attributes[key] = str(value)
    return wl.Workload(
        workload_id=workload_id,
        kind=(fields["kind"] or "").lower(),
        started_at=start,
        ended_at=end,
        name=fields["name"],
        team=fields["team"],
        project=fields["project"],
        owner=fields["owner"],
        status=fields["status"].lower() if fields["status"] else None,
        request_count=_count(fields["request_count"], f"{first_where} request_count"),
        attributes={str(k): str(v) for k, v in attributes.items()},
        placements=tuple(placements),
    )


def _placements(where: str, record: Mapping[str, Any], local: ZoneInfo | None) -> list[wl.Placement]:
    nested = record.get("placements")
    items: list[Mapping[str, Any]]
    if isinstance(nested, list):
        items = [{k.lower(): v for k, v in item.items()} for item in nested if isinstance(item, dict)]
        if len(items) != len(nested):
            raise InputError(f"{where}: placements must be a list of objects")
    else:
        items = [record] if _text(record.get("resource_id")) else []
    found = []
    for item in items:
        resource = _text(item.get("resource_id"))
        if resource is None:
            raise InputError(f"{where}: a placement has no resource_id")
        # A nested placement may say start/end; a CSV row's start/end belong to the workload.
        start = _text(item.get("placement_start") or (item.get("start") if nested else None))
        end = _text(item.get("placement_end") or (item.get("end") if nested else None))
        uuids = item.get("gpu_uuids")
        found.append(
            wl.Placement(
                resource_id=resource,
                started_at=times.instant(start, f"{where} placement start", local) if start else None,
                ended_at=times.instant(end, f"{where} placement end", local) if end else None,
                gpu_count=_gpus(item.get("gpus"), f"{where} gpus"),
                gpu_uuids=tuple(uuids)
                if isinstance(uuids, list)
                else tuple(u for u in str(uuids or "").split(";") if u),
            )
        )
    return found


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a value a manifest may hold")


MAX_GPUS = 1_000_000  # per placement; anything larger is a typo or hostile input


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refusing a key given twice (which value was meant is unknowable)."""
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key.lower() in (k.lower() for k in found):
            raise ValueError(f"key {key!r} appears twice in one object; keep one")
        found[key] = value
    return found


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _gpus(value: Any, where: str) -> Decimal | None:
    text = _text(value)
    if text is None:
        return None
    try:
        gpus = Decimal(text)
    except InvalidOperation:
        raise InputError(f"{where}: {text!r} is not a number of GPUs") from None
    if not gpus.is_finite() or gpus < 0 or gpus > MAX_GPUS:
        raise InputError(f"{where}: {text!r} is not a number of GPUs (0 to {MAX_GPUS})")
    return gpus


def _count(value: str | None, where: str) -> int | None:
    if value is None:
        return None
    if not value.isdigit():
        raise InputError(f"{where}: {value!r} is not a whole number")
    return int(value)
