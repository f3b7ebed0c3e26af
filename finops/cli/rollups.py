"""`finops runs` and `finops deployments`: the costliest attributed training runs and deployments."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from finops.cli.common import FORMAT, OUTPUT, App, pass_app

PERIOD = click.option("--period", help="Only this billing month (YYYY-MM; default: every attributed month).")
BASIS = click.option(
    "--basis",
    type=click.Choice(["effective", "billed", "list"]),
    default="effective",
    show_default=True,
    help="Cost basis: EffectiveCost (amortized commitments), BilledCost or ListCost.",
)
TOP = click.option("--top", default=20, show_default=True, help="How many to list per currency.")


@click.command()
@PERIOD
@BASIS
@TOP
@FORMAT
@OUTPUT
@pass_app
def runs(app: App, period: str | None, basis: str, top: int, fmt: str | None, out: Path | None) -> None:
    """The costliest training runs, retries rolled into their first attempt: cost, waste (attempts that
    failed, were preempted or cancelled), GPU-hours, cost per GPU-hour, idle share and status."""
    _show(app, "runs", period, basis, top, fmt, out)


@click.command()
@PERIOD
@BASIS
@TOP
@FORMAT
@OUTPUT
@pass_app
def deployments(app: App, period: str | None, basis: str, top: int, fmt: str | None, out: Path | None) -> None:
    """The costliest deployments: cost, GPU-hours, cost per GPU-hour, idle share, requests and cost per
    1,000 requests."""
    _show(app, "deployments", period, basis, top, fmt, out)


def _show(app: App, kind: str, period: str | None, basis: str, top: int, fmt: str | None, out: Path | None) -> None:
    from finops import output, rollups, store

    con = store.connect(app.settings, read_only=True)
    try:
        reader = rollups.top(con, kind, period, basis, top)
        output.write(reader, output.choose_format(fmt, out, sys.stdout), out, sys.stdout)
    finally:
        con.close()
