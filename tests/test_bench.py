"""The benchmark's generator and harness (the benchmark itself is `python -m bench`, not a test).

The generated month must be what the figures claim: deterministic from its seed, AWS's column names at
realistic width in both formats, and loadable by finops to the sum of the export's own cost column. The
harness must record every measure, and a command that fails or hangs must be named, not waited on.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from click.testing import Result

from bench.__main__ import measure, peer_summary
from bench.generate import generate
from finops.collect.aws_columns import snake
from tests.conftest import ROOT, query

ROWS = 30_000


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench-month")
    generate(out, ROWS, seed=7)
    return out


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_same_seed_writes_the_same_files_and_another_seed_does_not(month: Path, tmp_path: Path) -> None:
    generate(tmp_path / "again", ROWS, seed=7)
    generate(tmp_path / "other", ROWS, seed=8)
    assert files(tmp_path / "again") == files(month)
    other = files(tmp_path / "other")
    cur2 = "cur2/bench-export/data/BILLING_PERIOD=2026-10/bench-export-00001.snappy.parquet"
    assert other[cur2] != files(month)[cur2]


def test_both_formats_have_aws_names_at_realistic_width(month: Path, shared: Path) -> None:
    parquet = next(month.rglob("*.parquet"))
    legacy = next(month.rglob("*.csv.gz"))
    cur2 = [r[0] for r in duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{parquet}')").fetchall()]
    header = [r[0] for r in duckdb.sql(f"DESCRIBE SELECT * FROM read_csv('{legacy}', all_varchar = true)").fetchall()]
    assert len(cur2) >= 120 and len(header) >= 120
    # Every legacy column with a value has a CUR 2.0 name that is a CUR 2.0 column or a key of one of its MAPs.
    lengths = ", ".join(f'max(length("{c}"))' for c in header)
    filled = duckdb.execute(f"SELECT {lengths} FROM read_csv('{legacy}', all_varchar = true)").fetchall()[0]
    with_values = [c for c, n in zip(header, filled, strict=True) if n]
    keys = duckdb.sql(
        f"SELECT DISTINCT 'product_' || unnest(map_keys(product)) FROM read_parquet('{parquet}') UNION "
        f"SELECT DISTINCT 'resource_tags_' || unnest(map_keys(resource_tags)) FROM read_parquet('{parquet}') UNION "
        f"SELECT DISTINCT 'cost_category_' || unnest(map_keys(cost_category)) FROM read_parquet('{parquet}')"
    ).fetchall()
    known = set(cur2) | {k[0] for k in keys}
    tags = {f"resource_tags_user_{c.split(':', 1)[1]}" for c in header if c.startswith("resourceTags/user:")}
    assert len(with_values) > 60 and tags <= known
    assert [c for c in with_values if snake(c) not in known and not c.startswith("resourceTags/")] == []
    # The legacy names are AWS's own: those the public legacy sample also has are spelt the same way.
    real = shared / "aws-cur-legacy-sample" / "sample-anonymous-aws-export-dataset.csv"
    with real.open(newline="") as f:
        sample = next(csv.reader(f))
    same_meaning = {snake(c): c for c in sample}
    assert [c for c in header if snake(c) in same_meaning and same_meaning[snake(c)] != c] == []
    assert {"product/region", "product/regionCode", "product/instanceType", "product/ProductName"} <= set(header)


def test_finops_loads_either_format_to_the_exports_own_cost_column(
    month: Path, run: Callable[..., Result], db: Path, tmp_path: Path
) -> None:
    legacy = sorted(month.rglob("*.csv.gz"))
    exact = duckdb.execute(
        'SELECT sum("lineItem/UnblendedCost"::DECIMAL(38, 18)), count(*) '
        f"FROM read_csv({[str(p) for p in legacy]}, all_varchar = true)"
    ).fetchall()[0]
    assert exact[1] == ROWS
    assert run("collect", "aws-cur", str(month / "legacy")).exit_code == 0
    from_csv = query(db, "SELECT sum(BilledCost), count(*) FROM cost_line_items")[0]
    assert from_csv[0] == exact[0]
    cur2_db = tmp_path / "cur2.duckdb"
    assert run("--db", str(cur2_db), "collect", "aws-cur", str(month / "cur2"), use_db=False).exit_code == 0
    assert query(cur2_db, "SELECT sum(BilledCost), count(*) FROM cost_line_items")[0] == from_csv


def test_the_harness_records_every_measure_and_the_targets(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--rows", "20000", "--keep", str(tmp_path / "work"), "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(out.read_text())["results"][0]
    measured = {k for k, v in result.items() if isinstance(v, dict) and "seconds" in v}
    assert measured == {
        "duckdb_load_parquet", "duckdb_load_csv", "finops_ingest_csv", "finops_ingest_parquet",
        "finops_collect_dcgm", "duckdb_scan_group_by", "finops_attribute", "finops_doctor", "finops_report",
        "finops_alert",
        "finops_sql_group_by", "duckdb_group_by",
    }  # fmt: skip
    assert all(result[k]["exit"] in (0, 1) and result[k]["peak_mib"] > 0 for k in measured)
    assert result["finops_doctor"]["exit"] == 0
    assert set(result["ratios"]) == {
        "ingest_parquet_vs_duckdb", "ingest_csv_vs_duckdb", "attribute_vs_duckdb_scan", "sql_vs_duckdb"
    }  # fmt: skip
    assert Decimal(result["exact_total"]) > 0
    targets = [line for line in done.stdout.splitlines() if line.startswith(("met", "MISSED"))]
    assert len(targets) == 7, done.stdout


def test_a_failing_command_stops_the_benchmark_with_its_error() -> None:
    with pytest.raises(SystemExit, match=r"failed \(3\): no such month"):
        measure([sys.executable, "-c", "import sys; print('no such month', file=sys.stderr); sys.exit(3)"])


def test_a_peer_that_fails_or_hangs_is_recorded_not_waited_on() -> None:
    failed = measure([sys.executable, "-c", "raise SystemExit('bad column')"], allow_failure=True)
    assert (failed["exit"], failed["error"]) == (1, "bad column")
    # A command whose child keeps running (focus-converter's writer processes do when its plan fails).
    hang = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
    hung = measure([sys.executable, "-c", hang + "time.sleep(60)"], allow_failure=True, timeout=1)
    assert hung["error"] == "killed after the timeout" and hung["seconds"] < 30
    assert peer_summary(hung, 10, "1.5").startswith("FAILED after")
    said = peer_summary({"seconds": 1.0, "rows": 10, "total": "1.4999999999"}, 10, "1.5")
    assert said == "10 of 10 lines out; total 1.4999999999 vs exact 1.5 (-1.00E-10 off)"
