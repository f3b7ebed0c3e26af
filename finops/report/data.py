"""What the monthly report shows, gathered by running the named queries (and the budget evaluation)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import duckdb

import finops
from finops import alerts, queries
from finops.anomaly import Anomaly
from finops.config import Settings
from finops.errors import FinopsError
from finops.output import is_percent, is_share
from finops.periods import month_bounds
from finops.rollups import BASES
from finops.store import fetch_one

TOP = 10  # ranked tables (runs, deployments) show this many rows per currency
ANOMALIES = 20  # the largest anomalies of the month shown
CAP = 12  # long breakdowns (services, accounts) keep this many rows per currency and sum the rest as "other"


@dataclass(frozen=True)
class Section:
    """One block of the report: the named query behind it and how its rows are bound and capped."""

    key: str
    title: str
    query: str
    top: int | None = None  # the query's own `top` parameter
    cap: str | None = None  # label column: keep CAP rows per currency, sum the rest as "(other)"


# The report's blocks, in page order; each one is a named query in queries/.
SECTIONS = (
    Section("totals", "Total cost", "total_cost_by_currency"),
    Section("daily", "Daily cost by service category", "daily_cost_by_service_category"),
    Section("services", "Cost by service", "cost_by_service", cap="service"),
    Section("teams", "Cost by team", "cost_by_team"),
    Section("accounts", "Cost by sub account", "cost_by_sub_account", cap="sub_account_id"),
    Section("runs", "Top training runs", "cost_by_training_run", top=TOP),
    Section("deployments", "Top deployments", "cost_by_deployment", top=TOP),
    Section("gpus", "GPU-hours paid vs used by instance type", "gpu_hours_by_instance_type"),
    Section("idle", "Idle GPU cost by resource", "idle_gpu_cost_by_resource", top=TOP),
    Section("utilization", "Commitment utilisation", "commitment_utilization_by_commitment"),
    Section("coverage", "Commitment coverage", "commitment_coverage_by_service", cap="service"),
    Section("unattributed", "Unattributed cost by reason", "unattributed_cost_by_reason"),
    Section("freshness", "Data freshness", "last_load_by_source"),
)


@dataclass(frozen=True)
class Table:
    """A query's result: column names and rows of Python values (Decimals stay Decimals)."""

    query: str
    columns: list[str]
    rows: list[dict[str, Any]]
    capped: int = 0  # rows folded into "other"


@dataclass(frozen=True)
class ReportData:
    """Everything the report renders, and what it was made from."""

    period: str
    basis: str
    generated_at: datetime
    version: str
    tables: dict[str, Table]
    budgets: list[dict[str, Any]] = field(default_factory=list)
    anomalies: list[dict[str, Any]] = field(default_factory=list)
    budgets_note: str = ""
    notes: list[str] = field(default_factory=list)

    def currencies(self) -> list[str]:
        """The billing currencies of the period, as the totals list them."""
        return [str(r["currency"]) for r in self.tables["totals"].rows if r["line_items"]]


def gather(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    period: str,
    basis: str = "effective",
) -> ReportData:
    """Run every section's named query for `period` on `basis`, plus the budget and anomaly evaluation."""
    start, end = month_bounds(period)
    if basis not in BASES:
        raise FinopsError(f"--basis {basis!r}: use one of {', '.join(BASES)}")
    month = {"start": start, "end": end}
    billed = fetch_one(  # the daily totals, not a scan of the line items
        con,
        "SELECT EXISTS (SELECT 1 FROM daily_costs WHERE BillingPeriodStart >= $start AND BillingPeriodStart < $end)",
        month,
    )
    if not billed or not billed[0]:
        raise FinopsError(f"no billing rows for {period}; `finops status` shows the periods loaded")
    tables = {s.key: _run(con, settings, s, period, basis) for s in SECTIONS}
    notes = []
    allocated = fetch_one(
        con,
        "SELECT EXISTS (SELECT 1 FROM allocations "
        "WHERE billing_period_start >= $start AND billing_period_start < $end)",
        month,
    )
    if not allocated or not allocated[0]:
        notes.append(f"{period} is not attributed yet: run `finops attribute --period {period}` for teams and runs")
    data = ReportData(period, basis, datetime.now(UTC), finops.__version__, tables, notes=notes)
    return _with_budgets(con, settings, data)


def _run(con: duckdb.DuckDBPyConnection, settings: Settings, section: Section, period: str, basis: str) -> Table:
    query = queries.load(section.query, settings)
    given: dict[str, Any] = {"period": period, "basis": basis, "top": section.top}
    table = queries.run(con, query, {k: v for k, v in given.items() if k in query.params}).read_all()
    rows = table.to_pylist()
    if section.cap is not None:
        rows, capped = cap_rows(rows, section.cap)
        return Table(section.query, table.column_names, rows, capped)
    return Table(section.query, table.column_names, rows)


def cap_rows(rows: list[dict[str, Any]], label: str) -> tuple[list[dict[str, Any]], int]:
    """The first CAP rows of each currency (the queries sort largest first), then one "(other)" row per
    currency whose amounts sum the rest exactly; ratios are left empty there, as they do not add up."""
    kept: list[dict[str, Any]] = []
    others: dict[str, dict[str, Any]] = {}
    seen: dict[str, int] = {}
    folded = 0
    for row in rows:
        currency = str(row.get("currency"))
        seen[currency] = seen.get(currency, 0) + 1
        if seen[currency] <= CAP:
            kept.append(row)
            continue
        folded += 1
        other = others.setdefault(currency, {k: None for k in row} | {label: "(other)", "currency": currency})
        for key, value in row.items():
            if isinstance(value, Decimal) and not (is_share(key) or is_percent(key)):
                other[key] = (other[key] or Decimal(0)) + value
    return kept + list(others.values()), folded


def _with_budgets(con: duckdb.DuckDBPyConnection, settings: Settings, data: ReportData) -> ReportData:
    """Budget status, forecast and anomalies from finops.alerts (its evaluation as of the report's day)."""
    evaluation = alerts.evaluate(con, settings, data.period, as_of=data.generated_at.date())
    budgets = [budget_row(b) for b in evaluation.budgets]
    anomalies = sorted((anomaly_row(a) for a in evaluation.anomalies), key=lambda a: -a["delta"])[:ANOMALIES]
    note = "" if budgets else "no budgets configured: add [[budgets]] to finops.toml"
    return dataclasses.replace(data, budgets=budgets, anomalies=anomalies, budgets_note=note)


def budget_row(status: alerts.BudgetStatus) -> dict[str, Any]:
    """A budget's status as a row: limit, actual and forecast with their % of the limit, thresholds crossed."""
    crossed = ", ".join(f"{kind} {threshold.normalize():f} %" for kind, threshold in status.crossed)
    return {
        "name": status.name,
        "currency": status.currency,
        "basis": status.basis,
        "amount": status.amount,
        "actual": status.actual,
        "actual_pct": status.actual_pct,
        "forecast": status.forecast,
        "forecast_pct": status.forecast_pct,
        "crossed": crossed or "none",
        "note": status.note or "",
    }


def anomaly_row(anomaly: Anomaly) -> dict[str, Any]:
    """An anomalous day as a row, its contributors named in order."""
    return {
        "scope": f"{anomaly.scope_kind} {anomaly.scope_value}",
        "day": anomaly.day,
        "currency": anomaly.currency,
        "actual": anomaly.actual,
        "expected": anomaly.expected,
        "delta": anomaly.delta,
        "contributors": ", ".join(f"{c.kind} {c.name}" for c in anomaly.contributors[:3]),
    }
