"""The alert messages every channel gets: JSON-able dicts with a title, amounts as exact cent strings."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from finops.alerts import BudgetStatus, Evaluation
from finops.anomaly import Anomaly
from finops.notify import text

CENT = Decimal("0.01")


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value.quantize(CENT))


def budget(status: BudgetStatus, kind: str, threshold: str, state: str, evaluation: Evaluation) -> dict[str, Any]:
    """The message of a budget threshold that fired or resolved: numbers, drivers, title."""
    cur = status.currency
    value = status.actual if kind == "actual" else status.forecast
    pct = status.actual_pct if kind == "actual" else status.forecast_pct
    what = "actual spend" if kind == "actual" else "forecast period-end spend"
    period = status.period_start.strftime("%Y-%m") + (
        ""
        if (status.period_end - status.period_start).days < 32
        else f" to {status.period_end - timedelta(days=1):%Y-%m}"
    )
    money = text.money(_money(value))
    limit = text.money(_money(status.amount))
    if state == "firing":
        title = f"Budget {status.name} ({period}): {what} {money} {cur} is {pct}% of {limit} {cur}, over {threshold}%"
    else:
        title = f"Budget {status.name} ({period}) resolved: {what} {money} {cur} is {pct}%, back below {threshold}%"
    return {
        "type": "budget",
        "status": state,
        "kind": kind,
        "title": title,
        "budget": status.name,
        "period_start": status.period_start.isoformat(),
        "period_end": (status.period_end - timedelta(days=1)).isoformat(),
        "threshold": threshold,
        "currency": cur,
        "basis": status.basis,
        "amount": _money(status.amount),
        "actual": _money(status.actual),
        "actual_pct": str(status.actual_pct),
        "forecast": _money(status.forecast),
        "forecast_pct": None if status.forecast_pct is None else str(status.forecast_pct),
        "as_of": evaluation.as_of.isoformat(),
        "complete_through": (evaluation.cutoff - timedelta(days=1)).isoformat(),
        "drivers": [{"kind": d.kind, "name": d.name, "cost": _money(d.cost)} for d in status.drivers],
        "note": status.note,
    }


def anomaly(item: Anomaly, evaluation: Evaluation) -> dict[str, Any]:
    """The message of an anomalous day: the scope, the numbers and its top contributors."""
    title = (
        f"Spend anomaly: {item.scope_kind} {item.scope_value} spent {text.money(_money(item.actual))} {item.currency} "
        f"on {item.day}, {text.money(_money(item.delta))} above the expected {text.money(_money(item.expected))}"
    )
    return {
        "type": "anomaly",
        "status": "firing",
        "kind": "anomaly",
        "title": title,
        "scope_kind": item.scope_kind,
        "scope_value": item.scope_value,
        "currency": item.currency,
        "day": item.day.isoformat(),
        "actual": _money(item.actual),
        "expected": _money(item.expected),
        "delta": _money(item.delta),
        "as_of": evaluation.as_of.isoformat(),
        "contributors": [{"kind": c.kind, "name": c.name, "delta": _money(c.delta)} for c in item.contributors],
    }
