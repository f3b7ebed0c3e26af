"""Per-GPU samples from nvidia-smi CSV logs (`nvidia-smi --query-gpu=… --format=csv[,nounits] -l 5`).

Columns are found by header name (units in brackets ignored); each header line, also one repeated
mid-log by a restarted nvidia-smi, sets the columns of the lines after it. Cell units (`97 %`,
`40960 MiB`, `1.5 GiB`, `310.55 W`) are read and converted; `[N/A]` and other bracketed words are null.
Timestamps are host local time and need --timezone; a local time that DST makes ambiguous (overlap)
or non-existent (gap) takes its earliest reading not before the log's previous line (logs run forward),
else fold 0 (the earlier instant of an overlap). The host is --host, else the file name without its suffix
(gpu01.csv, gpu01.log.gz → gpu01); resource_id stays null until the bridge names the instance.
Incremental semantics: samples are keyed (source "nvidia-smi", host, GPU, ts); a collection replaces,
per host, every stored nvidia-smi sample between that host's first and last timestamp in the files,
so collecting the same log again, or a longer copy of it, leaves one copy of each sample.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb

from finops import workloads as wl
from finops.collect import times
from finops.collect.files import SourceFile, fingerprint, text_lines
from finops.errors import InputError

SOURCE = "nvidia-smi"
QUERY = "timestamp,name,pci.bus_id,uuid,index,utilization.gpu,utilization.memory,memory.total,memory.used,power.draw"
# gpu_samples column → the nvidia-smi fields that fill it (first present wins) and its units (first = default).
METRICS: dict[str, tuple[tuple[str, ...], dict[str, float]]] = {
    "utilization": (("utilization.gpu",), {"%": 1.0}),
    "memory_used_mib": (("memory.used",), {"MiB": 1.0, "GiB": 1024.0, "KiB": 1 / 1024}),
    "memory_total_mib": (("memory.total",), {"MiB": 1.0, "GiB": 1024.0, "KiB": 1 / 1024}),
    "power_watts": (("power.draw", "power.draw.average", "power.draw.instant"), {"W": 1.0}),
}
_TEXT = {"gpu_uuid": "uuid", "gpu_model": "name", "gpu_index": "index"}
_QUIET = {"pci.bus_id", "utilization.memory"}  # in the documented query, with no gpu_samples column
_FIELDS = {"timestamp", *_TEXT.values(), *_QUIET, *(name for names, _ in METRICS.values() for name in names)}
_BACKWARDS = timedelta(minutes=1)  # lines of one sample may be ms out of order; a DST fall-back is >= 30 min
_HEADER_CELL = re.compile(r"^(?P<name>[^\[]*?)\s*(?:\[(?P<unit>[^\]]*)\])?$")
_NUMBER = re.compile(r"^(?P<number>[-+]?(?:\d+\.?\d*|\.\d+))\s*(?P<unit>[A-Za-z%]+)?$")


def collect(
    con: duckdb.DuckDBPyConnection,
    paths: Sequence[str],
    timezone: str | None,
    host: str | None = None,
    notice: Callable[[str], None] = lambda message: None,
) -> wl.CollectReport:
    """Load nvidia-smi CSV logs; per host, the span of their samples replaces what the store held."""
    local = times.zone(timezone, "nvidia-smi")
    files = [fingerprint(Path(p)) for p in paths]
    samples: dict[tuple[Any, ...], dict[str, Any]] = {}
    ignored: set[str] = set()
    rows = 0
    for file in files:
        for sample in _samples(file, host or host_of(file.path), local, ignored, notice):
            rows += 1
            samples[(sample["host"], sample["gpu_uuid"], sample["gpu_index"], sample["ts"])] = sample
    if ignored:
        notice(f"ignoring nvidia-smi column(s) {', '.join(sorted(ignored))}: gpu_samples has no place for them")
    if rows > len(samples):
        notice(f"{rows - len(samples)} sample line(s) repeated a GPU and timestamp; kept the last")
    if not samples:
        notice(f"{', '.join(paths)}: no samples in the nvidia-smi log")
    names = ["ts", "host", "gpu_uuid", "gpu_index", "gpu_model", *METRICS]
    table = wl.samples_table({name: [s.get(name) for s in samples.values()] for name in names})
    return wl.write(con, SOURCE, " ".join(paths), samples=table, files=files)


def host_of(path: Path) -> str:
    """The host a log is named after: the file name without .gz and one more suffix."""
    name = path.name.removesuffix(".gz")
    return Path(name).stem or name


def _samples(
    file: SourceFile, host: str, local: ZoneInfo, ignored: set[str], notice: Callable[[str], None]
) -> list[dict[str, Any]]:
    """One dict of gpu_samples columns per data line of one log."""
    lines = [(n, line) for n, line in enumerate(text_lines(file, "log"), start=1) if line.strip()]
    layout: dict[str, tuple[int, str | None]] | None = None
    width = 0
    previous: datetime | None = None
    found = []
    for position, (number, line) in enumerate(lines):
        cells = [cell.strip() for cell in line.split(",")]
        where = f"{file.path} line {number}"
        if any(_HEADER_CELL.sub(r"\g<name>", cell).lower() in _FIELDS for cell in cells):
            layout, width = _layout(cells, where, ignored), len(cells)
            continue
        if layout is None:
            raise InputError(f"{where}: no header line before the samples; log with --format=csv (not noheader)")
        if len(cells) != width:
            if position == len(lines) - 1:
                notice(f"{where}: skipped a cut-off last line (the log was still being written)")
                break
            raise InputError(f"{where}: {len(cells)} fields where the header has {width}")
        sample: dict[str, Any] = {"host": host}
        for column, (index, unit) in layout.items():
            sample[column] = _cell(cells[index], column, unit, where) if index >= 0 else None
        if sample["gpu_uuid"] is None and sample["gpu_index"] is None:
            raise InputError(f"{where}: the line names no GPU (uuid and index are both missing)")
        sample["ts"] = previous = _instant(sample["ts"], where, local, previous)
        found.append(sample)
    return found


def _layout(cells: list[str], where: str, ignored: set[str]) -> dict[str, tuple[int, str | None]]:
    """gpu_samples column → (cell position, header unit) for one header line."""
    fields: dict[str, tuple[int, str | None]] = {}
    for index, cell in enumerate(cells):
        match = _HEADER_CELL.match(cell)
        name = match.group("name").lower() if match else cell.lower()
        fields.setdefault(name, (index, match.group("unit") if match else None))
    layout = {"ts": fields["timestamp"]} if "timestamp" in fields else {}
    layout.update({column: fields[field] for column, field in _TEXT.items() if field in fields})
    for column, (names, _) in METRICS.items():
        present = [fields[name] for name in names if name in fields]
        if present:
            layout[column] = present[0]
    ignored.update(name for name in fields if name not in _FIELDS)
    lacks = [
        what
        for what, ok in (
            ("timestamp", "ts" in layout),
            ("uuid or index", "gpu_uuid" in layout or "gpu_index" in layout),
            ("a metric (utilization.gpu, memory.used, memory.total, power.draw)", bool(layout.keys() & METRICS.keys())),
        )
        if not ok
    ]
    if lacks:
        raise InputError(
            f"{where}: the nvidia-smi header lacks {'; '.join(lacks)}; log with "
            f"nvidia-smi --query-gpu={QUERY} --format=csv -l 5"
        )
    for column in ("gpu_uuid", "gpu_model", "gpu_index", *METRICS):
        layout.setdefault(column, (-1, None))
    return layout


def _cell(text: str, column: str, unit: str | None, where: str) -> Any:
    """One cell as its gpu_samples value; empty cells, bracketed words and N/A are None."""
    if not text or (text.startswith("[") and text.endswith("]")) or text.upper() == "N/A":
        return None
    if column in ("ts", "gpu_uuid", "gpu_model"):
        return text or None
    if column == "gpu_index":
        if not text.isdigit():
            raise InputError(f"{where}: index {text!r} is not a GPU index")
        return int(text)
    field, scales = METRICS[column][0][0], METRICS[column][1]
    match = _NUMBER.match(text)
    if match is None:
        raise InputError(f"{where}: {field} {text!r} is not a number")
    written = match.group("unit") or unit or next(iter(scales))
    scale = scales.get(written)
    if scale is None:
        raise InputError(f"{where}: {field} {text!r} has unit {written!r}; expected {' or '.join(scales)}")
    return float(match.group("number")) * scale


def _instant(text: str | None, where: str, local: ZoneInfo, previous: datetime | None) -> datetime:
    """A sample's UTC time; of two DST readings the earliest not before the previous line's time, else fold 0."""
    if text is None:
        raise InputError(f"{where}: the timestamp is missing")
    try:
        naive = datetime.fromisoformat(text.replace("/", "-"))
    except ValueError:
        raise InputError(f"{where}: timestamp {text!r} is not like 2025/01/10 08:00:00.123") from None
    if naive.tzinfo is not None:
        return naive.astimezone(UTC)
    options = times.readings(naive, local)
    if previous is None or len(options) == 1:
        return options[0]
    return next((r for r in sorted(options) if r >= previous - _BACKWARDS), options[0])
