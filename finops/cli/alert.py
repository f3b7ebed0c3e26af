"""`finops alert`: the budget and anomaly cron job; its exit code is the contract with cron."""

from __future__ import annotations

import os
import sys
from datetime import datetime

import click

from finops.cli.common import App, notice, pass_app
from finops.errors import FinopsError


@click.command()
@click.option("--period", help="Billing month to evaluate (YYYY-MM); default: the latest month in the store.")
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Evaluate as the store stood on this day (YYYY-MM-DD, UTC); default today.",
)
@click.option("--dry-run", is_flag=True, help="Show what would be sent; send nothing and record nothing.")
@click.option(
    "--channel",
    help="Send through this [[notify]] channel only; the other channels' messages stay pending for the next run.",
)
@pass_app
@click.pass_context
def alert(
    ctx: click.Context, app: App, period: str | None, as_of: datetime | None, dry_run: bool, channel: str | None
) -> None:
    """Check [[budgets]] (actual and forecast thresholds) and daily spend anomalies; send each new alert once.

    Exit code 0: nothing new; 1: an alert fired, resolved or was delivered; 2: an error (a channel that
    failed keeps its message pending and the next run retries it).
    """
    from finops import alert_state
    from finops.notify import text
    from finops.periods import month_bounds

    if period:
        month_bounds(period)
    day = as_of.date() if as_of else None
    outcome = alert_state.run(app.settings, period, day, dry_run, channel, os.environ, sys.stdout)
    if dry_run:
        for change in outcome.changes:
            click.echo(f"would send to {', '.join(change.channels)}:")
            click.echo("\n".join(text.lines(change.message)))
    for name in outcome.stranded:
        notice(f"messages for channel {name!r} stay pending: it is not in [[notify]] (or not chosen with --channel)")
    for failure in outcome.failures:
        notice(failure)
    if outcome.failures:
        raise FinopsError(
            f"{len(outcome.failures)} channel(s) failed; their messages stay pending "
            "and the next `finops alert` retries them"
        )
    if not outcome.changes and not outcome.sent:
        notice("nothing new: no threshold crossed or resolved, no new anomaly")
        return
    if not dry_run:
        notice(f"{len(outcome.changes)} alert(s) changed state, {outcome.sent} message(s) delivered")
    ctx.exit(1)
