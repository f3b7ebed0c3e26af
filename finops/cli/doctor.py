"""`finops doctor`: the store's integrity, data freshness and unmatched workloads, for people and cron."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from finops.cli.common import FORMAT, OUTPUT, App, pass_app, show_rows


@click.command()
@click.option(
    "--stale-days",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="A billing source not collected for this many days is a problem.",
)
@FORMAT
@OUTPUT
@pass_app
def doctor(app: App, stale_days: int, fmt: str | None, out: Path | None) -> None:
    """Check the store (schema, batch bookkeeping vs line items, allocations), freshness and config.

    Exit code 0 when nothing is a problem (warnings allowed), 1 when something is, 2 on error.
    """
    from finops import doctor, store

    settings = app.settings
    con = store.connect(settings, read_only=True)
    try:
        findings = doctor.examine(con, settings, datetime.now(UTC), stale_days)
    finally:
        con.close()
    show_rows([{"check": f.check, "level": f.level, "detail": f.detail} for f in findings], fmt, out)
    problems = sum(f.level == "problem" for f in findings)
    if problems:
        click.echo(f"{problems} problem(s) found", err=True)
        click.get_current_context().exit(1)
