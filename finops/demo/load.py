"""The whole demo: generate the month's bill, workloads and telemetry, and load them into a store."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from finops import allocations, ingest
from finops import workloads as wl
from finops.collect import aws_cur, dcgm, gcp_billing, manifest
from finops.config import AttributionSettings
from finops.demo.cur import export_root, write_cur2
from finops.demo.files import generate
from finops.demo.gcp_export import write_gcp_export
from finops.demo.records import generate_records


@dataclass(frozen=True)
class DemoLoad:
    """What the demo wrote and loaded."""

    files: list[Path]
    billing: tuple[ingest.LoadReport, ...]  # one per billing collector
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
    """Generate the demo month into `out_dir`, collect its bill, manifest and DCGM telemetry, and attribute it.

    Each provider's rows are delivered as that provider would: the AWS half as a CUR 2.0 export
    collected by `aws_cur`, the GCP half as a BigQuery billing export (NDJSON) collected by `gcp_billing`.
    """
    bills = generate(out_dir, rows=rows, seed=seed, month=month)
    records = {p.name.split("-", 1)[0]: p for p in generate_records(out_dir, rows=rows, seed=seed, month=month)}
    aws = [p for p in bills if p.name.startswith("aws-")]
    gcp = [p for p in bills if p not in aws]
    cur = write_cur2(aws, out_dir / "cur2")
    export = write_gcp_export(gcp, out_dir)
    billing = (
        aws_cur.collect(con, [str(export_root(out_dir / "cur2"))], notice=notice),
        gcp_billing.collect(con, [str(p) for p in export], notice=notice),
    )
    workloads = manifest.collect(con, [str(records["workloads"])], notice=notice)
    telemetry = dcgm.collect(con, paths=[str(records["dcgm"])], notice=notice)
    attributed = allocations.attribute_period(con, month, attribution or AttributionSettings(), notice=notice)
    return DemoLoad(sorted([*bills, *cur, *export, *records.values()]), billing, workloads, telemetry, attributed)
