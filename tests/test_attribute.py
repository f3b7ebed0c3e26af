"""The pure attribution engine: conservation, signs, idempotence and order invariance, and its rules."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal, localcontext

import duckdb
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finops import attribute
from finops.attribute import rules
from finops.attribute.split import MONEY
from finops.config import AttributionSettings
from finops.errors import ConfigError

T0 = datetime(2026, 10, 5, tzinfo=UTC)
HOUR = timedelta(hours=1)
LINE_SCHEMA = {
    "line_id": pl.Int64,
    "period_start": pl.Datetime("us", "UTC"),
    "currency": pl.String,
    "billed_cost": MONEY,
    "effective_cost": MONEY,
    "list_cost": MONEY,
    "start": pl.Datetime("us", "UTC"),
    "end": pl.Datetime("us", "UTC"),
    "category": pl.String,
    "commitment_status": pl.String,
    "commitment_id": pl.String,
    "service": pl.String,
    "resource": pl.String,
    "capacity_milli": pl.Int64,
    "run_tag": pl.String,
    "run_tag_key": pl.String,
    "run_tag_kind": pl.String,
    "team_tag": pl.String,
}
PLACEMENT_SCHEMA = {
    "resource": pl.String,
    "workload_source": pl.String,
    "workload_id": pl.String,
    "kind": pl.String,
    "team": pl.String,
    "start": pl.Datetime("us", "UTC"),
    "end": pl.Datetime("us", "UTC"),
    "gpu_milli": pl.Int64,
}
WORKLOAD_SCHEMA = {
    "workload_source": pl.String,
    "workload_id": pl.String,
    "name": pl.String,
    "kind": pl.String,
    "team": pl.String,
}
UTIL_SCHEMA = {
    "resource": pl.String,
    "start": pl.Datetime("us", "UTC"),
    "end": pl.Datetime("us", "UTC"),
    "util": pl.Float64,
}


def line(
    line_id: int, cost: str, resource: str | None = "i-1", hours: int = 0, capacity: int | None = 8000, **fields
) -> dict:
    row = {name: None for name in LINE_SCHEMA}
    row.update(
        line_id=line_id,
        period_start=datetime(2026, 10, 1, tzinfo=UTC),
        currency="USD",
        billed_cost=Decimal(cost),
        effective_cost=Decimal(cost),
        list_cost=Decimal(cost),
        start=T0 + hours * HOUR,
        end=T0 + (hours + 1) * HOUR,
        category="Usage",
        resource=resource,
        capacity_milli=capacity,
    )
    row.update(fields)
    return row


def placement(
    workload_id: str, start: datetime, end: datetime | None, gpus: int | None, resource: str = "i-1", team: str = "nlp"
) -> dict:
    return {
        "resource": resource,
        "workload_source": "manifest",
        "workload_id": workload_id,
        "kind": "training",
        "team": team,
        "start": start,
        "end": end,
        "gpu_milli": None if gpus is None else gpus * 1000,
    }


def run(lines, placements=(), workloads=(), utilization=(), config: AttributionSettings | None = None):
    frames = [
        pl.DataFrame(list(rows), schema=schema, orient="row").lazy() if rows else pl.DataFrame(schema=schema).lazy()
        for rows, schema in (
            (lines, LINE_SCHEMA),
            (placements, PLACEMENT_SCHEMA),
            (workloads, WORKLOAD_SCHEMA),
            (utilization, UTIL_SCHEMA),
        )
    ]
    return attribute.allocate(*frames, config or AttributionSettings())


def shares(result: pl.DataFrame, basis: str = "effective_cost") -> dict:
    return {(r["bucket"], r["workload_id"], r["team"]): r[basis] for r in result.iter_rows(named=True)}


def test_two_runs_share_an_8_gpu_hour():
    result = run([line(1, "32.7726")], [placement("a", T0, T0 + HOUR, 4), placement("b", T0, T0 + HOUR, 2)])
    assert shares(result) == {
        ("workload", "a", "nlp"): Decimal("16.3863"),
        ("workload", "b", "nlp"): Decimal("8.19315"),
        ("idle", None, None): Decimal("8.19315"),
    }
    hours = {r["workload_id"]: r["gpu_hours"] for r in result.iter_rows(named=True)}
    assert hours == {"a": Decimal(4), "b": Decimal(2), None: Decimal(2)}


def test_a_quarter_hour_on_all_gpus_leaves_three_quarters_idle():
    result = run([line(1, "98.32")], [placement("a", T0 + timedelta(minutes=20), T0 + timedelta(minutes=35), 8)])
    assert shares(result) == {("workload", "a", "nlp"): Decimal("24.58"), ("idle", None, None): Decimal("73.74")}


def test_overbooked_placements_scale_down_and_leave_no_idle():
    result = run([line(1, "10")], [placement("a", T0, T0 + HOUR, 8), placement("b", T0, T0 + HOUR, 8)])
    assert shares(result) == {("workload", "a", "nlp"): Decimal(5), ("workload", "b", "nlp"): Decimal(5)}


def test_a_gpu_resource_without_placements_is_idle_and_other_lines_unattributed():
    result = run(
        [line(1, "3"), line(2, "1", resource="vol-1", capacity=None, team_tag="vision"), line(3, "2", resource=None)]
    )
    rows = {r["line_id"]: (r["bucket"], r["reason"], r["team"]) for r in result.iter_rows(named=True)}
    assert rows == {
        1: ("idle", "no workload recorded", None),
        2: ("unattributed", "team tag, no workload", "vision"),
        3: ("unattributed", "no resource id", None),
    }


def test_tags_win_and_name_the_workload_even_without_a_record():
    workloads = [
        {"workload_source": "mlflow", "workload_id": "9f1c", "name": "LLM-7B", "kind": "training", "team": "nlp"}
    ]
    result = run(
        [
            line(1, "5", run_tag="llm-7b", run_tag_key="training_run", run_tag_kind="training"),
            line(2, "7", run_tag="chat-api", run_tag_key="deployment", run_tag_kind="deployment", team_tag="platform"),
        ],
        [placement("other", T0, T0 + HOUR, 8)],
        workloads,
    )
    rows = {
        r["line_id"]: (r["workload_source"], r["workload_id"], r["workload_kind"], r["team"], r["reason"])
        for r in result.iter_rows(named=True)
    }
    assert rows == {
        1: ("mlflow", "9f1c", "training", "nlp", "tag training_run"),
        2: (None, "chat-api", "deployment", "platform", "tag deployment"),
    }


def test_a_managed_job_arn_goes_to_its_workload():
    arn = "arn:aws:sagemaker:us-east-1:222222222222:training-job/bert-finetune-3"
    workloads = [
        {
            "workload_source": "manifest",
            "workload_id": "bert-finetune-3",
            "name": None,
            "kind": "training",
            "team": "nlp",
        }
    ]
    result = run([line(1, "37.688", resource=arn)], [], workloads)
    assert shares(result) == {("workload", "bert-finetune-3", "nlp"): Decimal("37.688")}
    assert result["rule"].to_list() == ["direct"] and result["gpu_hours"].to_list() == [Decimal(8)]


def test_shared_cost_follows_team_spend_exactly():
    lines = [
        line(1, "300", run_tag="r1", run_tag_key="training_run", run_tag_kind="training", team_tag="a"),
        line(2, "100", run_tag="r2", run_tag_key="training_run", run_tag_kind="training", team_tag="b"),
        line(3, "10.000000000000000001", resource=None, category="Tax"),
    ]
    result = run(lines)
    tax = {r["team"]: r["effective_cost"] for r in result.iter_rows(named=True) if r["line_id"] == 3}
    assert tax == {"a": Decimal("7.500000000000000001"), "b": Decimal("2.5")}
    even = run(lines, config=AttributionSettings(shared_mode="even"))
    assert {r["team"]: r["effective_cost"] for r in even.iter_rows(named=True) if r["line_id"] == 3} == {
        "a": Decimal("5.000000000000000001"),
        "b": Decimal("5"),
    }
    kept = run(lines, config=AttributionSettings(shared_mode="keep"))
    assert [(r["bucket"], r["team"]) for r in kept.iter_rows(named=True) if r["line_id"] == 3] == [("shared", None)]


def test_each_basis_is_split_on_its_own():
    covered = line(1, "0", effective_cost=Decimal("23.5962720"), list_cost=Decimal("32.7726"))
    result = run([covered], [placement("a", T0, T0 + HOUR, 6), placement("b", T0, T0 + HOUR, 2)])
    got = {
        r["workload_id"]: (r["billed_cost"], r["effective_cost"], r["list_cost"]) for r in result.iter_rows(named=True)
    }
    assert got == {
        "a": (Decimal(0), Decimal("17.697204"), Decimal("24.57945")),
        "b": (Decimal(0), Decimal("5.899068"), Decimal("8.19315")),
    }


def test_utilisation_gives_used_gpu_hours():
    util = [{"resource": "i-1", "start": T0, "end": T0 + HOUR, "util": 0.5}]
    result = run([line(1, "8")], [placement("a", T0, T0 + HOUR, 8)], utilization=util)
    assert result.select("gpu_hours", "used_gpu_hours").row(0) == (Decimal(8), Decimal(4))


def test_bad_rule_configuration_is_named():
    with pytest.raises(ConfigError, match="unknown rule"):
        run([line(1, "1")], config=AttributionSettings(rules=("direct", "magic")))
    with pytest.raises(ConfigError, match="must come last"):
        run([line(1, "1")], config=AttributionSettings(rules=("unattributed", "direct")))
    with pytest.raises(ConfigError, match="shared_mode 'smear'"):
        run([line(1, "1")], config=AttributionSettings(shared_mode="smear"))


def test_leaving_rules_out_still_allocates_everything():
    result = run([line(1, "3")], [placement("a", T0, T0 + HOUR, 8)], config=AttributionSettings(rules=("direct",)))
    assert [(r["bucket"], r["effective_cost"]) for r in result.iter_rows(named=True)] == [("unattributed", Decimal(3))]


money = st.one_of(
    st.decimals(
        min_value=Decimal("-100000"), max_value=Decimal("100000"), places=18, allow_nan=False, allow_infinity=False
    ),
    # Large lines take the exact Python path of the split (|units| × weights beyond Int128).
    st.sampled_from([Decimal("123456789012345.123456789012345678"), Decimal("-1E+15"), Decimal(0)]),
)
line_strategy = st.tuples(
    st.integers(0, 5),
    money,
    money,
    st.sampled_from(["i-1", "i-2", "cpu-1", "vol", None]),
    st.sampled_from([None, "r1", "w2", "W3"]),
    st.sampled_from(["Usage", "Tax", "Credit", "Purchase"]),
    st.sampled_from([None, "a", "b"]),
    st.sampled_from(["USD", "EUR"]),
)
placement_strategy = st.tuples(
    st.sampled_from(["w1", "w2", "w3"]),
    st.sampled_from(["i-1", "i-2", "cpu-1", "i-9"]),
    st.integers(0, 300),
    st.one_of(st.none(), st.integers(1, 400)),
    st.sampled_from([None, 0, 1, 2, 4, 8, 12]),
    st.sampled_from(["a", "b"]),
)
CAPACITY = {"i-1": 8000, "i-2": 1000}  # cpu-1 and vol have none; i-9 has no bill line


@settings(max_examples=80, deadline=None)
@given(
    st.lists(line_strategy, min_size=1, max_size=12),
    st.lists(placement_strategy, max_size=8),
    st.sampled_from(["proportional", "even", "keep"]),
    st.sampled_from([("direct", "time_share", "shared"), ("direct", "shared"), ("time_share",), ()]),
    st.floats(0, 1),
    st.randoms(use_true_random=False),
)
def test_properties(raw_lines, raw_placements, mode, rules_on, utilisation, rng):
    lines = [
        line(
            i + 1,
            str(billed),
            resource=resource,
            hours=hour,
            capacity=CAPACITY.get(resource or ""),
            effective_cost=effective,
            list_cost=None if i % 3 == 0 else billed,
            run_tag=tag,
            run_tag_key="training_run" if tag else None,
            run_tag_kind="training" if tag else None,
            category=category,
            team_tag=team,
            currency=currency,
            service="AWS Support (Business)" if i % 5 == 4 else None,
        )
        for i, (hour, billed, effective, resource, tag, category, team, currency) in enumerate(raw_lines)
    ]
    placements = [
        placement(
            w,
            T0 + timedelta(minutes=start),
            None if length is None else T0 + timedelta(minutes=start + length),
            gpus,
            r,
            team,
        )
        for w, r, start, length, gpus, team in raw_placements
    ]
    workloads = [
        {"workload_source": source, "workload_id": w, "name": w.upper(), "kind": "training", "team": "a"}
        for source in ("manifest", "mlflow")
        for w in ("w1", "w2", "w3")
    ]
    util = [
        {"resource": "i-1", "start": T0 + h * HOUR, "end": T0 + (h + 1) * HOUR, "util": utilisation} for h in range(6)
    ]
    config = AttributionSettings(rules=(*rules_on, "unattributed"), shared_mode=mode)
    result = run(lines, placements, workloads, util, config)
    by_line = {}
    for row in result.iter_rows(named=True):
        by_line.setdefault(row["line_id"], []).append(row)
    for item in lines:
        rows = by_line[item["line_id"]]  # every line is allocated
        for bucket in ("idle", "unattributed"):  # at most one share each (rollups count lines by rows)
            assert sum(r["bucket"] == bucket for r in rows) <= 1
        assert {r["currency"] for r in rows} == {item["currency"]}
        for basis in attribute.BASES:
            if item[basis] is None:
                assert all(r[basis] is None for r in rows)
                continue
            with localcontext() as exact:
                exact.prec = 60
                assert sum(r[basis] for r in rows) == item[basis]  # conservation, exact
            if item[basis] >= 0:
                assert all(r[basis] >= 0 for r in rows)  # no negative share of a positive line
        for r in rows:
            if r["used_gpu_hours"] is not None:  # used never exceeds paid
                assert Decimal(0) <= r["used_gpu_hours"] <= (r["gpu_hours"] or 0) or r["bucket"] == "idle"
    assert run(lines, placements, workloads, util, config).equals(result)  # deterministic
    shuffled_lines, shuffled_placements = list(lines), list(placements)
    rng.shuffle(shuffled_lines)
    rng.shuffle(shuffled_placements)
    assert run(shuffled_lines, shuffled_placements, workloads, util, config).equals(result)  # input order


def test_property_inputs_are_not_trivial():
    rng = random.Random(3)
    lines = [line(i, str(Decimal(rng.randint(1, 10**6)) / 1000), hours=i % 3) for i in range(1, 40)]
    placements = [
        placement(f"w{i}", T0 + timedelta(minutes=7 * i), T0 + timedelta(minutes=7 * i + 50), 1 + i % 8)
        for i in range(12)
    ]
    result = run(lines, placements)
    assert {"workload", "idle"} <= set(result["bucket"].to_list())
    assert result.height > len(lines)


def test_a_cpu_resource_is_shared_by_time_and_never_idle():
    result = run(
        [line(1, "0.192", resource="i-cpu", capacity=None)],
        [placement("etl", T0 + timedelta(minutes=30), T0 + HOUR, 0, resource="i-cpu")],
    )
    assert [(r["bucket"], r["reason"], r["effective_cost"]) for r in result.iter_rows(named=True)] == [
        ("unattributed", "unoccupied (no GPUs)", Decimal("0.096")),
        ("workload", "gpu time", Decimal("0.096")),
    ]


def test_unknown_capacity_comes_from_the_widest_gpu_claim():
    result = run(
        [line(1, "10", resource="i-p2", capacity=None)],
        [placement("a", T0, T0 + HOUR, 4, resource="i-p2"), placement("b", T0, T0 + HOUR / 2, 2, resource="i-p2")],
    )
    assert shares(result) == {("workload", "a", "nlp"): Decimal(8), ("workload", "b", "nlp"): Decimal(2)}


def test_used_gpu_hours_go_to_workloads_first():
    util = [{"resource": "i-1", "start": T0, "end": T0 + HOUR, "util": 0.5}]  # 4 of 8 GPUs busy
    result = run([line(1, "32")], [placement("r1", T0, T0 + HOUR, 4)], utilization=util)
    got = {r["bucket"]: (r["gpu_hours"], r["used_gpu_hours"]) for r in result.iter_rows(named=True)}
    assert got == {"workload": (Decimal(4), Decimal(4)), "idle": (Decimal(4), Decimal(0))}


def test_gpu_hours_are_counted_on_the_finest_lines_only():
    hourly = line(1, "32")
    daily = line(2, "5", end=T0 + 24 * HOUR)  # e.g. the instance's data transfer, billed per day
    result = run([hourly, daily], [placement("r1", T0, T0 + HOUR, 8)])
    assert result.filter(pl.col("gpu_hours").is_not_null())["line_id"].to_list() == [1]
    assert result["gpu_hours"].sum() == Decimal(8)


def test_empty_tag_key_lists_are_allowed():
    config = AttributionSettings(run_tag_keys=(), deployment_tag_keys=(), team_tag_keys=())
    result = run([line(1, "3")], [placement("a", T0, T0 + HOUR, 8)], config=config)
    assert shares(result) == {("workload", "a", "nlp"): Decimal(3)}


def test_a_huge_shared_line_is_split_exactly():
    lines = [
        line(i, "1", run_tag=f"r{i}", run_tag_key="training_run", run_tag_kind="training", team_tag=f"t{i}")
        for i in range(1, 11)
    ]
    lines.append(line(11, "100000000.000000000000000007", resource=None, category="Tax"))
    result = run(lines)
    tax = [r["effective_cost"] for r in result.iter_rows(named=True) if r["line_id"] == 11]
    assert len(tax) == 10 and sum(tax) == Decimal("100000000.000000000000000007")
    assert sorted(tax)[-1] - sorted(tax)[0] == Decimal("1E-18")


ARN = "arn:aws:sagemaker:us-east-1:111122223333:training-job/w1"
store_line_strategy = st.tuples(
    st.integers(0, 5),
    st.sampled_from(["i-1", "i-2", "cpu-1", "vol", ARN, None]),
    st.sampled_from([None, "w1", "x9"]),
    st.sampled_from(["Usage", "Tax", "Purchase", None]),
    st.sampled_from([None, "Used", "Unused"]),
    st.sampled_from([None, "sp-1"]),
    st.sampled_from([None, "AWS Support (Business)", "Amazon S3"]),
    st.sampled_from([None, "a"]),
)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(store_line_strategy, min_size=1, max_size=12),
    st.lists(placement_strategy, max_size=6),
    st.sampled_from([("direct", "time_share", "shared"), ("shared", "direct"), ("time_share",), ()]),
    st.booleans(),
)
def test_the_store_side_sql_agrees_with_the_rules(raw_lines, raw_placements, rules_on, commitments):
    """rules.MIGHT_CLAIM_SQL is true for every line a rule claims; the others get UNATTRIBUTED_REASON_SQL's reason."""
    check_store_side_sql(raw_lines, raw_placements, rules_on, commitments)


def check_store_side_sql(raw_lines, raw_placements, rules_on, commitments) -> list[bool]:
    """The checks of the test above; returns each line's `claimable`, in line order."""
    lines = [
        line(
            i + 1,
            "2.5",
            resource=resource,
            hours=hour,
            capacity=CAPACITY.get(resource or ""),
            run_tag=tag,
            run_tag_key="training_run" if tag else None,
            run_tag_kind="training" if tag else None,
            category=category,
            commitment_status=status,
            commitment_id=commitment,
            service=service,
            team_tag=team,
        )
        for i, (hour, resource, tag, category, status, commitment, service, team) in enumerate(raw_lines)
    ]
    placements = [
        placement(w, T0 + timedelta(minutes=start), None if n is None else T0 + timedelta(minutes=start + n), g, r)
        for w, r, start, n, g, _ in raw_placements
    ]
    workloads = [{"workload_source": "manifest", "workload_id": "w1", "name": "w1", "kind": "training", "team": "a"}]
    config = AttributionSettings(rules=(*rules_on, "unattributed"), shared_commitments=commitments)
    result = run(lines, placements, workloads, config=config)
    con = duckdb.connect()
    con.register("l", pl.DataFrame(lines, schema=LINE_SCHEMA, orient="row"))
    con.register("p", pl.DataFrame(placements, schema=PLACEMENT_SCHEMA, orient="row"))
    sql = (
        f"SELECT line_id, coalesce({rules.might_claim_sql(config)}, true), {rules.UNATTRIBUTED_REASON_SQL}, team_tag "
        "FROM (SELECT *, coalesce(resource IN (SELECT resource FROM p), false) AS placed FROM l)"
    )
    decided = {row[0]: row[1:] for row in con.execute(sql, rules.might_claim_params(config)).fetchall()}
    for line_id, rows in result.group_by("line_id"):
        claimable, reason, team = decided[line_id[0]]
        unclaimed = [(r["bucket"], r["rule"], r["reason"], r["team"]) for r in rows.iter_rows(named=True)]
        if not claimable:
            assert unclaimed == [("unattributed", "unattributed", reason, team)]
        elif unclaimed[0][1] == "unattributed":
            assert unclaimed == [("unattributed", "unattributed", reason, team)]
    return [decided[i + 1][0] for i in range(len(lines))]


def test_the_store_side_sql_sees_both_kinds_of_line():
    decided = check_store_side_sql(
        [
            (0, "vol", None, "Usage", None, None, "Amazon S3", "a"),
            (1, "i-1", None, "Usage", None, None, None, None),
            (2, None, None, "Tax", None, None, None, None),
            (3, None, "w1", "Usage", None, None, None, None),
        ],
        [],
        ("direct", "time_share", "shared"),
        True,
    )
    assert decided == [False, True, True, True]
