"""The report's data as Markdown (the page's tables), CSV (one tidy table) and JSON (exact decimals)."""

from __future__ import annotations

import csv
import io

from finops import output
from finops.report.data import SECTIONS, ReportData
from finops.report.page import ANOMALY_COLUMNS, BUDGET_COLUMNS, cell, headline, records, views


def markdown(data: ReportData) -> str:
    """The report's tables as GitHub-flavoured Markdown (pipes and line breaks in values escaped)."""

    def esc(text: str) -> str:
        return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")

    lines = [
        f"# FinOps report {data.period}",
        "",
        f"Cost basis: {data.basis}. Generated {cell('', data.generated_at, {})} by finops {data.version}.",
        "",
    ]
    for card in headline(data):
        lines.append(f"- **{card['total']}** ({card['change']})")
    lines.append("")
    blocks = [
        ("budgets", "Budgets and forecast", records("budgets", "", data.budgets, BUDGET_COLUMNS)),
        ("anomalies", "Anomalies of the month", records("anomalies", "", data.anomalies, ANOMALY_COLUMNS)),
    ]
    shown = views(data)
    for key, title, view in (
        [(v["key"], v["title"], v) for v in shown[:1]] + blocks + [(v["key"], v["title"], v) for v in shown[1:]]
    ):
        lines += [f"## {title}", ""]
        if not view["rows"]:
            lines += [data.budgets_note if key == "budgets" and data.budgets_note else "No rows.", ""]
            continue
        lines.append("| " + " | ".join(esc(c) for c in view["columns"]) + " |")
        lines.append("|" + "|".join("---" for _ in view["columns"]) + "|")
        lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in view["rows"]]
        lines.append("")
    return "\n".join(lines)


def csv_text(data: ReportData) -> str:
    """Every section in one tidy CSV: section, query, row, column, value (exact values)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["section", "query", "row", "column", "value"])
    for section in SECTIONS:
        table = data.tables[section.key]
        for i, row in enumerate(table.rows):
            for column in table.columns:
                writer.writerow([section.key, section.query, i, column, output.csv_cell(row.get(column))])
    for key, items in (("budgets", data.budgets), ("anomalies", data.anomalies)):
        for i, item in enumerate(items):
            for column, value in item.items():
                writer.writerow([key, "finops.alerts", i, column, output.csv_cell(value)])
    return buffer.getvalue()


def json_text(data: ReportData) -> str:
    """The report's data as JSON, decimals as exact numbers."""
    sections = {
        s.key: {
            "title": s.title,
            "query": s.query,
            "rows": data.tables[s.key].rows,
            "other_rows": data.tables[s.key].capped,
        }
        for s in SECTIONS
    }
    document = {
        "period": data.period,
        "basis": data.basis,
        "generated_at": data.generated_at,
        "finops_version": data.version,
        "notes": data.notes,
        "sections": sections,
        "budgets": data.budgets,
        "anomalies": data.anomalies,
    }
    return output.json_value(document) + "\n"
