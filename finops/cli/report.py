"""`finops report`: the monthly cost report as one self-contained HTML file (or Markdown, CSV, JSON)."""

from __future__ import annotations

from pathlib import Path

import click

from finops.cli.common import App, pass_app


@click.command()
@click.option("--period", required=True, help="Billing month to report (YYYY-MM).")
@click.option(
    "-o",
    "--output",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write (default reports/finops-YYYY-MM.html, or .md/.csv/.json for --format).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "md", "csv", "json"]),
    help="Default: from -o's suffix, else html.",
)
@click.option(
    "--basis",
    type=click.Choice(["effective", "billed", "list"]),
    default="effective",
    show_default=True,
    help="Cost basis: effective (amortized commitments), billed (invoice) or list (on-demand).",
)
@pass_app
def report(app: App, period: str, out: Path | None, fmt: str | None, basis: str) -> None:
    """Write the monthly cost report: totals, budgets, daily spend, teams, runs, GPUs, commitments."""
    from finops import report as report_module
    from finops import store

    con = store.connect(app.settings, read_only=True)
    try:
        written = report_module.build(con, app.settings, period, out, fmt, basis)
    finally:
        con.close()
    click.echo(str(written))
