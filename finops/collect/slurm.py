"""Slurm jobs from `sacct --parsable2` (or `--parsable`) output: one batch workload per job allocation.

Columns are found by header name in any order; other columns become attributes (lower-cased name).
Step rows (`123.batch`, `123.0`) are skipped; array tasks (`123_7`) and het components (`123+0`) are jobs.
Start/End are controller local times and need --timezone; for a local time in a DST overlap or gap the
reading that agrees with ElapsedRaw (and End >= Start) is taken, else fold 0: the earlier instant of an
overlap, the offset before a gap.
Each node of NodeList gets one placement with an equal share of the AllocTRES GPUs; a share that is
not a whole number is rounded to 18 places so that the shares still sum to the job's GPUs exactly.
Incremental semantics: the unit of replacement is one job, keyed (source "slurm", JobID, prefixed
"<cluster>:" with --cluster); collecting a job again replaces its record and placements in place (a
running job gets its end and status), jobs not in the files are left alone, and collecting the same
files twice leaves the same rows (the second report counts them as updated). A job listed twice
(overlapping sacct windows) keeps its most complete row: ended over started over pending.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from itertools import product
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from finops import workloads as wl
from finops.collect import times
from finops.collect.files import SourceFile, fingerprint, text_lines
from finops.errors import InputError

SOURCE = "slurm"
FORMAT = "JobID,JobName,User,Account,Partition,State,Start,End,ElapsedRaw,AllocTRES,NodeList"
REQUIRED = ("JobID", "State", "Start", "End", "AllocTRES", "NodeList")
_KNOWN = {c.lower() for c in FORMAT.split(",")} | {"cluster"}
_NO_TIME = {"", "unknown", "none"}
_NO_NODES = {"", "none assigned", "(null)", "none"}
_BRACKETS = re.compile(r"\[([^\[\]]*)\]")


def collect(
    con: duckdb.DuckDBPyConnection,
    paths: Sequence[str],
    timezone: str | None,
    cluster: str | None = None,
    notice: Callable[[str], None] = lambda message: None,
) -> wl.CollectReport:
    """Load sacct output files; every job in them replaces its earlier record."""
    local = times.zone(timezone, "sacct")
    files = [fingerprint(Path(p)) for p in paths]
    jobs: dict[str, tuple[int, wl.Workload]] = {}
    steps = repeated = uneven = 0
    for file in files:
        for where, row in _rows(file):
            if "." in row["jobid"]:
                steps += 1
                continue
            rank, job, split = _job(where, row, local, cluster)
            uneven += split
            earlier = jobs.get(job.workload_id)
            if earlier is not None:
                repeated += 1
                clusters = {earlier[1].attributes.get("cluster"), job.attributes.get("cluster")} - {None}
                if len(clusters) > 1:
                    raise InputError(
                        f"{where}: job {job.workload_id!r} is listed for two clusters; collect each cluster's "
                        "sacct output separately with --cluster NAME"
                    )
                if rank < earlier[0]:
                    continue
            jobs[job.workload_id] = (rank, job)
    if steps:
        notice(f"skipped {steps} job step row(s) (123.batch, 123.0, …); run sacct with -X to list allocations only")
    if repeated:
        notice(f"{repeated} job(s) were listed more than once; kept each job's most complete row")
    if uneven:
        notice(f"{uneven} job(s) have GPUs that do not divide evenly over their nodes; each node got an equal share")
    if not jobs:
        notice(f"{', '.join(paths)}: no jobs in the sacct output")
    return wl.write(con, SOURCE, " ".join(paths), [job for _, job in jobs.values()], files=files)


def allocated_gpus(tres: str, where: str = "AllocTRES") -> tuple[int, tuple[str, ...]]:
    """The GPUs of an AllocTRES value and their types: untyped gres/gpu=N wins, else the typed counts' sum."""
    untyped: int | None = None
    typed: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in tres.split(","))):
        key, _, value = item.partition("=")
        if key != "gres/gpu" and not key.startswith("gres/gpu:"):
            continue
        if not value.isdigit():
            raise InputError(f"{where}: {item!r} is not a whole number of GPUs")
        if key == "gres/gpu":
            untyped = int(value)
        else:
            name = key.removeprefix("gres/gpu:")
            typed[name] = typed.get(name, 0) + int(value)
    return (sum(typed.values()) if untyped is None else untyped), tuple(typed)


def expand_nodes(nodelist: str, where: str = "NodeList") -> list[str]:
    """Node names of a compressed Slurm host list (`gpu[01-04,07],login3`), in order, without repeats."""
    if nodelist.strip().lower() in _NO_NODES:
        return []
    names: dict[str, None] = {}
    for item in _split_top(nodelist.strip(), where):
        pieces = _BRACKETS.split(item)  # literal, range list, literal, range list, …, literal
        if any(c in piece for piece in pieces[::2] for c in "[]"):
            raise InputError(f"{where}: {nodelist!r} has unbalanced brackets")
        choices = [[text] if i % 2 == 0 else _numbers(text, nodelist, where) for i, text in enumerate(pieces)]
        for parts in product(*choices):
            names["".join(parts)] = None
    return list(names)


def _split_top(text: str, where: str) -> Iterator[str]:
    """Comma-separated items, ignoring the commas inside brackets."""
    depth, start = 0, 0
    if text.count("[") != text.count("]"):
        raise InputError(f"{where}: {text!r} has unbalanced brackets")
    for i, char in enumerate(text + ","):
        depth += {"[": 1, "]": -1}.get(char, 0)
        if depth not in (0, 1):
            raise InputError(f"{where}: {text!r} has unbalanced brackets")
        if char == "," and depth == 0:
            if not text[start:i].strip():
                raise InputError(f"{where}: {text!r} has an empty node name")
            yield text[start:i].strip()
            start = i + 1


def _numbers(ranges: str, nodelist: str, where: str) -> list[str]:
    """The numbers of a bracket range list (`01-04,07`), zero-padded to the width each range is written with."""
    found = []
    for part in ranges.split(","):
        low, dash, high = part.strip().partition("-")
        if not low.isdigit() or (dash and not high.isdigit()) or (dash and int(high) < int(low)):
            raise InputError(f"{where}: {nodelist!r} has a bad range [{ranges}]")
        found += [str(n).zfill(len(low)) for n in range(int(low), int(high or low) + 1)]
    return found


def _rows(file: SourceFile) -> Iterator[tuple[str, dict[str, str]]]:
    """(where, {lower-cased column: value}) for each data line of one sacct output file."""
    lines = text_lines(file, "sacct output")
    first = next((n for n, line in enumerate(lines) if line.strip()), None)
    if first is None or "|" not in lines[first]:
        raise InputError(f"{file.path}: not sacct --parsable2 output; run sacct -a -X --parsable2 --format={FORMAT}")
    trailing = lines[first].endswith("|")  # --parsable ends every line with a `|`
    header = [h.strip() for h in _fields(lines[first], trailing)]
    missing = [c for c in REQUIRED if c.lower() not in {h.lower() for h in header}]
    if missing:
        raise InputError(
            f"{file.path}: the sacct output lacks column(s) {', '.join(missing)}; "
            f"run sacct -a -X --parsable2 --format={FORMAT}"
        )
    for number, line in enumerate(lines[first + 1 :], start=first + 2):
        if not line.strip():
            continue
        fields = _fields(line, trailing)
        where = f"{file.path} line {number}"
        if len(fields) != len(header):
            raise InputError(f"{where}: {len(fields)} fields where the header has {len(header)} (a `|` in a name?)")
        row = {h.lower(): v.strip() for h, v in zip(header, fields, strict=True)}
        if not row["jobid"]:
            raise InputError(f"{where}: JobID is empty")
        yield f"{where} job {row['jobid']}", row


def _fields(line: str, trailing: bool) -> list[str]:
    """The `|`-separated fields of a line, without the empty one after --parsable's trailing `|`."""
    return (line[:-1] if trailing and line.endswith("|") else line).split("|")


def _job(where: str, row: dict[str, str], local: ZoneInfo, cluster: str | None) -> tuple[int, wl.Workload, bool]:
    """(completeness rank, the workload, whether its GPUs split unevenly) of one sacct row."""
    elapsed = row.get("elapsedraw") or None
    if elapsed is not None and not elapsed.isdigit():
        raise InputError(f"{where}: ElapsedRaw {elapsed!r} is not a whole number of seconds")
    start, end = _span(where, row["start"], row["end"], int(elapsed) if elapsed else None, local)
    gpus, types = allocated_gpus(row["alloctres"], f"{where} AllocTRES")
    nodes = expand_nodes(row["nodelist"], f"{where} NodeList") if start else []
    shares = _shares(gpus, len(nodes))
    attributes = {k: v for k, v in row.items() if k not in _KNOWN and v}
    extra = {
        "partition": row.get("partition"),
        "state": row["state"],
        "cluster": cluster or row.get("cluster"),
        "gpu_type": ",".join(types),
    }
    attributes.update({k: v for k, v in extra.items() if v})
    job = wl.Workload(
        workload_id=f"{cluster}:{row['jobid']}" if cluster else row["jobid"],
        kind="batch",
        started_at=start,
        ended_at=end,
        name=row.get("jobname") or None,
        team=row.get("account") or None,
        owner=row.get("user") or None,
        status=row["state"].split()[0].rstrip("+").lower() if row["state"] else None,
        attributes=attributes,
        placements=tuple(wl.Placement(node, gpu_count=share) for node, share in zip(nodes, shares, strict=True)),
    )
    rank = 2 if end is not None else 1 if start is not None else 0
    return rank, job, len(set(shares)) > 1


def _span(
    where: str, start_text: str, end_text: str, elapsed: int | None, local: ZoneInfo
) -> tuple[datetime | None, datetime | None]:
    """Start and end in UTC, choosing the DST fold of each that fits End >= Start and ElapsedRaw best."""
    starts = _readings(start_text, f"{where} Start", local)
    ends = _readings(end_text, f"{where} End", local)
    if not starts or not ends:
        return (starts[0] if starts else None), (ends[0] if ends else None)
    pairs = [(s, e) for s in starts for e in ends if e >= s]
    if not pairs:
        raise InputError(f"{where}: End {end_text} is before Start {start_text}; check the sacct output and --timezone")
    if elapsed is None:
        return pairs[0]
    return min(pairs, key=lambda pair: abs((pair[1] - pair[0]).total_seconds() - elapsed))


def _readings(text: str, where: str, local: ZoneInfo) -> list[datetime]:
    """The UTC instants a local time can mean: none, one, or two in a DST overlap or gap (fold 0 first)."""
    if text.lower() in _NO_TIME:
        return []
    try:
        naive = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"{where}: {text!r} is not a date-time like 2025-01-10T08:00:00") from None
    return times.readings(naive, local)


def _shares(gpus: int, nodes: int) -> list[Decimal]:
    """Per-node GPU counts: whole when they divide evenly, else equal to 18 places and summing to `gpus`."""
    if nodes == 0:
        return []
    if gpus % nodes == 0:
        return [Decimal(gpus // nodes)] * nodes
    base, rest = divmod(gpus * 10**18, nodes)
    return [Decimal(f"{base + (i < rest)}E-18") for i in range(nodes)]
