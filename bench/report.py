"""Monthly report time and size on a generated month (a benchmark, not a test).

    python -m bench.report [--rows 1000000] [--store existing.duckdb] [--json out.json]

Generates the demo month at --rows line items into a temporary store (or reads --store, whose
latest billing month is reported), then times gathering every named query of the report and rendering
the HTML, and reports the page's size: the data is aggregated in SQL, so the page stays the size of
plotly.js plus a few kB whatever the number of line items.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

from finops import alerts, config, store
from finops.demo.load import load_demo
from finops.report import gather, render

MONTH = "2026-10"


def measure(settings: config.Settings, period: str) -> dict[str, object]:
    """Seconds to gather and to render the report of `period`, and the HTML's bytes."""
    con = store.connect(settings, read_only=True)
    try:
        started = time.perf_counter()
        data = gather(con, settings, period)
        gathered = time.perf_counter() - started
        page = render(data, "html")
        rendered = time.perf_counter() - started - gathered
        started = time.perf_counter()
        alerts.evaluate(con, settings, period)  # the budget and anomaly part of gathering, timed alone
        evaluated = time.perf_counter() - started
        lines = con.execute("SELECT count(*) FROM cost_line_items").fetchall()[0][0]
    finally:
        con.close()
    return {
        "line_items": lines,
        "gather_seconds": round(gathered, 3),
        "of_which_budgets_and_anomalies_seconds": round(evaluated, 3),
        "render_seconds": round(rendered, 3),
        "html_bytes": len(page.encode()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--store", type=Path, help="Report on this store instead of generating one.")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.store:
        settings = config.Settings(database=args.store)
        con = store.connect(settings, read_only=True)
        period = con.execute("SELECT strftime(max(BillingPeriodStart), '%Y-%m') FROM cost_line_items").fetchall()[0][0]
        con.close()
        result = measure(settings, period)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            settings = config.Settings(database=Path(tmp) / "bench.duckdb")
            con = store.connect(settings)
            load_demo(con, Path(tmp) / "data", args.rows, 7, MONTH)
            con.close()
            result = measure(settings, MONTH)
    result["machine"] = f"{platform.machine()} python {platform.python_version()}"
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
