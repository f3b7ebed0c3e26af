"""Plotly figures (plain JSON specs) from the report's tables: one figure per chart and currency.

Labels from the bill are HTML-escaped before they reach plotly, which renders a subset of HTML tags
in its SVG text; escaped, a tag value shows as text and never becomes markup.
"""

from __future__ import annotations

import html
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from finops.output import is_share
from finops.periods import month_bounds
from finops.report.data import ReportData, Table

DAY_WIDTH = 0.8 * 86_400_000  # a daily bar's width on a date axis, in milliseconds
PALETTE = ["#3b6ea5", "#e0803a", "#5aa05a", "#c8504f", "#8c6bb1", "#8c564b", "#d67ab1", "#7f7f7f", "#b5b83a", "#3fb6c4"]


@dataclass(frozen=True)
class Chart:
    """One figure: where it goes in the page, its title, and the plotly spec."""

    section: str
    title: str
    figure: dict[str, Any]


def label(value: Any) -> str:
    """A category label as plotly text: escaped so it is shown, not interpreted."""
    return html.escape("(none)" if value is None else str(value), quote=False)


def num(value: Any) -> float | None:
    """A number for plotting only; tables show the exact values."""
    return None if value is None else float(value)


def charts(data: ReportData) -> list[Chart]:
    """Every figure of the report, per currency where money is plotted."""
    found: list[Chart] = []
    t = data.tables
    for currency in data.currencies():
        found += _daily(t["daily"], currency, data.period)
        found += _bars(t["teams"], "teams", f"Cost by team ({currency})", "team", "total_cost", currency)
        found += _bars(
            t["accounts"], "accounts", f"Cost by sub account ({currency})", "sub_account_name", "cost", currency
        )
        found += _bars(t["runs"], "runs", f"Top training runs ({currency})", "run_id", "cost", currency)
        found += _bars(
            t["deployments"], "deployments", f"Top deployments ({currency})", "deployment_id", "cost", currency
        )
        found += _gpu_hours(t["gpus"], currency)
        found += _bars(
            t["gpus"], "gpus", f"Idle GPU cost by instance type ({currency})", "instance_type", "idle_cost", currency
        )
        found += _bars(
            t["utilization"],
            "utilization",
            f"Commitment utilisation ({currency})",
            "commitment_id",
            "utilization",
            currency,
        )
        found += _bars(t["coverage"], "coverage", f"Commitment coverage ({currency})", "service", "coverage", currency)
        found += _bars(
            t["unattributed"], "unattributed", f"Unattributed cost by reason ({currency})", "reason", "cost", currency
        )
    return found


def _layout(title: str, **extra: Any) -> dict[str, Any]:
    return {
        "title": {"text": label(title), "font": {"size": 15}},
        "margin": {"l": 60, "r": 20, "t": 50, "b": 60},
        "height": 340,
        "font": {"family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", "size": 12},
        "colorway": PALETTE,
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "legend": {"orientation": "h", "y": -0.2},
        **extra,
    }


def _daily(table: Table, currency: str, period: str) -> list[Chart]:
    rows = [r for r in table.rows if r["currency"] == currency]
    if not rows:
        return []
    series: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for r in rows:
        series[str(r["service_category"])][r["day"].isoformat()] = r["cost"]
    days = sorted({r["day"].isoformat() for r in rows})
    traces = [
        {"type": "bar", "name": label(name), "x": days, "y": [num(points.get(d)) for d in days], "width": DAY_WIDTH}
        for name, points in sorted(series.items())
    ]
    title = f"Daily cost by service category ({currency})"
    layout = _layout(title, barmode="stack", showlegend=True)
    layout["xaxis"] = {"type": "date", "tickformat": "%b %-d", "range": _month_range(period)}
    return [Chart("daily", title, {"data": traces, "layout": layout})]


def _month_range(period: str) -> list[str]:
    """The x range of a month of daily bars: half a day before the 1st to half a day after the last."""
    start, end = month_bounds(period)
    return [
        (start - timedelta(hours=12)).strftime("%Y-%m-%d %H:%M"),
        (end - timedelta(hours=12)).strftime("%Y-%m-%d %H:%M"),
    ]


def _bars(table: Table, section: str, title: str, name: str, value: str, currency: str) -> list[Chart]:
    rows = [r for r in table.rows if r.get("currency") == currency and r.get(value) is not None]
    if value.startswith("idle"):
        rows = [r for r in rows if r[value]]  # only what was idle
    if not rows:
        return []
    rows = rows[:15]
    names = [label(r.get(name) if r.get(name) is not None else r.get("sub_account_id")) for r in rows]
    trace = {
        "type": "bar",
        "orientation": "h",
        "y": names[::-1],
        "x": [num(r[value]) for r in rows][::-1],
        "marker": {"color": PALETTE[0]},
    }
    height = max(260, 60 + 26 * len(rows))
    layout = _layout(title, height=height, margin={"l": 220, "r": 20, "t": 50, "b": 40})
    layout["yaxis"] = {"automargin": True, "type": "category"}
    if is_share(value):
        layout["xaxis"] = {"tickformat": ".0%", "rangemode": "tozero"}
    return [Chart(section, title, {"data": [trace], "layout": layout})]


def _gpu_hours(table: Table, currency: str) -> list[Chart]:
    rows = [r for r in table.rows if r["currency"] == currency]
    if not rows:
        return []
    types = [label(r["instance_type"]) for r in rows]
    traces = [
        {"type": "bar", "name": "paid GPU-hours", "x": types, "y": [num(r["paid_gpu_hours"]) for r in rows]},
        {"type": "bar", "name": "sampled GPU-hours", "x": types, "y": [num(r["sampled_gpu_hours"]) for r in rows]},
        {"type": "bar", "name": "used GPU-hours", "x": types, "y": [num(r["used_gpu_hours"]) for r in rows]},
        {"type": "bar", "name": "idle GPU-hours", "x": types, "y": [num(r["idle_gpu_hours"]) for r in rows]},
    ]
    title = f"GPU-hours paid vs used by instance type ({currency})"
    layout = _layout(title, barmode="group")
    layout["xaxis"] = {"type": "category"}
    return [Chart("gpus", title, {"data": traces, "layout": layout})]
