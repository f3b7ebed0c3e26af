"""`finops attribute` on the store: the public FOCUS sample conserves every basis; re-runs; errors."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from tests.conftest import one_line_error, query

# Two GPU instances of the public sample (g5.4xlarge, 1 GPU; g3.4xlarge, 1 GPU) get workloads.
MANIFEST = """workload_id,kind,team,start,end,resource_id,gpus
bert-ft-1,training,nlp,2024-09-27T15:15:00Z,2024-09-27T15:45:00Z,i-006flle71l19b488a,1
eval-7,batch,nlp,2024-09-24T02:00:00Z,2024-09-24T02:20:00Z,i-0b3b3095474a3772a,1
"""
SUMS = (
    "SELECT BillingCurrency, sum(BilledCost), sum(EffectiveCost), sum(ListCost) FROM cost_line_items "
    "WHERE BillingPeriodStart >= '2024-09-01' AND BillingPeriodStart < '2024-10-01' GROUP BY 1"
)
ALLOCATED = (
    "SELECT billing_currency, sum(billed_cost), sum(effective_cost), sum(list_cost) FROM allocations "
    "WHERE billing_period_start >= '2024-09-01' AND billing_period_start < '2024-10-01' GROUP BY 1"
)


def load(run, sample, tmp_path):
    assert run("collect", "focus", str(sample)).exit_code == 0
    (tmp_path / "w.csv").write_text(MANIFEST)
    assert run("collect", "workloads", str(tmp_path / "w.csv")).exit_code == 0


def test_the_sample_conserves_every_basis(run, db, sample, tmp_path):
    load(run, sample, tmp_path)
    result = run("attribute", "--period", "2024-09", "--format", "csv")
    assert result.exit_code == 0, result.output
    summary = next(csv.DictReader(io.StringIO(result.stdout)))
    assert summary["period"] == "2024-09" and summary["line_items"] == "999"
    assert query(db, ALLOCATED) == query(db, SUMS)
    # The run took half of its g5.4xlarge hour: the rest is idle.
    got = query(
        db,
        "SELECT workload_id, bucket, effective_cost, billed_cost, gpu_hours FROM allocations "
        "WHERE resource_id = 'i-006flle71l19b488a' ORDER BY bucket",
    )
    # That hour: BilledCost 1.624, EffectiveCost 2 (the sample rounds it); half of each, and half a GPU-hour.
    assert got == [
        (None, "idle", Decimal(1), Decimal("0.812"), Decimal("0.5")),
        ("bert-ft-1", "workload", Decimal(1), Decimal("0.812"), Decimal("0.5")),
    ]
    idle_gpus = query(
        db,
        "SELECT count(DISTINCT resource_id) FROM allocations WHERE bucket = 'idle' AND reason = 'no workload recorded'",
    )
    assert idle_gpus == [(8,)]  # the sample's other GPU instance hours ran nothing finops knows of


def test_attributing_twice_gives_the_same_rows_and_every_period(run, db, sample, tmp_path):
    load(run, sample, tmp_path)
    run("attribute")
    columns = (
        "line_item_id, bucket, workload_source, workload_id, team, rule, reason, billed_cost, effective_cost, "
        "list_cost, gpu_hours, used_gpu_hours"
    )
    first = query(db, f"SELECT {columns} FROM allocations ORDER BY ALL")
    assert run("attribute").exit_code == 0
    assert query(db, f"SELECT {columns} FROM allocations ORDER BY ALL") == first
    assert query(db, "SELECT DISTINCT strftime(billing_period_start, '%Y-%m') FROM allocations ORDER BY 1") == [
        ("2024-09",),
        ("2024-10",),
    ]
    total = query(db, "SELECT sum(BilledCost), sum(EffectiveCost) FROM cost_line_items")
    assert query(db, "SELECT sum(billed_cost), sum(effective_cost) FROM allocations") == total


def test_a_restated_month_drops_its_stale_allocations(run, db, sample, tmp_path):
    load(run, sample, tmp_path)
    run("attribute")
    text = sample.read_text().replace('"1.62400000000"', '"1.72400000000"', 1)
    (tmp_path / "restated.csv").write_text(text)
    assert run("collect", "focus", str(tmp_path / "restated.csv")).exit_code == 0
    orphans = query(
        db,
        "SELECT count(*) FROM allocations a WHERE NOT EXISTS "
        "(SELECT 1 FROM cost_line_items li WHERE li.x_LineItemId = a.line_item_id)",
    )
    assert orphans == [(0,)]
    run("attribute", "--period", "2024-09")
    assert query(db, ALLOCATED) == query(db, SUMS)


def test_attribute_errors(run, sample, tmp_path):
    assert "has no billing rows" in one_line_error(run("attribute"))
    load(run, sample, tmp_path)
    assert "no billing rows for 2023-01" in one_line_error(run("attribute", "--period", "2023-01"))
    assert "--period '2024'" in one_line_error(run("attribute", "--period", "2024"))
    (tmp_path / "finops.toml").write_text('[attribution]\nrules = ["direct", "guess"]\n')
    assert "unknown rule(s) guess" in one_line_error(run("attribute"))
