"""Where each budget stands and which days were anomalous: read-only, for `finops alert` and reports.

`evaluate` aggregates in DuckDB (named queries, grouped by day) and hands the daily sums to the pure
forecast and anomaly modules; it writes nothing, so it works on a read-only connection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import duckdb

from finops import anomaly, budgets, forecast, queries, store
from finops.anomaly import Anomaly, Contributor
from finops.config import BudgetSettings, Settings
from finops.errors import QueryError
from finops.periods import month_bounds

__all__ = ["Anomaly", "BudgetStatus", "Contributor", "Driver", "Evaluation", "bill_days", "evaluate"]

DRIVERS = 5


@dataclass(frozen=True)
class Driver:
    """A service or workload and its spend in a budget's period."""

    kind: str  # service | workload
    name: str
    cost: Decimal


@dataclass(frozen=True)
class BudgetStatus:
    """One budget in one period: spend so far, forecast, and the thresholds they have crossed."""

    name: str
    currency: str
    basis: str
    period_start: date
    period_end: date  # exclusive
    amount: Decimal  # the limit
    actual: Decimal
    forecast: Decimal | None  # None: too few complete days to forecast
    actual_pct: Decimal
    forecast_pct: Decimal | None
    crossed: tuple[tuple[str, Decimal], ...]  # (actual | forecast, threshold %), lowest first
    drivers: tuple[Driver, ...] = ()
    note: str | None = None  # why the numbers may be incomplete


@dataclass(frozen=True)
class Evaluation:
    """Every budget's status and the period's anomalies, as of a day."""

    period: str
    as_of: date
    cutoff: date  # days before it are complete
    budgets: list[BudgetStatus] = field(default_factory=list)
    anomalies: list[Anomaly] = field(default_factory=list)


def evaluate(con: duckdb.DuckDBPyConnection, settings: Settings, period: str, as_of: date | None = None) -> Evaluation:
    """Budgets and anomalies of billing month `period` (YYYY-MM) as the store stood on `as_of` (default today)."""
    start, end = (d.date() for d in month_bounds(period))
    as_of = as_of or datetime.now(UTC).date()
    first_day, last_day = bill_days(con, as_of)
    cut = forecast.cutoff(as_of, settings.alerts.lag_days, last_day)
    statuses = [_budget(con, settings, b, period, as_of, cut, first_day) for b in settings.budgets]
    found: list[Anomaly] = []
    if settings.anomalies.enabled:
        for scope in settings.anomalies.scopes:
            found.extend(_anomalies(con, settings, scope, start, min(end, cut), first_day))
    found.sort(key=lambda a: (a.day, -a.delta, a.scope_kind, a.scope_value))
    return Evaluation(period, as_of, cut, statuses, found)


def bill_days(con: duckdb.DuckDBPyConnection, before: date) -> tuple[date | None, date | None]:
    """The first and last day with usage on the bill before `before`."""
    row = store.fetch_one(con, queries.load("alert_bill_days").sql, {"before": before})
    return (row[0], row[1]) if row else (None, None)


def _budget(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    budget: BudgetSettings,
    period: str,
    as_of: date,
    cut: date,
    first_day: date | None,
) -> BudgetStatus:
    start, end = budgets.period_bounds(budget, period)
    window_start = min(start, cut) - timedelta(days=forecast.WINDOW_DAYS)
    until = min(end, as_of)
    fixed_by_day: dict[date, Decimal] = {}
    drivers: tuple[Driver, ...] = ()
    if budget.scope.query:
        daily = _named_query_spend(con, settings, budget, window_start, until)
    else:
        daily, fixed_by_day, drivers = _scope_spend(con, budget, window_start, start, until)
    usage = {d: v - fixed_by_day.get(d, Decimal(0)) for d, v in daily.items()}
    fixed = sum((v for d, v in fixed_by_day.items() if start <= d < end), Decimal(0))
    actual = sum((v for d, v in daily.items() if start <= d < end), Decimal(0))
    expected = forecast.forecast(usage, fixed, start, end, cut, first_day)
    assert budget.amount is not None  # checked on load
    crossed = [("actual", t) for t in sorted(budget.thresholds) if actual * 100 >= t * budget.amount]
    if expected is not None:
        crossed += [("forecast", t) for t in sorted(budget.forecast_thresholds) if expected * 100 >= t * budget.amount]
    return BudgetStatus(
        name=budget.name,
        currency=budget.currency,
        basis=budget.basis,
        period_start=start,
        period_end=end,
        amount=budget.amount,
        actual=actual,
        forecast=expected,
        actual_pct=budgets.percent(actual, budget.amount),
        forecast_pct=None if expected is None else budgets.percent(expected, budget.amount),
        crossed=tuple(crossed),
        drivers=drivers,
        note=_missing_allocations(con, budget, start, until),
    )


def _scope_spend(
    con: duckdb.DuckDBPyConnection, budget: BudgetSettings, window_start: date, start: date, until: date
) -> tuple[dict[date, Decimal], dict[date, Decimal], tuple[Driver, ...]]:
    params: dict[str, Any] = {"from": window_start, "start": start, "end": until, "basis": budget.basis, "top": DRIVERS}
    params.update(budgets.scope_params(budget.scope))
    rows = con.execute(queries.load("daily_spend_by_budget_scope").sql, params).fetchall()
    daily: dict[date, Decimal] = {}
    fixed: dict[date, Decimal] = {}
    drivers = []
    for row_kind, day, currency, name, cost, fixed_cost in rows:
        if currency != budget.currency:
            continue
        if row_kind == "day":
            daily[day], fixed[day] = cost, fixed_cost
        elif cost:
            drivers.append(Driver(row_kind, name if name is not None else "(none)", cost))
    return daily, fixed, tuple(drivers)


def _named_query_spend(
    con: duckdb.DuckDBPyConnection, settings: Settings, budget: BudgetSettings, window_start: date, until: date
) -> dict[date, Decimal]:
    """A budget whose scope is a named query: it returns (day, currency, cost) for params from, end, basis."""
    assert budget.scope.query is not None
    query = queries.load(budget.scope.query, settings)
    given = {"from": window_start, "end": until, "basis": budget.basis}
    try:
        rows = con.execute(query.sql, {k: v for k, v in given.items() if k in query.params}).fetchall()
    except duckdb.Error as exc:
        raise QueryError(f"budget {budget.name!r}: query {query.name} failed: {str(exc).splitlines()[0]}") from None
    daily: dict[date, Decimal] = {}
    for row in rows:
        if len(row) < 3 or not isinstance(row[0], date) or not isinstance(row[2], Decimal | int):
            raise QueryError(
                f"budget {budget.name!r}: query {query.name} must return columns day (DATE), currency, cost"
            )
        day = row[0].date() if isinstance(row[0], datetime) else row[0]
        if row[1] == budget.currency:
            daily[day] = daily.get(day, Decimal(0)) + Decimal(row[2])
    return daily


def _missing_allocations(
    con: duckdb.DuckDBPyConnection, budget: BudgetSettings, start: date, until: date
) -> str | None:
    """A note when a budget reads attributed spend of months that have bill rows but no allocations."""
    if not budgets.uses_allocations(budget.scope):
        return None
    row = store.fetch_one(con, queries.load("alert_unattributed_months").sql, {"start": start, "end": until})
    if row and row[0]:
        return f"{row[0]} has billing rows but no allocations: run `finops attribute --period {row[0]}`"
    return None


def _anomalies(
    con: duckdb.DuckDBPyConnection, settings: Settings, scope: str, start: date, until: date, first_day: date | None
) -> list[Anomaly]:
    conf = settings.anomalies
    # Only days with enough baseline can be anomalies (anomaly.check_day): none, no query.
    days = [start + timedelta(days=i) for i in range((until - start).days)]
    days = [d for d in days if len(anomaly.baseline_days(d, conf.weeks, first_day)) >= anomaly.MIN_BASELINE_DAYS]
    if not days:
        return []
    window_start = start - timedelta(days=7 * conf.weeks)
    rows = con.execute(
        queries.load("daily_spend_by_anomaly_scope").sql,
        {"from": window_start, "end": until, "basis": "effective", "scope": scope},
    ).fetchall()
    series: dict[tuple[str, str], dict[date, Decimal]] = {}
    for day, currency, value, cost in rows:
        series.setdefault((value, currency), {})[day] = cost
    found = []  # (value, currency, day, actual, expected, baseline days)
    # A workload is judged only against days it already spent on: a training run's first days are new
    # spend, not an anomaly (a month of runs would otherwise page once per run). Services and teams count
    # new spend against a zero baseline.
    history = scope == "workload"
    latest = days[-1] - timedelta(days=7)
    for (value, currency), daily in series.items():
        if history and min(daily) > latest:
            continue  # no spend before the last judged day's first baseline day
        for day, actual, expected in anomaly.detect(daily, days, conf, first_day):
            base = anomaly.baseline_days(day, conf.weeks, first_day)
            if not history or any(daily.get(b) for b in base):
                found.append((value, currency, day, actual, expected, base))
    drivers = _contributors(con, scope, found)
    return [
        Anomaly(
            scope,
            value,
            currency,
            day,
            actual,
            expected,
            actual - expected,
            anomaly.contributors(drivers.get((value, currency), []), day, base, skip_kind=scope),
        )
        for value, currency, day, actual, expected, base in found
    ]


def _contributors(
    con: duckdb.DuckDBPyConnection, scope: str, found: list[tuple[Any, ...]]
) -> dict[tuple[str, str], list[tuple[date, str, str, Decimal]]]:
    """(day, kind, name, cost) rows per (scope value, currency) on the anomalous days and their baselines,
    from one query for the whole scope kind."""
    if not found:
        return {}
    days = sorted({d for item in found for d in (item[2], *item[5])})
    params = {"days": days, "basis": "effective", "scope": scope, "scope_values": sorted({item[0] for item in found})}
    rows: dict[tuple[str, str], list[tuple[date, str, str, Decimal]]] = {}
    for value, currency, day, kind, name, cost in con.execute(
        queries.load("daily_spend_by_contributor").sql, params
    ).fetchall():
        rows.setdefault((value, currency), []).append((day, kind, name, cost))
    return rows
