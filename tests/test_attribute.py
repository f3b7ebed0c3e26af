"""The pure attribution engine: conservation, signs, idempotence and order invariance, and its rules."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Context, Decimal, localcontext

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
    "quantity": pl.Decimal(38, 18),
    "unit": pl.String,
    "provider": pl.String,
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


def aws_time(quantity: str, unit: str = "Hrs") -> dict:
    """The instance time an AWS usage line bills (ConsumedQuantity, ConsumedUnit)."""
    return {"quantity": Decimal(quantity), "unit": unit, "provider": "AWS"}


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
    # Two instances of the job bill 2 instance-hours an hour: twice the GPU-hours.
    two = run([line(1, "75.376", resource=arn, **aws_time("2"))], [], workloads)
    assert two["gpu_hours"].to_list() == [Decimal(16)]


def test_a_reused_endpoint_goes_to_the_deployment_placed_on_it_at_the_time():
    arn = "arn:aws:sagemaker:us-east-1:222222222222:endpoint/chat"
    workloads = [
        {"workload_source": "manifest", "workload_id": w, "name": None, "kind": "deployment", "team": team}
        for w, team in (("chat-a", "search"), ("chat-b", "applied-ml"), ("chat", "other"))
    ]
    swap = T0 + 2 * HOUR + timedelta(minutes=20)
    placements = [
        placement("chat-b", T0 - timedelta(minutes=20), swap, None, resource=arn, team="applied-ml"),
        placement("chat-a", swap, None, None, resource=arn, team="search"),
    ]
    # Hours -2 .. 3: before any placement (nearest: chat-b), chat-b's, the swap (20 min b, 40 min a), chat-a's.
    lines = [line(h + 3, "14.18", resource=arn, hours=h, capacity=4000) for h in range(-2, 4)]
    result = run(lines, placements, workloads)
    owners = {r["line_id"] - 3: (r["workload_id"], r["team"], r["reason"]) for r in result.iter_rows(named=True)}
    b, a = ("chat-b", "applied-ml", "resource id"), ("chat-a", "search", "resource id")
    assert owners == {-2: b, -1: b, 0: b, 1: b, 2: a, 3: a}
    # Placed elsewhere only: the workload named like the resource.
    alone = run([line(1, "1", resource=arn, capacity=4000)], [], workloads)
    assert alone["workload_id"].to_list() == ["chat"]


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
    st.sampled_from([None, "0.5", "0.6667", "1", "2"]),  # instance-hours billed (AWS, Hrs)
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


def generated_line(line_id: int, cost: str, resource: str | None, hour: int, tag: str | None, **fields) -> dict:
    """A generated line of `resource` in hour `hour` (capacity from CAPACITY), tagged with run `tag` if any."""
    tags = {"run_tag": tag, "run_tag_key": "training_run", "run_tag_kind": "training"} if tag else {}
    return line(line_id, cost, resource=resource, hours=hour, capacity=CAPACITY.get(resource or ""), **tags, **fields)


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
        generated_line(
            i + 1,
            str(billed),
            resource,
            hour,
            tag,
            effective_cost=effective,
            list_cost=None if i % 3 == 0 else billed,
            category=category,
            team_tag=team,
            currency=currency,
            service="AWS Support (Business)" if i % 5 == 4 else None,
            **(aws_time(hours) if hours else {}),
        )
        for i, (hour, billed, effective, resource, tag, category, team, currency, hours) in enumerate(raw_lines)
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
    assert_largest_remainder(result, lines)
    assert run(lines, placements, workloads, util, config).equals(result)  # deterministic
    assert run(*shuffled(rng, lines, placements, workloads, util), config).equals(result)  # input order


def shuffled(rng: random.Random, *inputs: list) -> list[list]:
    """Each input list in another order."""
    copies = [list(rows) for rows in inputs]
    for rows in copies:
        rng.shuffle(rows)
    return copies


def assert_largest_remainder(result: pl.DataFrame, lines: list[dict]) -> None:
    """Every share is what the largest-remainder rule gives, computed here independently in integers.

    Per line and basis: floor(|units| × num / den) each; the units left go one each to the largest
    remainders, ties to the target first by (bucket, workload source, workload id, team); then the sign.
    """
    cost = {item["line_id"]: item for item in lines}
    for (line_id,), rows in result.group_by("line_id"):
        targets = list(rows.iter_rows(named=True))
        key = ["/".join(r[c] or "" for c in ("bucket", "workload_source", "workload_id", "team")) for r in targets]
        for basis in attribute.BASES:
            value = cost[line_id][basis]
            if value is None:
                continue
            units = int(value.scaleb(18, Context(prec=80)))
            exact = [abs(units) * r["num"] for r in targets]
            parts = [e // r["den"] for e, r in zip(exact, targets, strict=True)]
            left = abs(units) - sum(parts)
            ranked = sorted(range(len(targets)), key=lambda k: (-(exact[k] % targets[k]["den"]), key[k]))
            for k in ranked[:left]:
                parts[k] += 1
            wanted = [Decimal(-p if units < 0 else p).scaleb(-18, Context(prec=80)) for p in parts]
            assert [r[basis] for r in targets] == wanted, (line_id, basis)


# A few units of 1e-18: most of such a line is left over after the floors, so ties decide who gets it;
# the same few units on a huge line, split by the exact Python path.
crumbs = st.integers(-7, 7).map(lambda n: Decimal(n).scaleb(-18))
huge_crumbs = st.integers(-7, 7).map(lambda n: Decimal("123456789012345") + Decimal(n).scaleb(-18))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 2),
            st.one_of(crumbs, huge_crumbs, money),
            st.sampled_from(["i-1", "i-2", "cpu-1", None]),
            st.sampled_from([None, "w1", "w2"]),
            st.sampled_from(["Usage", "Tax"]),
            st.sampled_from([None, "a", "b", "c"]),
        ),
        min_size=1,
        max_size=8,
    ),
    # One placement shape for several workloads at once: identical weights.
    st.lists(
        st.tuples(
            st.sets(st.sampled_from(["w1", "w2", "w3"]), min_size=1),
            st.sampled_from(["i-1", "i-2", "cpu-1"]),
            st.sampled_from([0, 30, 60]),
            st.sampled_from([None, 30, 60]),
            st.sampled_from([None, 0, 1, 2]),
        ),
        max_size=4,
    ),
    st.sampled_from(["proportional", "even", "keep"]),
    st.randoms(use_true_random=False),
)
def test_ties_go_by_target_name_whatever_the_input_order(raw_lines, shapes, mode, rng):
    lines = [
        generated_line(
            i + 1,
            str(cost),
            resource,
            hour,
            tag,
            category=category,
            team_tag=team,
        )
        for i, (hour, cost, resource, tag, category, team) in enumerate(raw_lines)
    ]
    teams = {"w1": "a", "w2": "b", "w3": "c"}
    placements = [
        placement(
            w,
            T0 + timedelta(minutes=start),
            None if length is None else T0 + timedelta(minutes=start + length),
            gpus,
            resource,
            teams[w],
        )
        for chosen, resource, start, length, gpus in shapes
        for w in sorted(chosen)
    ]
    workloads = [
        {"workload_source": source, "workload_id": w, "name": w, "kind": "training", "team": team}
        for source in ("manifest", "mlflow")
        for w, team in teams.items()
    ]
    util = [
        {"resource": r, "start": T0 + h * HOUR, "end": T0 + (h + 1) * HOUR, "util": u}
        for r, u in (("i-1", 0.5), ("i-2", 0.25))
        for h in range(3)
    ]
    config = AttributionSettings(shared_mode=mode)
    result = run(lines, placements, workloads, util, config)
    assert_largest_remainder(result, lines)
    for _ in range(3):
        assert run(*shuffled(rng, lines, placements, workloads, util), config).equals(result)


def test_tie_inputs_do_tie():
    """Ties the test above reaches: three runs on equal GPUs beside the idle (a small line, and a huge one that
    the exact Python path splits), an even Tax over three teams; the units left go by target name."""
    lines = [
        line(1, "3E-18"),
        line(2, "123456789012345.000000000000000003", hours=1),
        line(3, "1E-18", resource=None, category="Tax"),
    ]
    placements = [placement(w, T0, T0 + 2 * HOUR, 2, team=t) for w, t in (("w3", "c"), ("w1", "a"), ("w2", "b"))]
    result = run(lines, placements, config=AttributionSettings(shared_mode="even"))
    got = [
        (r["line_id"], r["bucket"], r["workload_id"], r["team"], r["effective_cost"])
        for r in result.iter_rows(named=True)
    ]
    unit, none = Decimal("1E-18"), Decimal(0)
    quarter, more = Decimal("30864197253086.25"), Decimal("30864197253086.250000000000000001")
    assert got == [
        (1, "idle", None, None, unit),
        (1, "workload", "w1", "a", unit),
        (1, "workload", "w2", "b", unit),
        (1, "workload", "w3", "c", none),
        (2, "idle", None, None, more),
        (2, "workload", "w1", "a", more),
        (2, "workload", "w2", "b", more),
        (2, "workload", "w3", "c", quarter),
        (3, "shared", None, "a", unit),
        (3, "shared", None, "b", none),
        (3, "shared", None, "c", none),
    ]


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


def test_a_spot_instance_reclaimed_at_40_minutes_is_all_its_runs():
    # g5.xlarge spot (1 GPU) reclaimed at 10:40: its 10:00 line bills 0.6667 h = 2400 s, all of it the run's.
    spot = line(1, "0.2681", capacity=1000, **aws_time("0.6667"))
    result = run([spot], [placement("detr", T0 - HOUR, T0 + timedelta(minutes=40), 1)])
    got = [(r["bucket"], r["workload_id"], r["effective_cost"], r["gpu_hours"]) for r in result.iter_rows(named=True)]
    assert got == [("workload", "detr", Decimal("0.2681"), Decimal("0.666666"))]


def test_a_line_for_two_instances_has_twice_the_gpu_time():
    # 2 × g5.12xlarge (4 GPUs each) for the hour; a run on 4 GPUs for the hour uses half.
    result = run([line(1, "14.18", capacity=4000, **aws_time("2", "Hours"))], [placement("a", T0, T0 + HOUR, 4)])
    got = {r["bucket"]: (r["effective_cost"], r["gpu_hours"]) for r in result.iter_rows(named=True)}
    assert got == {"workload": (Decimal("7.09"), Decimal(4)), "idle": (Decimal("7.09"), Decimal(4))}


def test_an_hour_split_between_a_savings_plan_and_on_demand_is_one_hour():
    # The quantities add up per resource and hour: 0.1830 + 0.8169 = 0.9999 h = 3599.64 s → 3600 s.
    covered = line(1, "0", effective_cost=Decimal("1.2"), **aws_time("0.1830", "Hours"))
    on_demand = line(2, "26.77", **aws_time("0.8169", "Hours"))
    result = run([covered, on_demand], [placement("a", T0, T0 + HOUR / 2, 8)])
    got = {(r["line_id"], r["bucket"]): (r["effective_cost"], r["gpu_hours"]) for r in result.iter_rows(named=True)}
    assert got == {
        (1, "workload"): (Decimal("0.6"), None),
        (1, "idle"): (Decimal("0.6"), None),
        (2, "workload"): (Decimal("13.385"), Decimal(4)),
        (2, "idle"): (Decimal("13.385"), Decimal(4)),
    }


def test_placements_beyond_the_paid_seconds_share_them_without_idle():
    # 1800 s billed (in seconds); runs claim 1800 s and 900 s of all 8 GPUs: scaled to 2/3 and 1/3.
    placements = [placement("a", T0, T0 + HOUR / 2, 8), placement("b", T0 + HOUR / 2, T0 + HOUR * 3 / 4, 8)]
    result = run([line(1, "9", **aws_time("1800", "seconds"))], placements)
    got = {r["workload_id"]: (r["effective_cost"], r["gpu_hours"]) for r in result.iter_rows(named=True)}
    assert got == {"a": (Decimal(6), Decimal("2.666666")), "b": (Decimal(3), Decimal("1.333333"))}


@pytest.mark.parametrize(
    "time",
    [
        {},
        {"quantity": Decimal(0), "unit": "Hrs", "provider": "AWS"},
        {"quantity": Decimal("-0.5"), "unit": "Hrs", "provider": "AWS"},
        {"quantity": Decimal("0.5"), "unit": "GB", "provider": "AWS"},
        {"quantity": Decimal("1E+15"), "unit": "Hrs", "provider": "AWS"},
        # Google bills an instance's cores, RAM and GPUs apart: 0.5 GPU-hours of a half-GPU instance is an hour.
        {"quantity": Decimal("0.5"), "unit": "hour", "provider": "Google Cloud"},
    ],
    ids=["none", "zero", "negative", "not-time", "absurd", "google"],
)
def test_without_instance_time_a_line_counts_its_period(time):
    result = run([line(1, "8", **time)], [placement("a", T0, T0 + HOUR / 2, 8)])
    assert shares(result) == {("workload", "a", "nlp"): Decimal(4), ("idle", None, None): Decimal(4)}
    assert result["gpu_hours"].sum() == Decimal(8)


def test_only_usage_lines_count_instance_time():
    # A credit on the instance's hour states a quantity too: it is not more instance time (1800 s, not 3600).
    usage = line(1, "8", **aws_time("0.5"))
    credit = line(2, "-2", category="Credit", **aws_time("0.5"))
    result = run([usage, credit], [placement("a", T0, T0 + HOUR / 2, 8)])
    assert [(r["line_id"], r["bucket"], r["effective_cost"]) for r in result.iter_rows(named=True)] == [
        (1, "workload", Decimal(8)),
        (2, "workload", Decimal(-2)),
    ]


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
        generated_line(
            i + 1,
            "2.5",
            resource,
            hour,
            tag,
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
