"""The demo's AWS month as a CUR 2.0 export: collected by `aws_cur`, it is the same bill as its FOCUS rows."""

from __future__ import annotations

from typing import Any

import duckdb
import pytest

from finops import allocations, config, demo, store
from finops.collect import aws_cur, dcgm, focus, manifest
from finops.config import AttributionSettings
from finops.demo.cur import export_root, write_cur2

MONTH = "2025-03"


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, duckdb.DuckDBPyConnection]:
    """The month loaded twice: its AWS FOCUS file through `collect focus`, its CUR 2.0 export through `aws_cur`."""
    out = tmp_path_factory.mktemp("demo")
    bills = demo.generate(out, rows=3000, seed=5, month=MONTH)
    records = {p.name.split("-", 1)[0]: p for p in demo.generate_records(out, rows=3000, seed=5, month=MONTH)}
    aws = [p for p in bills if p.name.startswith("aws-")]
    written = write_cur2(aws, out / "cur2")
    assert [p.relative_to(out / "cur2").as_posix() for p in written] == [
        f"acme-ml-cur2/data/BILLING_PERIOD={MONTH}/acme-ml-cur2-00001.snappy.parquet",
        f"acme-ml-cur2/metadata/BILLING_PERIOD={MONTH}/acme-ml-cur2-Manifest.json",
    ]
    cons = {}
    for name in ("focus", "cur"):
        con = store.connect(config.Settings(database=out / f"{name}.duckdb"))
        if name == "focus":
            focus.collect(con, [str(p) for p in aws])
        else:
            aws_cur.collect(con, [str(export_root(out / "cur2"))])
        manifest.collect(con, [str(records["workloads"])])
        dcgm.collect(con, paths=[str(records["dcgm"])])
        allocations.attribute_period(con, MONTH, AttributionSettings())
        cons[name] = con
    return cons


def both(stores: dict[str, duckdb.DuckDBPyConnection], sql: str) -> tuple[list[Any], list[Any]]:
    return stores["focus"].execute(sql).fetchall(), stores["cur"].execute(sql).fetchall()


def test_same_totals_per_charge_category(stores: dict[str, duckdb.DuckDBPyConnection]) -> None:
    focus_rows, cur_rows = both(
        stores,
        "SELECT ChargeCategory, count(*) FILTER (WHERE x_LineItemType IS DISTINCT FROM 'SavingsPlanNegation'), "
        "sum(BilledCost), sum(EffectiveCost), sum(ListCost) FROM cost_line_items GROUP BY 1 ORDER BY 1",
    )
    assert cur_rows == focus_rows
    assert [r[0] for r in cur_rows] == ["Purchase", "Tax", "Usage"]
    negations = (
        stores["cur"]
        .execute("SELECT count(*) FROM cost_line_items WHERE x_LineItemType = 'SavingsPlanNegation'")
        .fetchall()
    )
    covered = (
        stores["focus"]
        .execute("SELECT count(*) FROM cost_line_items WHERE CommitmentDiscountStatus = 'Used'")
        .fetchall()
    )
    assert negations == covered and covered[0][0] > 0


def test_same_attribution_inputs(stores: dict[str, duckdb.DuckDBPyConnection]) -> None:
    focus_rows, cur_rows = both(
        stores,
        "SELECT ResourceId, CAST(Tags AS VARCHAR), x_UsageType, lower(x_InstanceType), ChargePeriodStart, "
        "ServiceName, SubAccountId, sum(BilledCost), sum(EffectiveCost), sum(ListCost) "
        "FROM cost_line_items GROUP BY ALL ORDER BY ALL",
    )
    assert len(cur_rows) > 1000 and cur_rows == focus_rows
    gpus = (
        stores["cur"]
        .execute(
            "SELECT DISTINCT x_InstanceType, x_GpuCount, x_GpuModel FROM cost_line_items "
            "WHERE x_GpuCount IS NOT NULL ORDER BY 1"
        )
        .fetchall()
    )
    assert ("p4d.24xlarge", 8, "A100") in gpus and ("ml.p4d.24xlarge", 8, "A100") in gpus


def test_same_attribution(stores: dict[str, duckdb.DuckDBPyConnection]) -> None:
    focus_rows, cur_rows = both(
        stores,
        "SELECT bucket, workload_id, team, rule, resource_id, sum(billed_cost), sum(effective_cost), "
        "sum(list_cost), sum(gpu_hours) FROM allocations GROUP BY ALL ORDER BY ALL",
    )
    assert len(cur_rows) > 20 and cur_rows == focus_rows


ROWS = (
    "SELECT line_item_id, bucket, workload_source, workload_id, workload_kind, team, rule, reason, resource_id, "
    "billing_currency, billed_cost, effective_cost, list_cost, gpu_hours, used_gpu_hours FROM allocations "
    "ORDER BY ALL"
)


@pytest.mark.parametrize("mode", ["proportional", "even", "keep"])
def test_a_month_in_parts_gives_the_same_allocations(stores: dict[str, duckdb.DuckDBPyConnection], mode: str) -> None:
    con = stores["cur"]
    settings = AttributionSettings(shared_mode=mode)
    whole = allocations.attribute_period(con, MONTH, settings)
    expected = con.execute(ROWS).fetchall()
    parted = allocations.attribute_period(con, MONTH, settings, part_rows=400)
    assert con.execute(ROWS).fetchall() == expected
    assert parted == whole and whole.lines > 2000
    shared = [r for r in expected if r[6] == "shared"]
    assert shared and (mode == "keep" or len({r[5] for r in shared}) > 1)
    allocations.attribute_period(con, MONTH, AttributionSettings())
