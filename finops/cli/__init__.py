"""The `finops` command line: thin click commands over the library; only finops.cli imports click."""

from __future__ import annotations

import sys
from pathlib import Path

import click

import finops
from finops import config
from finops.cli.alert import alert
from finops.cli.aws import collect_aws_cur, collect_aws_instances, collect_sagemaker
from finops.cli.collect import collect
from finops.cli.common import FORMAT, OUTPUT, App, FinopsGroup, notice, pass_app, silence_stdout, writer
from finops.cli.doctor import doctor
from finops.cli.gcp import collect_gcp_billing, collect_gcp_machine_types, collect_gcp_prices
from finops.cli.query import query
from finops.cli.report import report
from finops.cli.rollups import deployments, runs
from finops.errors import FinopsError


@click.group(cls=FinopsGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="FINOPS_CONFIG",
    help="finops.toml to read (default ./finops.toml; env FINOPS_CONFIG).",
)
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    help="DuckDB store (overrides `database` in finops.toml and FINOPS_DB).",
)
@click.option("--debug", is_flag=True, help="Show the traceback of an error.")
@click.version_option(finops.__version__, prog_name="finops")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, db: Path | None, debug: bool) -> None:
    """What your ML cloud bill paid for: training runs, deployments, idle GPUs."""
    ctx.obj = App(config_path, db, debug)


@cli.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path), default=config.CONFIG_NAME)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(path: Path, force: bool) -> None:
    """Write a commented starter finops.toml."""
    written = config.write_starter(path, force)
    click.echo(f"wrote {written}")


for command in (
    collect_aws_cur,
    collect_aws_instances,
    collect_sagemaker,
    collect_gcp_billing,
    collect_gcp_prices,
    collect_gcp_machine_types,
):
    collect.add_command(command)
cli.add_command(collect)
cli.add_command(runs)
cli.add_command(deployments)
cli.add_command(alert)
cli.add_command(report)
cli.add_command(query)
cli.add_command(doctor)


STATUS_QUERIES = {
    "billing": "loads_by_billing_period",
    "workloads": "workloads_by_source",
    "telemetry": "gpu_samples_by_source",
    "unmatched": "unmatched_resources",
}


@cli.command()
@click.argument("what", type=click.Choice(list(STATUS_QUERIES)), default="billing")
@FORMAT
@OUTPUT
@click.option("--period", help="Only this billing month (YYYY-MM; billing only).")
@pass_app
def status(app: App, what: str, fmt: str | None, out: Path | None, period: str | None) -> None:
    """What is loaded: billing (default) per provider, period, source and currency; workloads; telemetry;
    or unmatched (workload and telemetry names that join to no ResourceId on the bill)."""
    from finops import bridge, output, queries, store
    from finops.periods import month_bounds

    query = queries.load(STATUS_QUERIES[what])
    if period:
        month_bounds(period)
        if "period" not in query.params:
            raise FinopsError(f"--period applies to `finops status billing`, not to `finops status {what}`")
    params = {"period": period} if "period" in query.params else {}
    con = store.connect(app.settings, read_only=True)
    try:
        bridge.overlay(con, app.settings.bridge)
        reader = con.sql(query.sql, params=params).to_arrow_reader()
        output.write(reader, output.choose_format(fmt, out, sys.stdout), out, sys.stdout)
        if what == "billing":
            unmatched = bridge.unmatched_count(con)
            if unmatched:
                notice(
                    f"{unmatched} host/instance name(s) in workload records join to no bill ResourceId; "
                    "see `finops status unmatched` and [bridge] in finops.toml"
                )
    finally:
        con.close()


@cli.command()
@click.option("--period", help="Billing month to attribute (YYYY-MM); default every month in the store.")
@FORMAT
@OUTPUT
@pass_app
def attribute(app: App, period: str | None, fmt: str | None, out: Path | None) -> None:
    """Allocate every line item of the period to runs, deployments, idle GPUs, shared or unattributed.

    Rules and their settings are in [attribution] of finops.toml. Re-running replaces the period's
    allocations in one transaction.
    """
    from finops import allocations
    from finops.cli.common import show_rows
    from finops.periods import month_bounds

    if period:
        month_bounds(period)
    con = writer(app)
    try:
        months = [period] if period else allocations.periods(con)
        if not months:
            raise FinopsError("the store has no billing rows; load some with `finops collect ...` first")
        results = [allocations.attribute_period(con, m, app.settings.attribution, notice=notice) for m in months]
    finally:
        con.close()
    show_rows(
        [{"period": r.period, "line_items": r.lines, "allocations": r.allocations, **r.by_bucket} for r in results],
        fmt,
        out,
    )


@cli.command()
@click.argument("query", required=False)
@click.option(
    "-f",
    "--file",
    "query_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read the SQL from a file ('-' reads stdin when QUERY is '-').",
)
@FORMAT
@OUTPUT
@pass_app
def sql(app: App, query: str | None, query_file: Path | None, fmt: str | None, out: Path | None) -> None:
    """Run ad-hoc SQL against the store, read-only (writes and file access are refused)."""
    from finops import adhoc, output, store

    if query_file is not None:
        query = query_file.read_text(encoding="utf-8")
    elif query == "-":
        query = sys.stdin.read()
    if not query or not query.strip():
        raise FinopsError("give the SQL as an argument, with -f FILE, or as '-' to read stdin")
    con = store.connect(app.settings, read_only=True, sandbox=True)
    try:
        reader = adhoc.run(con, query)
        output.write(reader, output.choose_format(fmt, out, sys.stdout), out, sys.stdout)
    finally:
        con.close()


@cli.group(cls=FinopsGroup)
def export() -> None:
    """Write the store's contents out in standard formats."""


@export.command("focus")
@click.option("--period", required=True, help="Billing month to export (YYYY-MM).")
@click.option(
    "-o",
    "--output",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="FILE.csv or FILE.parquet.",
)
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet"]), help="Default: from the file's suffix.")
@pass_app
def export_focus(app: App, period: str, out: Path, fmt: str | None) -> None:
    """Write one billing month as a FOCUS 1.2 Cost and Usage dataset."""
    from finops import export as export_module
    from finops import store

    con = store.connect(app.settings, read_only=True)
    try:
        rows = export_module.export_focus(con, period, out, fmt, sys.stdout)
    finally:
        con.close()
    click.echo(f"wrote {rows} rows of {period} to {out}", err=True)


# Each table keeps its currency column: a table prints money with it, as `finops status` does (output.table_cells).
DEMO_TOPS = (
    (
        "Top 5 training runs",
        "runs",
        [
            "run_id",
            "team",
            "status",
            "attempts",
            "currency",
            "cost",
            "waste_cost",
            "gpu_hours",
            "cost_per_gpu_hour",
            "idle_share",
        ],
    ),
    (
        "Top 5 deployments",
        "deployments",
        [
            "deployment_id",
            "team",
            "currency",
            "cost",
            "gpu_hours",
            "cost_per_gpu_hour",
            "requests",
            "cost_per_1k_requests",
        ],
    ),
    (
        "Idle GPU cost, top 5 resources",
        "idle",
        ["resource_id", "team", "currency", "idle_cost", "idle_gpu_hours", "idle_share"],
    ),
)


@cli.command()
@click.option("--rows", default=20_000, show_default=True, help="Billing rows to generate.")
@click.option("--seed", default=7, show_default=True, help="Random seed; the same seed gives the same files.")
@click.option("--month", default="2026-10", show_default=True, help="Billing month to generate (YYYY-MM).")
@click.option(
    "--out",
    "out_dir",
    default="demo-data",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for the generated files.",
)
@click.option(
    "--write-config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write a finops.toml for the demo store here, with budgets the demo month crosses.",
)
@FORMAT
@pass_app
def demo(app: App, rows: int, seed: int, month: str, out_dir: Path, write_config: Path | None, fmt: str | None) -> None:
    """Generate a month of billing, workload records and GPU telemetry for a synthetic ML organisation,
    load and attribute them, and show the status, the top runs and deployments, and idle GPU cost."""
    from finops import bridge, output, queries, rollups
    from finops.demo.load import load_demo
    from finops.periods import month_bounds

    month_bounds(month, "--month")
    con = writer(app)
    try:
        try:
            loaded = load_demo(con, out_dir, rows, seed, month, notice=notice, attribution=app.settings.attribution)
        except ValueError as exc:
            raise FinopsError(f"--rows/--month: {exc}") from None
        fmt = output.choose_format(fmt, None, sys.stdout)
        reader = con.sql(queries.load("loads_by_billing_period").sql, params={"period": month}).to_arrow_reader()
        output.write(reader, fmt, None, sys.stdout)
        for title, kind, columns in DEMO_TOPS:
            click.echo(f"\n{title} of {month} (EffectiveCost):")
            table = rollups.top(con, kind, month, limit=5).read_all().select(columns)
            output.write(table.to_reader(), fmt, None, sys.stdout)
        unmatched = bridge.unmatched_count(con)
    finally:
        con.close()
    w, t = loaded.workloads, loaded.telemetry
    click.echo(
        f"generated {rows} billing rows, {w.new + w.updated} workloads ({w.placements} placements) and "
        f"{t.samples} GPU samples from {t.hosts} hosts under {out_dir}/; store: {app.settings.database}",
        err=True,
    )
    if unmatched:
        notice(f"{unmatched} host name(s) join to no billed resource, on purpose: see `finops status unmatched`")
    if write_config is not None:
        import os

        from finops.demo.budgets import demo_config

        database = Path(os.path.relpath(app.settings.database.resolve(), write_config.resolve().parent))
        write_config.parent.mkdir(parents=True, exist_ok=True)
        write_config.write_text(demo_config(database), encoding="utf-8")
        click.echo(f"wrote {write_config} (budgets and an alert channel for the demo store)", err=True)


def main() -> None:
    """Entry point of the `finops` console script."""
    try:
        cli(prog_name="finops")
    finally:
        # Output still buffered when the command ends is flushed here, not at interpreter exit, where
        # a reader that left (`finops status | head -c 10`) would print an ignored BrokenPipeError.
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            silence_stdout()
