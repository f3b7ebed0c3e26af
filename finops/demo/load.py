"""The whole demo: generate the month's bill, workloads and telemetry, and load them into a store."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from finops import allocations, ingest
from finops import workloads as wl
from finops.collect import dcgm, focus, manifest
from finops.config import AttributionSettings
from finops.demo.files import generate
from finops.demo.records import generate_records


@dataclass(frozen=True)
class DemoLoad:
    """What the demo wrote and loaded."""

    files: list[Path]
    billing: ingest.LoadReport
    workloads: wl.CollectReport
    telemetry: wl.CollectReport
    attribution: allocations.PeriodResult


def load_demo(
    con: duckdb.DuckDBPyConnection,
    out_dir: Path,
    rows: int,
    seed: int,
    month: str,
    notice: Callable[[str], None] = lambda message: None,
    attribution: AttributionSettings | None = None,
) -> DemoLoad:
    """Generate the demo month into `out_dir`, collect its bill, manifest and DCGM telemetry, and attribute it."""
    bills = generate(out_dir, rows=rows, seed=seed, month=month)
    records = {p.name.split("-", 1)[0]: p for p in generate_records(out_dir, rows=rows, seed=seed, month=month)}
    billing = focus.collect(con, [str(p) for p in bills], notice=notice)
    workloads = manifest.collect(con, [str(records["workloads"])], notice=notice)
    telemetry = dcgm.collect(con, paths=[str(records["dcgm"])], notice=notice)
    attributed = allocations.attribute_period(con, month, attribution or AttributionSettings(), notice=notice)
    return DemoLoad(sorted([*bills, *records.values()]), billing, workloads, telemetry, attributed)
