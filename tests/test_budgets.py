"""`finops.alerts.evaluate`: each budget scope counts exactly its spend, on any connection, read-only too."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest

from finops import alerts, allocations, budgets, config, store
from finops.config import AttributionSettings, BudgetScope, BudgetSettings
from tests import billdata

AS_OF = date(2026, 11, 5)
LINES = [
    ("EC2", {"team": "nlp", "training_run": "llm-7b"}, Decimal("10.005")),
    ("EC2", {"team": "nlp", "training_run": "bert-base"}, Decimal(5)),
    ("SageMaker", {"team": "vision", "deployment": "chat-api"}, Decimal(2)),
    ("S3", {"team": "data"}, Decimal(1)),
]


def budget(name: str, **scope: object) -> BudgetSettings:
    return BudgetSettings(name=name, amount=Decimal(400), scope=BudgetScope(**scope))  # type: ignore[arg-type]


@pytest.fixture
def store_path(tmp_path, db):
    rows = [
        (day, service, tags, cost)
        for day in billdata.days(billdata.OCT, date(2026, 11, 1))
        for service, tags, cost in LINES
    ]
    con = store.connect(config.Settings(database=db))
    try:
        billdata.load(
            con, billdata.write(tmp_path / "bill.csv", rows, [(billdata.OCT, "Support", "data", Decimal(50))])
        )
        allocations.attribute_period(con, "2026-10", AttributionSettings())
    finally:
        con.close()
    return db


@pytest.mark.parametrize(
    ("scope", "actual"),
    [
        ({}, Decimal("608.155")),  # 31 x 18.005 + 50 support
        ({"team": "nlp"}, Decimal("465.155")),  # attributed team
        ({"workload": "llm-*"}, Decimal("310.155")),  # glob over the run id
        ({"workload_kind": "deployment"}, Decimal(62)),
        ({"tags": {"team": "data"}}, Decimal(81)),  # bill tag, with the fixed support fee
        ({"service": ("EC2", "S3")}, Decimal("496.155")),
        ({"service": ("EC2",), "tags": {"team": "vision"}}, Decimal(0)),  # filters combine
        ({"sub_account": ("sub-1",)}, Decimal("608.155")),
        ({"sub_account": ("sub-9",)}, Decimal(0)),
    ],
)
def test_scope_filters(store_path, settings, scope, actual):
    settings = dataclasses.replace(settings, budgets=(budget("b", **scope),))
    con = store.connect(settings, read_only=True)
    try:
        [status] = alerts.evaluate(con, settings, "2026-10", AS_OF).budgets
    finally:
        con.close()
    assert status.actual == actual
    assert status.forecast == actual.quantize(Decimal("0.01"))  # the month is complete
    assert status.actual_pct == budgets.percent(actual, Decimal(400))


def test_status_fields_and_drivers(store_path, settings):
    settings = dataclasses.replace(settings, budgets=(budget("nlp", team="nlp"),))
    con = store.connect(settings, read_only=True)
    try:
        evaluation = alerts.evaluate(con, settings, "2026-10", date(2026, 10, 12))
    finally:
        con.close()
    [status] = evaluation.budgets
    assert (evaluation.as_of, evaluation.cutoff) == (date(2026, 10, 12), date(2026, 10, 10))
    assert (status.period_start, status.period_end) == (date(2026, 10, 1), date(2026, 11, 1))
    assert status.actual == Decimal("165.055")  # 11 days x 15.005 (Oct 1-11)
    assert status.forecast == Decimal("465.16")  # 9 complete days at 15.005, the rest projected
    assert status.crossed == (("forecast", Decimal(100)),)  # 41.26 % so far, 116.29 % expected
    assert (status.actual_pct, status.forecast_pct) == (Decimal("41.26"), Decimal("116.29"))
    assert status.drivers == (
        alerts.Driver("service", "EC2", Decimal("165.055")),
        alerts.Driver("workload", "llm-7b", Decimal("110.055")),
        alerts.Driver("workload", "bert-base", Decimal(55)),
    )
    assert status.note is None


def test_billed_basis_quarter_and_currency(store_path, settings):
    quarter = BudgetSettings(name="q", amount=Decimal(1000), period="quarterly", basis="billed")
    euros = BudgetSettings(name="eur", amount=Decimal(1000), currency="EUR")
    settings = dataclasses.replace(settings, budgets=(quarter, euros))
    con = store.connect(settings, read_only=True)
    try:
        q, eur = alerts.evaluate(con, settings, "2026-11", AS_OF).budgets
    finally:
        con.close()
    assert (q.period_start, q.period_end, q.actual) == (date(2026, 10, 1), date(2027, 1, 1), Decimal("608.155"))
    assert q.forecast is not None and q.forecast > q.actual  # November and December are still to come
    assert eur.actual == 0  # USD spend never counts toward a EUR budget


def test_named_query_scope(store_path, settings, tmp_path):
    folder = tmp_path / "myqueries"
    folder.mkdir()
    (folder / "gpu_spend.sql").write_text(
        "-- description: EC2 spend per day\n-- param from: first day\n-- param end: day after\n"
        "SELECT CAST(ChargePeriodStart AS DATE) AS day, BillingCurrency, sum(EffectiveCost)\n"
        "FROM cost_line_items WHERE ServiceName = 'EC2' AND ChargePeriodStart >= $from AND ChargePeriodStart < $end\n"
        "GROUP BY ALL\n"
    )
    settings = dataclasses.replace(
        settings,
        budgets=(budget("gpu", query="gpu_spend"),),
        queries=config.QueriesSettings(paths=(str(folder),)),
    )
    con = store.connect(settings, read_only=True)
    try:
        [status] = alerts.evaluate(con, settings, "2026-10", AS_OF).budgets
    finally:
        con.close()
    assert status.actual == Decimal("465.155")


def test_attributed_scope_without_allocations_says_so(tmp_path, db, settings):
    rows = [(billdata.OCT, "EC2", "nlp", Decimal(1))]
    con = store.connect(settings)
    try:
        billdata.load(con, billdata.write(tmp_path / "bill.csv", rows))
        settings = dataclasses.replace(settings, budgets=(budget("nlp", team="nlp"),))
        [status] = alerts.evaluate(con, settings, "2026-10", AS_OF).budgets
    finally:
        con.close()
    assert status.note == "2026-10 has billing rows but no allocations: run `finops attribute --period 2026-10`"
    assert status.actual == 0


def test_a_missing_or_malformed_named_query_is_named(store_path, settings, tmp_path):
    from finops.errors import QueryError

    folder = tmp_path / "myqueries"
    folder.mkdir()
    (folder / "wrong_shape.sql").write_text("-- description: not a daily spend\nSELECT 'x', 'USD', 1\n")
    con = store.connect(settings, read_only=True)
    try:
        for name, message in (("nope", "no query named 'nope'"), ("wrong_shape", r"must return columns day \(DATE\)")):
            conf = dataclasses.replace(
                settings, budgets=(budget("b", query=name),), queries=config.QueriesSettings(paths=(str(folder),))
            )
            with pytest.raises(QueryError, match=message):
                alerts.evaluate(con, conf, "2026-10", AS_OF)
    finally:
        con.close()
