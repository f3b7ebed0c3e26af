"""The report as one self-contained HTML page: Jinja2 with autoescape, plotly.js inlined once, each
figure as JSON in its own <script type="application/json">, no network fetches."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from finops import output
from finops.report.charts import charts
from finops.report.data import SECTIONS, ReportData

# Columns each table shows on the page (JSON and CSV carry every column of the query).
COLUMNS = {
    "totals": ["currency", "cost", "previous_cost", "change", "change_pct", "line_items"],
    "services": ["provider", "service", "service_category", "cost", "line_items"],
    "teams": ["team", "workload_cost", "idle_cost", "shared_cost", "unattributed_cost", "total_cost"],
    "accounts": ["provider", "sub_account_id", "sub_account_name", "cost", "previous_cost"],
    "runs": [
        "run_id",
        "name",
        "team",
        "status",
        "attempts",
        "cost",
        "waste_cost",
        "gpu_hours",
        "cost_per_gpu_hour",
        "idle_share",
    ],
    "deployments": [
        "deployment_id",
        "name",
        "team",
        "cost",
        "gpu_hours",
        "cost_per_gpu_hour",
        "idle_share",
        "cost_per_1k_requests",
    ],
    "gpus": [
        "provider",
        "instance_type",
        "gpu_cost",
        "paid_gpu_hours",
        "used_gpu_hours",
        "used_share",
        "idle_gpu_hours",
        "idle_cost",
    ],
    "idle": ["resource_id", "team", "idle_cost", "idle_gpu_hours", "idle_share"],
    "utilization": ["commitment_id", "commitment_type", "used_cost", "unused_cost", "utilization", "savings"],
    "coverage": ["provider", "service", "usage_list_cost", "covered_list_cost", "coverage"],
    "unattributed": ["reason", "cost", "line_items", "resources", "share_of_total"],
    "freshness": ["record", "source", "last_loaded_at", "rows"],
}
BUDGET_COLUMNS = [
    "name",
    "currency",
    "basis",
    "amount",
    "actual",
    "actual_pct",
    "forecast",
    "forecast_pct",
    "crossed",
    "note",
]
ANOMALY_COLUMNS = ["scope", "day", "currency", "actual", "expected", "delta", "contributors"]


def cell(column: str, value: Any, row: dict[str, Any]) -> str:
    """One value as people read it: money in cents with its currency, ratios as %, instants in UTC."""
    currency = row.get("currency") or row.get("billing_currency")
    if value is None:
        return ""
    if isinstance(value, Decimal) and output.is_money(column):
        return output.money_text(value, str(currency) if currency else None)
    if isinstance(value, (Decimal, float)) and (output.is_share(column) or output.is_percent(column)):
        return output.share_text(value, output.is_percent(column))
    if isinstance(value, Decimal):
        return f"{value.quantize(Decimal('0.01')):,}" if value == 0 or abs(value) >= Decimal("0.01") else str(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def views(data: ReportData) -> list[dict[str, Any]]:
    """Each section's title and its shown rows as text cells."""
    shown = []
    for section in SECTIONS:
        if section.key == "daily":
            continue
        table = data.tables[section.key]
        columns = [c for c in COLUMNS.get(section.key, table.columns) if c in table.columns]
        if "currency" in table.columns and len(data.currencies()) > 1 and "currency" not in columns:
            columns.insert(1, "currency")
        shown.append(
            {
                "key": section.key,
                "title": section.title,
                "query": section.query,
                "columns": columns,
                "numeric": [numeric(table.rows, c) for c in columns],
                "rows": [[cell(c, r.get(c), r) for c in columns] for r in table.rows],
                "capped": table.capped,
            }
        )
    return shown


def numeric(rows: list[dict[str, Any]], column: str) -> bool:
    """Whether a column holds numbers (right-aligned on the page)."""
    return any(isinstance(r.get(column), (Decimal, int, float)) and not isinstance(r.get(column), bool) for r in rows)


def records(key: str, title: str, items: list[dict[str, Any]], columns: list[str]) -> dict[str, Any]:
    """Budget or anomaly rows as a view like the query sections'."""
    return {
        "key": key,
        "title": title,
        "query": "finops.alerts",
        "columns": columns,
        "numeric": [numeric(items, c) for c in columns],
        "rows": [[cell(c, i.get(c), i) for c in columns] for i in items],
        "capped": 0,
    }


def script_json(value: Any) -> str:
    """JSON safe inside an HTML <script> element: no '<', '>', '&' or line separators left to break out."""
    text = json.dumps(value, separators=(",", ":"), allow_nan=False)
    for raw, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, escaped)
    return text


def html_page(data: ReportData) -> str:
    """One self-contained page: styles, plotly.js (once), figures as JSON, no network fetches."""
    import jinja2
    from markupsafe import Markup
    from plotly.offline import get_plotlyjs

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("finops.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    figures = [
        {"id": f"chart-{i}", "section": c.section, "title": c.title, "json": Markup(script_json(c.figure))}
        for i, c in enumerate(charts(data))
    ]
    return env.get_template("report.html.j2").render(
        data=data,
        views=views(data),
        figures=figures,
        budgets=records("budgets", "Budgets and forecast", data.budgets, BUDGET_COLUMNS),
        anomalies=records("anomalies", "Anomalies of the month", data.anomalies, ANOMALY_COLUMNS),
        headline=headline(data),
        plotly_js=Markup(get_plotlyjs().replace("</script", "<\\/script")),
        style=Markup(env.loader.get_source(env, "report.css")[0]) if env.loader else "",
    )


def headline(data: ReportData) -> list[dict[str, str]]:
    """The big numbers: each currency's total and its change against the previous month."""
    cards = []
    for row in data.tables["totals"].rows:
        if not row["line_items"]:
            continue
        change = row["change"]
        cards.append(
            {
                "currency": row["currency"],
                "total": output.money_text(row["cost"], row["currency"]),
                "change": "no previous month loaded" if change is None else change_text(row),
                "direction": "none" if change is None else ("up" if change > 0 else "down"),
            }
        )
    return cards


def change_text(row: dict[str, Any]) -> str:
    """ "+1,234.50 USD (+12.3 %) vs previous month", with a real minus sign when spend went down."""
    sign = "+" if row["change"] >= 0 else "−"
    text = f"{sign}{output.money_text(abs(row['change']), row['currency'])}"
    if row["change_pct"] is not None:
        text += f" ({sign}{output.share_text(abs(row['change_pct']), percent=True)})"
    return text + " vs previous month"
