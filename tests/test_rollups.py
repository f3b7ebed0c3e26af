"""The rollup queries on hand-made allocations (expected values worked out by hand), finops.rollups.top,
and the `finops runs` / `finops deployments` commands."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import duckdb
import pytest

from finops import config, queries, rollups, store
from finops.errors import FinopsError
from tests.conftest import one_line_error

D = Decimal
SEP = datetime(2026, 9, 1, tzinfo=UTC)
OCT = datetime(2026, 10, 1, tzinfo=UTC)
NOV = datetime(2026, 11, 1, tzinfo=UTC)
EP = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/"
JOB = "arn:aws:sagemaker:us-east-1:123456789012:training-job/run-c"


def at(day: int, hour: int = 0, month: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


# (workload_id, kind, name, team, started_at, ended_at, status, request_count, attributes); source manifest
WORKLOADS = [
    ("run-a", "training", "llama-ft", "research", at(1), at(1, 1), "preempted", None, {"capacity": "spot"}),
    ("run-a-retry", "training", "llama-ft", "research", at(2), at(2, 2), "finished", None, {"retry_of": "run-a"}),
    ("run-b", "training", "bert-base", "nlp", at(3), at(3, 1), "failed", None, None),
    ("run-c", "training", "t5", "nlp", at(4), at(5), "finished", None, None),
    ("dep-1", "deployment", "chat-endpoint", "serving", at(1), None, "running", 250_000, None),
    ("dep-2", "deployment", "embed", "serving", at(5), None, "running", None, None),
    ("dep-old", "deployment", "rank-v1", "serving", at(15, month=9), None, "running", 1_000_000, None),
    ("dep-3", "deployment", "rank-v2", "serving", at(20, month=9), at(10), "finished", 5_000, None),
]

SHARE_COLUMNS = (
    "billing_period_start, line_item_id, bucket, workload_source, workload_id, workload_kind, team, rule, reason, "
    "resource_id, billing_currency, billed_cost, effective_cost, list_cost, gpu_hours, used_gpu_hours"
)
M = "manifest"


def work(
    line: int,
    workload: str,
    kind: str,
    team: str,
    rule: str,
    resource: str,
    costs: str,
    gpu: str | None = None,
    used: str | None = None,
    *,
    period: datetime = OCT,
    source: str | None = M,
    currency: str = "USD",
) -> tuple[Any, ...]:
    """A workload share; `costs` is "billed effective list"."""
    billed, effective, listed = (D(c) for c in costs.split())
    gpu_hours, used_hours = (D(v) if v is not None else None for v in (gpu, used))
    return (period, line, "workload", source, workload, kind, team, rule, None, resource, currency,
            billed, effective, listed, gpu_hours, used_hours)  # fmt: skip


def bucket(
    line: int,
    name: str,
    team: str | None,
    reason: str,
    resource: str | None,
    costs: str,
    gpu: str | None = None,
    *,
    currency: str = "USD",
) -> tuple[Any, ...]:
    """An idle, shared or unattributed share; `costs` is "billed effective list"."""
    billed, effective, listed = (D(c) for c in costs.split())
    rule = "time_share" if name == "idle" else name
    return (OCT, line, name, None, None, None, team, rule, reason, resource, currency,
            billed, effective, listed, D(gpu) if gpu else None, None)  # fmt: skip


SHARES = [
    # an 8-GPU spot instance: run-a for an hour (preempted), then an idle hour; its retry on another instance
    work(1, "run-a", "training", "research", "time_share", "i-spot1", "10.00 6.00 12.00", "8", "6"),
    bucket(15, "idle", "research", "unoccupied", "i-spot1", "7.50 4.50 9.00", "8"),
    work(2, "run-a-retry", "training", "research", "time_share", "i-spot2", "20.00 12.50 24.00", "16", "12"),
    # run-b failed on 2 of i-nlp's 8 GPUs; the other 6 were idle (cost to the last digit)
    work(3, "run-b", "training", "nlp", "time_share", "i-nlp", "2.500000000000000001 2.000000000000000001 3.00", "2"),
    bucket(3, "idle", "nlp", "unoccupied", "i-nlp", "7.50 6.00 9.00", "6"),
    # run-c: a SageMaker job with a credit, a GCP VM billed in EUR, and a September share
    work(4, "run-c", "training", "nlp", "direct", JOB, "5.00 5.00 5.00", "4", "1"),
    work(5, "run-c", "training", "nlp", "direct", JOB, "-1.25 -1.25 -1.25"),
    work(16, "run-c", "training", "nlp", "direct", "gce/run-c-vm", "4.00 3.00 4.00", "2", "1", currency="EUR"),
    work(21, "run-c", "training", "nlp", "direct", JOB, "2.00 2.00 2.00", "2", period=SEP),
    # a run known only from a bill tag
    work(6, "tag-run", "training", "research", "direct", "i-tag", "1.00 0.90 1.10", "1", source=None),
    # endpoints: dep-old also has September cost; dep-3 started in September
    work(7, "dep-1", "deployment", "serving", "direct", EP + "dep-1", "50.00 40.00 60.00", "24", "18"),
    work(8, "dep-2", "deployment", "serving", "direct", EP + "dep-2", "7.00 7.00 7.00", "4"),
    work(9, "dep-old", "deployment", "serving", "direct", EP + "dep-old", "30.00 30.00 30.00", "10"),
    work(10, "dep-old", "deployment", "serving", "direct", EP + "dep-old", "20.00 20.00 20.00", "10", period=SEP),
    work(17, "dep-3", "deployment", "serving", "direct", EP + "dep-3", "2.00 2.00 2.00", "1"),
    # support spread over teams; unattributed lines
    bucket(11, "shared", "research", "proportional", None, "4.00 4.00 4.00"),
    bucket(11, "shared", "nlp", "proportional", None, "1.00 1.00 1.00"),
    bucket(12, "unattributed", None, "no resource id", None, "2.00 1.50 2.00"),
    bucket(13, "unattributed", None, "no tag or placement", "i-x", "3.00 3.00 3.50"),
    bucket(14, "unattributed", None, "no resource id", None, "9.00 8.00 10.00", currency="EUR"),
]


def add_workloads(con: duckdb.DuckDBPyConnection, workloads: list[tuple[Any, ...]], source: str = M) -> None:
    con.executemany(
        "INSERT INTO workloads (workload_id, kind, name, team, started_at, ended_at, status, request_count, "
        "attributes, source, loaded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, current_timestamp)",
        [[*w, source] for w in workloads],
    )


def add_shares(con: duckdb.DuckDBPyConnection, shares: list[tuple[Any, ...]]) -> None:
    con.executemany(
        f"INSERT INTO allocations ({SHARE_COLUMNS}, computed_at) VALUES ({', '.join(['?'] * 16)}, current_timestamp)",
        shares,
    )


def add_line(con: duckdb.DuckDBPyConnection, line_id: int, period: datetime) -> None:
    """A billing line (for a period without allocations)."""
    con.execute(
        "INSERT INTO cost_line_items (BilledCost, EffectiveCost, BillingCurrency, BillingPeriodStart, "
        "BillingPeriodEnd, ChargePeriodStart, ChargePeriodEnd, ChargeCategory, x_BatchId, x_LineItemId) "
        "VALUES (1, 1, 'USD', $start, $start + INTERVAL 1 MONTH, $start, $start + INTERVAL 1 HOUR, 'Usage', 1, $id)",
        {"start": period, "id": line_id},
    )


@pytest.fixture
def attributed(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    add_workloads(con, WORKLOADS)
    add_shares(con, SHARES)
    return con


def seed(settings: config.Settings) -> None:
    """The store of `attributed`, written and closed (the CLI opens it read-only)."""
    con = store.connect(settings)
    try:
        add_workloads(con, WORKLOADS)
        add_shares(con, SHARES)
        add_line(con, 99, NOV)
    finally:
        con.close()


def result(con: duckdb.DuckDBPyConnection, name: str, **params: Any) -> list[tuple[Any, ...]]:
    """Rows of the named query; parameters not given are NULL."""
    query = queries.load(name)
    assert set(params) <= set(query.params), (name, params)
    return con.execute(query.sql, {p: params.get(p) for p in query.params}).fetchall()


# ---- cost_by_training_run


def test_runs_roll_retries_up_and_count_failed_attempts_as_waste(attributed):
    # run_id, name, team, source, status, attempts, currency, cost, waste, GPU-h, used GPU-h, $/GPU-h, idle share
    assert result(attributed, "cost_by_training_run", period="2026-10") == [
        ("run-c", "t5", "nlp", M, "finished", 1, "EUR", D("3.00"), D(0), D(2), D(1), D("1.5"), D("0.5")),
        # 6.00 (preempted: waste) + 12.50; 18.50 / 24 = 0.7708333…; 1 − 18/24
        ("run-a", "llama-ft", "research", M, "finished", 2, "USD", D("18.50"), D("6.00"), D(24), D(18), D("0.770833"), D("0.25")),
        # 5.00 − 1.25 credit; the credit has no GPU-hours; 1 − 1/4
        ("run-c", "t5", "nlp", M, "finished", 1, "USD", D("3.75"), D(0), D(4), D(1), D("0.9375"), D("0.75")),
        ("run-b", "bert-base", "nlp", M, "failed", 1, "USD", D("2.000000000000000001"), D("2.000000000000000001"), D(2), None, D(1), None),
        ("tag-run", None, "research", None, None, 1, "USD", D("0.90"), D(0), D(1), None, D("0.9"), None),
    ]  # fmt: skip


def test_runs_on_other_bases_and_months_and_top(attributed):
    billed = result(attributed, "cost_by_training_run", period="2026-10", basis="billed")
    assert [(r[0], r[6], r[7], r[8], r[11]) for r in billed] == [
        ("run-c", "EUR", D("4.00"), D(0), D(2)),
        ("run-a", "USD", D("30.00"), D("10.00"), D("1.25")),
        ("run-c", "USD", D("3.75"), D(0), D("0.9375")),
        ("run-b", "USD", D("2.500000000000000001"), D("2.500000000000000001"), D("1.25")),
        ("tag-run", "USD", D("1.00"), D(0), D(1)),
    ]
    listed = result(attributed, "cost_by_training_run", period="2026-10", basis="list")
    assert [(r[0], r[6], r[7]) for r in listed] == [
        ("run-c", "EUR", D("4.00")),
        ("run-a", "USD", D("36.00")),
        ("run-c", "USD", D("3.75")),
        ("run-b", "USD", D("3.00")),
        ("tag-run", "USD", D("1.10")),
    ]
    # every month: run-c's September share (2.00, 2 GPU-h without samples) joins; idle share unchanged
    every = result(attributed, "cost_by_training_run")
    assert [(r[0], r[6], r[7], r[9], r[11], r[12]) for r in every] == [
        ("run-c", "EUR", D("3.00"), D(2), D("1.5"), D("0.5")),
        ("run-a", "USD", D("18.50"), D(24), D("0.770833"), D("0.25")),
        ("run-c", "USD", D("5.75"), D(6), D("0.958333"), D("0.75")),
        ("run-b", "USD", D("2.000000000000000001"), D(2), D(1), None),
        ("tag-run", "USD", D("0.90"), D(1), D("0.9"), None),
    ]
    top = result(attributed, "cost_by_training_run", period="2026-10", top=1)
    assert [(r[0], r[6]) for r in top] == [("run-c", "EUR"), ("run-a", "USD")]
    assert result(attributed, "cost_by_training_run", period="2026-08") == []


def test_retry_chains_loops_and_sources(con):
    # x1 <- x2 <- x3; y1 <-> y2 loop; z retries itself; d retries a workload never recorded;
    # other/x2b retries an x1 of another source
    add_workloads(
        con,
        [
            ("x1", "training", "x", "t", at(1), at(2), "preempted", None, None),
            ("x2", "training", "x", "t", at(2), at(3), "failed", None, {"retry_of": "x1"}),
            ("x3", "training", "x", "t", at(3), at(4), "finished", None, {"retry_of": "x2"}),
            ("y1", "training", "y", "t", at(1), at(2), "finished", None, {"retry_of": "y2"}),
            ("y2", "training", "y", "t", at(1), at(2), "finished", None, {"retry_of": "y1"}),
            ("z", "training", "z", "t", at(1), at(2), "cancelled", None, {"retry_of": "z"}),
            ("d", "training", "d", "t", at(1), at(2), "finished", None, {"retry_of": "gone"}),
        ],
    )
    add_workloads(con, [("x2b", "training", "x", "t", at(2), at(3), "finished", None, {"retry_of": "x1"})], "other")
    ids = [("x1", M), ("x2", M), ("x3", M), ("y1", M), ("y2", M), ("z", M), ("d", M), ("x2b", "other")]
    add_shares(
        con,
        [
            work(n, wid, "training", "t", "direct", "r", "1.00 1.00 1.00", "1", source=src)
            for n, (wid, src) in enumerate(ids)
        ],
    )
    assert [(r[0], r[3], r[4], r[5], r[7], r[8]) for r in result(con, "cost_by_training_run")] == [
        ("x1", M, "finished", 3, D(3), D(2)),
        ("d", M, "finished", 1, D(1), D(0)),
        ("x2b", "other", "finished", 1, D(1), D(0)),
        ("y1", M, "finished", 1, D(1), D(0)),
        ("y2", M, "finished", 1, D(1), D(0)),
        ("z", M, "cancelled", 1, D(1), D(1)),
    ]


def test_an_unknown_basis_is_refused(attributed):
    with pytest.raises(duckdb.Error, match="basis must be effective, billed or list, not cash"):
        result(attributed, "cost_by_team", basis="cash")


# ---- deployments


def test_deployments_with_cost_per_1k_requests_only_over_their_whole_life(attributed):
    # deployment_id, name, team, source, status, currency, cost, GPU-h, used, $/GPU-h, idle share, requests, $/1k
    assert result(attributed, "cost_by_deployment", period="2026-10") == [
        # 40.00 × 1000 / 250,000; 40 / 24 = 1.666…
        ("dep-1", "chat-endpoint", "serving", M, "running", "USD", D("40.00"), D(24), D(18), D("1.666667"), D("0.25"), 250_000, D("0.16")),
        # it has September cost too: its requests span more than October
        ("dep-old", "rank-v1", "serving", M, "running", "USD", D("30.00"), D(10), None, D(3), None, 1_000_000, None),
        ("dep-2", "embed", "serving", M, "running", "USD", D("7.00"), D(4), None, D("1.75"), None, None, None),
        # started in September, before the month asked for
        ("dep-3", "rank-v2", "serving", M, "finished", "USD", D("2.00"), D(1), None, D(2), None, 5_000, None),
    ]  # fmt: skip
    every = result(attributed, "cost_by_deployment")
    assert [(r[0], r[6], r[7], r[9], r[12]) for r in every] == [
        ("dep-old", D("50.00"), D(20), D("2.5"), D("0.05")),
        ("dep-1", D("40.00"), D(24), D("1.666667"), D("0.16")),
        ("dep-2", D("7.00"), D(4), D("1.75"), None),
        ("dep-3", D("2.00"), D(1), D(2), D("0.4")),
    ]
    assert [r[0] for r in result(attributed, "cost_by_deployment", period="2026-10", top=2)] == ["dep-1", "dep-old"]


def test_cost_per_1k_requests_lists_deployments_with_requests(attributed):
    # deployment_id, name, team, source, currency, cost, requests, cost per 1k requests
    assert result(attributed, "cost_per_1k_requests_by_deployment", period="2026-10") == [
        ("dep-1", "chat-endpoint", "serving", M, "USD", D("40.00"), 250_000, D("0.16")),
        ("dep-3", "rank-v2", "serving", M, "USD", D("2.00"), 5_000, None),
        ("dep-old", "rank-v1", "serving", M, "USD", D("30.00"), 1_000_000, None),
    ]
    assert [(r[0], r[7]) for r in result(attributed, "cost_per_1k_requests_by_deployment")] == [
        ("dep-3", D("0.4")),
        ("dep-1", D("0.16")),
        ("dep-old", D("0.05")),
    ]
    billed = result(attributed, "cost_per_1k_requests_by_deployment", period="2026-10", basis="billed")
    assert billed[0][5:] == (D("50.00"), 250_000, D("0.2"))


# ---- idle, unattributed, GPU-hours, teams


def test_idle_gpu_cost_per_resource_and_team(attributed):
    # resource_id, team, currency, idle cost, idle GPU-h, line items, resource cost, idle share
    assert result(attributed, "idle_gpu_cost_by_resource", period="2026-10") == [
        # 6.00 / (2.000000000000000001 + 6.00)
        ("i-nlp", "nlp", "USD", D("6.00"), D(6), 1, D("8.000000000000000001"), D("0.75")),
        # 4.50 / (6.00 + 4.50) = 0.428571…
        ("i-spot1", "research", "USD", D("4.50"), D(8), 1, D("10.50"), D("0.428571")),
    ]
    billed = result(attributed, "idle_gpu_cost_by_resource", period="2026-10", basis="billed", top=1)
    assert billed == [("i-nlp", "nlp", "USD", D("7.50"), D(6), 1, D("10.000000000000000001"), D("0.75"))]


def test_unattributed_cost_by_reason(attributed):
    # reason, currency, cost, line items, resources, share of the currency's total
    assert result(attributed, "unattributed_cost_by_reason", period="2026-10") == [
        ("no resource id", "EUR", D("8.00"), 1, 0, D("0.727273")),  # 8 / (8 + 3)
        ("no tag or placement", "USD", D("3.00"), 1, 1, D("0.024164")),  # 3 / 124.150000000000000001
        ("no resource id", "USD", D("1.50"), 1, 0, D("0.012082")),
    ]


def test_gpu_hours_paid_vs_used(attributed):
    # team, kind, workloads, paid, sampled, used, idle share within the allocation
    assert result(attributed, "gpu_hours_paid_vs_used", period="2026-10") == [
        ("nlp", "training", 2, D(8), D(6), D(2), D("0.666667")),  # 2 + 4 + 2; 1 − 2/6
        ("research", "training", 3, D(25), D(24), D(18), D("0.25")),  # 8 + 16 + 1 (tag-run unsampled)
        ("serving", "deployment", 4, D(39), D(24), D(18), D("0.25")),
    ]
    every = result(attributed, "gpu_hours_paid_vs_used")
    assert [(r[0], r[3]) for r in every] == [("nlp", D(10)), ("research", D(25)), ("serving", D(49))]


def test_cost_by_team_adds_up_to_every_allocation(attributed):
    # team, currency, workload, idle, shared, unattributed, total, workload GPU-h, idle GPU-h
    assert result(attributed, "cost_by_team", period="2026-10") == [
        (None, "EUR", D(0), D(0), D(0), D("8.00"), D("8.00"), None, None),
        ("nlp", "EUR", D("3.00"), D(0), D(0), D(0), D("3.00"), D(2), None),
        ("serving", "USD", D("79.00"), D(0), D(0), D(0), D("79.00"), D(39), None),
        ("research", "USD", D("19.40"), D("4.50"), D("4.00"), D(0), D("27.90"), D(25), D(8)),
        ("nlp", "USD", D("5.750000000000000001"), D("6.00"), D("1.00"), D(0), D("12.750000000000000001"), D(6), D(6)),
        (None, "USD", D(0), D(0), D(0), D("4.50"), D("4.50"), None, None),
    ]
    listed = result(attributed, "cost_by_team", period="2026-10", basis="list")
    assert [(r[0], r[1], r[6]) for r in listed] == [
        (None, "EUR", D("10.00")),
        ("nlp", "EUR", D("4.00")),
        ("serving", "USD", D("99.00")),
        ("research", "USD", D("50.10")),
        ("nlp", "USD", D("16.75")),
        (None, "USD", D("5.50")),
    ]
    for basis, column in (("effective", "effective_cost"), ("billed", "billed_cost"), ("list", "list_cost")):
        totals: dict[str, Decimal] = {}
        for row in result(attributed, "cost_by_team", basis=basis):
            totals[row[1]] = totals.get(row[1], D(0)) + row[6]
        expected = attributed.execute(f"SELECT billing_currency, sum({column}) FROM allocations GROUP BY 1").fetchall()
        assert totals == dict(expected)
    assert dict(expected) == {"USD": D("193.35"), "EUR": D("14.00")}  # list: 99 + 50.10 + 16.75 + 5.50 + 22 (Sep)


# ---- the library call


def test_top_reads_the_named_queries(attributed):
    runs = rollups.top(attributed, "runs", "2026-10", "billed", 1).read_all().to_pylist()
    assert [(r["run_id"], r["currency"], r["cost"], r["waste_cost"]) for r in runs] == [
        ("run-c", "EUR", D("4.00"), D(0)),
        ("run-a", "USD", D("30.00"), D("10.00")),
    ]
    deployments = rollups.top(attributed, "deployments", None).read_all().to_pylist()
    assert [r["deployment_id"] for r in deployments] == ["dep-old", "dep-1", "dep-2", "dep-3"]
    idle = rollups.top(attributed, "idle", "2026-10", limit=None).read_all()
    assert idle.column("idle_cost").to_pylist() == [D("6.00"), D("4.50")]


def test_top_says_what_to_fix(attributed):
    with pytest.raises(FinopsError, match="no rollup of 'teams'; choose one of runs, deployments, idle"):
        rollups.top(attributed, "teams")
    with pytest.raises(FinopsError, match="--basis 'cash': use one of effective, billed, list"):
        rollups.top(attributed, "runs", basis="cash")
    with pytest.raises(FinopsError, match="--top 0: give the number of rows"):
        rollups.top(attributed, "runs", limit=0)
    with pytest.raises(FinopsError, match="--period '2026-13': use a billing month as YYYY-MM"):
        rollups.top(attributed, "runs", "2026-13")
    with pytest.raises(FinopsError, match="no billing rows for 2026-11; `finops status` shows the periods loaded"):
        rollups.top(attributed, "runs", "2026-11")
    add_line(attributed, 99, NOV)
    with pytest.raises(FinopsError, match=r"no allocations for 2026-11: run `finops attribute --period 2026-11` first"):
        rollups.top(attributed, "runs", "2026-11")


def test_top_on_a_store_without_bill_or_allocations(con):
    with pytest.raises(FinopsError, match="no billing rows in the store: load a bill first"):
        rollups.top(con, "runs")
    add_line(con, 1, OCT)
    with pytest.raises(FinopsError, match="no allocations in the store: run `finops attribute` first"):
        rollups.top(con, "deployments")


# ---- the commands


def test_runs_command(run, settings):
    seed(settings)
    result = run("runs", "--period", "2026-10", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "run_id,name,team,source,status,attempts,currency,cost,waste_cost,gpu_hours,used_gpu_hours,cost_per_gpu_hour,idle_share",
        "run-c,t5,nlp,manifest,finished,1,EUR,3,0,2,1,1.5,0.5",
        "run-a,llama-ft,research,manifest,finished,2,USD,18.5,6,24,18,0.770833,0.25",
        "run-c,t5,nlp,manifest,finished,1,USD,3.75,0,4,1,0.9375,0.75",
        "run-b,bert-base,nlp,manifest,failed,1,USD,2.000000000000000001,2.000000000000000001,2,,1,",
        "tag-run,,research,,,1,USD,0.9,0,1,,0.9,",
    ]
    top = run("runs", "--period", "2026-10", "--basis", "billed", "--top", "1", "--format", "csv")
    assert [(r["run_id"], r["cost"], r["waste_cost"]) for r in csv.DictReader(io.StringIO(top.stdout))] == [
        ("run-c", "4", "0"),
        ("run-a", "30", "10"),
    ]


def test_runs_command_errors(run, settings):
    assert "no store at" in one_line_error(run("runs"))
    seed(settings)
    assert one_line_error(run("runs", "--period", "2026-11")) == (
        "Error: no allocations for 2026-11: run `finops attribute --period 2026-11` first"
    )
    assert "--period '2026-13': use a billing month as YYYY-MM" in one_line_error(run("runs", "--period", "2026-13"))
    assert run("runs", "--basis", "cash").exit_code == 2  # click refuses the choice


def test_deployments_command(run, settings, tmp_path):
    seed(settings)
    result = run("deployments", "--period", "2026-10", "--top", "2", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout, parse_float=Decimal)
    assert [(d["deployment_id"], d["cost"], d["requests"], d["cost_per_1k_requests"]) for d in data] == [
        ("dep-1", D(40), 250_000, D("0.16")),
        ("dep-old", D(30), 1_000_000, None),
    ]
    out = tmp_path / "deployments.csv"
    assert run("deployments", "-o", str(out)).exit_code == 0
    assert [r["deployment_id"] for r in csv.DictReader(out.open())] == ["dep-old", "dep-1", "dep-2", "dep-3"]


def test_deployments_command_errors(run, settings):
    seed(settings)
    assert "--top 0: give the number of rows to show" in one_line_error(run("deployments", "--top", "0"))
    assert one_line_error(run("deployments", "--period", "2026-12")) == (
        "Error: no billing rows for 2026-12; `finops status` shows the periods loaded"
    )
    assert "give it with -o FILE.parquet" in one_line_error(run("deployments", "--format", "parquet"))
