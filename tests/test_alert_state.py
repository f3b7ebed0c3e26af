"""The alert ledger as a state machine: whatever the restatements, a threshold fires once per crossing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from finops import alert_state, store
from finops.alerts import BudgetStatus, Evaluation
from finops.config import BudgetSettings, Settings

BUDGET = BudgetSettings(name="b", amount=Decimal(100), thresholds=(Decimal(50), Decimal(80), Decimal(100)))
CONFIG = Settings(database=Path(":memory:"), budgets=(BUDGET,))


def evaluation(actual: Decimal) -> Evaluation:
    crossed = tuple(("actual", t) for t in BUDGET.thresholds if actual >= t)
    status = BudgetStatus(
        "b", "USD", "effective", date(2026, 10, 1), date(2026, 11, 1), Decimal(100), actual, None, actual, None, crossed
    )
    return Evaluation("2026-10", date(2026, 10, 20), date(2026, 10, 18), [status], [])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=150), min_size=1, max_size=12))
def test_each_crossing_fires_once_and_each_drop_resolves_once(spend):
    con = store.connect(CONFIG)
    try:
        before: set[Decimal] = set()
        for value in spend:
            now = {t for t in BUDGET.thresholds if value >= t}
            found = alert_state.changes(con, CONFIG, evaluation(Decimal(value)))
            alert_state.record(con, found)
            fired = [c for c in found if c.status == "firing"]
            resolved = [c for c in found if c.status == "resolved"]
            assert [Decimal(c.threshold) for c in fired] == ([max(now - before)] if now - before else [])
            assert [Decimal(c.threshold) for c in resolved] == ([min(before - now)] if before - now else [])
            firing = con.execute("SELECT threshold FROM alert_events WHERE status = 'firing'").fetchall()
            assert {Decimal(t) for (t,) in firing} == now
            assert alert_state.changes(con, CONFIG, evaluation(Decimal(value))) == []  # a re-run is quiet
            before = now
    finally:
        con.close()


def test_a_forecast_threshold_the_actual_spend_has_passed_stays_quiet():
    budget = BudgetSettings(
        name="b", amount=Decimal(100), thresholds=(Decimal(80),), forecast_thresholds=(Decimal(90),)
    )
    conf = Settings(database=Path(":memory:"), budgets=(budget,))

    def at(actual: int, forecast: int) -> Evaluation:
        a, f = Decimal(actual), Decimal(forecast)
        crossed = [("actual", Decimal(80))] if a >= 80 else []
        crossed += [("forecast", Decimal(90))] if f >= 90 else []
        status = BudgetStatus(
            "b", "USD", "effective", date(2026, 10, 1), date(2026, 11, 1), Decimal(100), a, f, a, f, tuple(crossed)
        )
        return Evaluation("2026-10", date(2026, 10, 20), date(2026, 10, 18), [status], [])

    con = store.connect(conf)
    try:
        late = alert_state.changes(con, conf, at(95, 120))  # actual already past the forecast's 90 %
        assert [(c.kind, c.threshold) for c in late] == [("actual", "80")]
        alert_state.record(con, late)
        early = alert_state.changes(con, conf, at(50, 95))
        assert [(c.kind, c.threshold, c.status) for c in early] == [
            ("actual", "80", "resolved"),
            ("forecast", "90", "firing"),
        ]
    finally:
        con.close()
