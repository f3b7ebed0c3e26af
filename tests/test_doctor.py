"""`finops doctor`: a healthy store passes; each kind of damage or staleness is named and exits 1."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finops import doctor
from tests.conftest import one_line_error, query
from tests.test_allocations import load


def findings(result) -> list[tuple[str, str, str]]:
    return [(r["check"], r["level"], r["detail"]) for r in csv.DictReader(io.StringIO(result.stdout))]


def levels(result, check: str) -> set[str]:
    return {level for name, level, _ in findings(result) if name == check}


@pytest.fixture
def attributed(run, db, sample, tmp_path):
    load(run, sample, tmp_path)
    assert run("attribute").exit_code == 0
    return db


def tamper(db, *statements: str) -> None:
    con = duckdb.connect(str(db))
    try:
        for sql in statements:
            con.execute(sql)
    finally:
        con.close()


def test_a_freshly_loaded_and_attributed_store_is_healthy(run, attributed):
    result = run("doctor", "--format", "csv")
    assert result.exit_code == 0, result.output
    got = findings(result)
    assert {level for _, level, _ in got} == {"ok"}, got
    details = {check: detail for check, _, detail in got}
    assert details["schema"].startswith("schema version ")
    [(batches,)] = query(attributed, "SELECT count(*) FROM current_batches")
    assert batches == 4  # one per billing account and period of the sample
    assert details["batches"] == "4 current batches agree with their line items"
    assert "each line item's shares sum to its cost" in details["allocations"]
    fresh = sorted(d for c, _, d in got if c == "freshness")
    assert [d.split(":")[0] for d in fresh] == ["focus", "manifest"]
    assert all(" UTC (0 days ago)" in d for d in fresh)


def test_a_period_never_attributed_is_a_warning_not_a_problem(run, db, sample, tmp_path):
    load(run, sample, tmp_path)
    assert run("attribute", "--period", "2024-09").exit_code == 0
    result = run("doctor", "--format", "csv")
    assert result.exit_code == 0
    assert (
        "attribution",
        "warn",
        "2024-10: 1 line items, not attributed yet; run `finops attribute --period 2024-10`",
    ) in findings(result)


def test_a_changed_line_item_breaks_batch_and_allocation_balance(run, attributed):
    tamper(
        attributed,
        "UPDATE cost_line_items SET BilledCost = BilledCost + 0.01 WHERE x_LineItemId = (SELECT min(x_LineItemId) FROM cost_line_items)",
    )
    result = run("doctor", "--format", "csv")
    assert result.exit_code == 1
    assert levels(result, "batches") == {"problem"}
    assert levels(result, "allocations") == {"problem"}
    assert "1 line items' allocations do not sum to their cost" in result.stdout
    assert levels(result, "daily") == {"problem"}
    assert "daily_costs disagrees with its line items in 2 day group(s)" in result.stdout
    assert "3 problem(s) found" in result.stderr


def test_daily_totals_that_miss_a_group_are_a_problem(run, attributed):
    assert levels(run("doctor", "--format", "csv"), "daily") == {"ok"}
    tamper(attributed, "DELETE FROM daily_costs WHERE day = (SELECT max(day) FROM daily_costs)")
    result = run("doctor", "--format", "csv")
    assert result.exit_code == 1
    problems = [d for c, level, d in findings(result) if c == "daily" and level == "problem"]
    assert problems and all("alerts and the report read those totals: reload that period" in d for d in problems)


def test_daily_allocations_that_disagree_ask_for_a_new_attribution(run, attributed):
    tamper(attributed, "UPDATE daily_allocations SET team = 'nobody' WHERE bucket = 'idle'")
    result = run("doctor", "--format", "csv")
    assert result.exit_code == 1
    problems = [d for c, level, d in findings(result) if c == "daily" and level == "problem"]
    assert len(problems) == 1 and problems[0].startswith(
        "2024-09: daily_allocations disagrees with the allocations in "
    )
    assert problems[0].endswith("run `finops attribute --period 2024-09`")


def test_orphan_allocations_and_lines_without_batch_are_problems(run, attributed):
    tamper(
        attributed,
        "INSERT INTO allocations SELECT billing_period_start, -1, bucket, workload_id, team, rule, reason, billing_currency, "
        "billed_cost, effective_cost, list_cost, gpu_hours, used_gpu_hours, computed_at, workload_source, workload_kind, "
        "resource_id FROM allocations LIMIT 1",
        "UPDATE cost_line_items SET x_BatchId = 999 WHERE x_LineItemId = (SELECT max(x_LineItemId) FROM cost_line_items)",
    )
    result = run("doctor", "--format", "csv")
    assert result.exit_code == 1
    details = [d for c, level, d in findings(result) if level == "problem"]
    assert "1 allocations point at no line item; run `finops attribute` again" in details
    assert "1 line items belong to no current batch; reload their periods" in details


def test_a_source_not_collected_for_days_is_stale(run, attributed):
    tamper(attributed, "UPDATE ingest_loads SET loaded_at = loaded_at - INTERVAL 10 DAY")
    result = run("doctor", "--format", "csv")
    assert result.exit_code == 1
    assert levels(result, "freshness") == {"problem"}
    assert "more than 3 days; is its cron job running?" in result.stdout
    assert run("doctor", "--stale-days", "30").exit_code == 0


def test_a_load_after_the_last_attribution_asks_for_a_new_one(run, attributed):
    tamper(attributed, "UPDATE ingest_batches SET loaded_at = now() + INTERVAL 1 HOUR")
    result = run("doctor", "--format", "csv")
    assert result.exit_code == 0
    assert levels(result, "attribution") == {"warn"}


def test_unmatched_workload_names_and_a_missing_alias_file_are_named(run, attributed, tmp_path):
    (tmp_path / "w2.csv").write_text(
        "workload_id,kind,start,end,resource_id,gpus\nx,training,2024-09-02T00:00:00Z,2024-09-02T01:00:00Z,gpu-node-77,1\n"
    )
    assert run("collect", "workloads", str(tmp_path / "w2.csv")).exit_code == 0
    (tmp_path / "finops.toml").write_text('[bridge]\nalias_file = "hosts.csv"\n')
    result = run("doctor", "--format", "csv")
    assert result.exit_code == 1
    assert levels(result, "unmatched") == {"warn"}
    problems = [d for c, level, d in findings(result) if c == "config" and level == "problem"]
    assert len(problems) == 1 and "hosts.csv" in problems[0]


def test_doctor_without_a_store_is_a_one_line_error(run):
    assert "no store at " in one_line_error(run("doctor"))


def test_a_daily_group_counted_twice_is_a_problem(run, attributed):
    """daily_costs against its line items is a multiset comparison: a duplicated group is found too."""
    tamper(attributed, "INSERT INTO daily_costs SELECT * FROM daily_costs ORDER BY ALL LIMIT 1")
    result = run("doctor", "--format", "csv")
    assert result.exit_code == 1
    assert "daily_costs disagrees with its line items in 1 day group(s)" in result.stdout


ROW = st.tuples(st.sampled_from(["a", "b", None]), st.integers(0, 2), st.sampled_from([Decimal("1.5"), None]))


@given(left=st.lists(ROW, max_size=8), right=st.lists(ROW, max_size=8))
@settings(max_examples=150, deadline=None)
def test_surplus_finds_exactly_what_except_all_both_ways_finds(left, right):
    """The doctor's one spilling grouping gives the rows EXCEPT ALL in either direction gives (NULLs equal)."""
    con = duckdb.connect()
    for name, rows in (("l", left), ("r", right)):
        con.execute(f"CREATE TABLE {name} (k VARCHAR, n INTEGER, v DECIMAL(38, 18))")
        if rows:
            con.executemany(f"INSERT INTO {name} VALUES (?, ?, ?)", rows)
    surplus = con.execute(f"SELECT * FROM ({doctor._surplus('l', 'r')}) ORDER BY ALL").fetchall()
    expected = con.execute(
        "SELECT DISTINCT * FROM ((SELECT * FROM l EXCEPT ALL SELECT * FROM r) "
        "UNION ALL (SELECT * FROM r EXCEPT ALL SELECT * FROM l)) ORDER BY ALL"
    ).fetchall()
    assert surplus == expected
    con.close()
