"""The `finops` command line: thin click commands over the library; the only module importing click."""

from __future__ import annotations

import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

import finops
from finops import config
from finops.errors import FinopsError


@dataclass
class App:
    """What every command gets: the global options, and settings read once on first use."""

    config_path: Path | None
    db: Path | None
    debug: bool
    _settings: config.Settings | None = None

    @property
    def settings(self) -> config.Settings:
        if self._settings is None:
            self._settings = config.load(self.config_path, {"database": self.db})
        return self._settings


class FinopsGroup(click.Group):
    """A group that turns library errors into one `Error: …` line on stderr and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except FinopsError as exc:
            _fail(ctx, exc, str(exc))
        except KeyboardInterrupt:
            click.echo("Error: interrupted; the store is unchanged by the interrupted command", err=True)
            ctx.exit(130)
        except Exception as exc:
            _fail(ctx, exc, f"unexpected {type(exc).__name__}: {exc} (run with --debug for the traceback)")


def _fail(ctx: click.Context, exc: BaseException, message: str) -> None:
    app = ctx.find_object(App)
    if app is not None and app.debug:
        traceback.print_exception(exc)
    click.echo("Error: " + " ".join(message.split()), err=True)
    ctx.exit(2)


def _notice(message: str) -> None:
    click.echo("notice: " + message, err=True)


def _progress(message: str) -> None:
    if sys.stderr.isatty():
        click.echo(message, err=True)


pass_app = click.make_pass_decorator(App)
FORMAT = click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json", "parquet"]),
    help="Output format (default: table on a terminal, CSV otherwise, or from -o's suffix).",
)
OUTPUT = click.option(
    "-o",
    "--output",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file (atomically) instead of stdout.",
)


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


@cli.group(cls=FinopsGroup)
def collect() -> None:
    """Load billing exports, telemetry and workload records into the store."""


@collect.command("focus")
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--fill",
    "fills",
    multiple=True,
    metavar="COLUMN=VALUE",
    help="Constant for a FOCUS column the files lack (e.g. BillingCurrency=USD); repeatable.",
)
@FORMAT
@OUTPUT
@pass_app
def collect_focus(app: App, paths: tuple[str, ...], fills: tuple[str, ...], fmt: str | None, out: Path | None) -> None:
    """Load FOCUS 1.0-1.4 exports (CSV, CSV.gz, Parquet; files, directories or globs).

    Each (billing account, billing period) in the files replaces what the store held for it, in one
    transaction; loading the same files again changes nothing.
    """
    from finops.collect import focus

    fill = {}
    for item in fills:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise FinopsError(f"--fill {item!r}: write it as COLUMN=VALUE, e.g. --fill BillingCurrency=USD")
        fill[name.strip()] = value
    con = _writer(app)
    try:
        _progress(f"loading {len(paths)} path(s) into {app.settings.database}")
        report = focus.collect(con, paths, fill, notice=_notice)
    finally:
        con.close()
    _show_load(report, fmt, out)


def _writer(app: App) -> Any:
    """A read-write store connection, with the [bridge] settings copied in."""
    from finops import bridge, store

    con = store.connect(app.settings)
    try:
        bridge.sync(con, app.settings.bridge)
    except BaseException:
        con.close()
        raise
    return con


def _show_rows(rows: list[dict[str, Any]], fmt: str | None, out: Path | None) -> None:
    import pyarrow as pa

    from finops import output

    table = pa.Table.from_pylist(rows) if rows else pa.table({"action": pa.array([], pa.string())})
    output.write(table.to_reader(), output.choose_format(fmt, out, sys.stdout), out, sys.stdout)


def _show_load(report: Any, fmt: str | None, out: Path | None) -> None:
    from finops import ingest

    _show_rows(list(ingest.iter_scopes(report)), fmt, out)


TIMEZONE = click.option(
    "--timezone", help="IANA zone of the file's local times, e.g. Europe/Berlin (default: [collect] timezone)."
)


@collect.command("workloads")
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False))
@TIMEZONE
@click.option("--source", default="manifest", show_default=True, help="Name under which these workloads are kept.")
@FORMAT
@OUTPUT
@pass_app
def collect_workloads(
    app: App, paths: tuple[str, ...], timezone: str | None, source: str, fmt: str | None, out: Path | None
) -> None:
    """Load a workload manifest (CSV or JSON): runs, deployments, batch jobs and notebooks.

    CSV: one row per placement with columns workload_id, kind (training|deployment|batch|notebook), name,
    team, project, owner, status, start, end, request_count, resource_id, gpus, gpu_uuids (;-separated),
    placement_start, placement_end; other columns become attributes. JSON: a list of objects with the same
    keys and optional "placements" [{resource_id, gpus, gpu_uuids, start, end}] and "attributes" {}.
    Collecting a workload again updates it in place.
    """
    from finops.collect import manifest

    con = _writer(app)
    try:
        report = manifest.collect(con, paths, timezone or app.settings.collect.timezone, source, notice=_notice)
    finally:
        con.close()
    _show_rows([report.as_row()], fmt, out)


@collect.command("dcgm")
@click.argument("paths", nargs=-1)
@click.option("--prometheus", metavar="URL", help="Prometheus server to query (token: FINOPS_PROMETHEUS_TOKEN).")
@click.option("--start", help="Window start for --prometheus (ISO 8601; no zone means UTC).")
@click.option("--end", help="Window end (exclusive; default now).")
@click.option("--period", help="Window = this calendar month (YYYY-MM), instead of --start/--end.")
@click.option("--step", default=60, show_default=True, help="Seconds between samples.")
@click.option(
    "--source",
    default="dcgm",
    show_default=True,
    help="Name of this telemetry stream; give each Prometheus server (cluster) its own.",
)
@FORMAT
@OUTPUT
@pass_app
def collect_dcgm(
    app: App,
    paths: tuple[str, ...],
    prometheus: str | None,
    start: str | None,
    end: str | None,
    period: str | None,
    step: int,
    source: str,
    fmt: str | None,
    out: Path | None,
) -> None:
    """GPU utilisation, memory and power from the DCGM exporter: a Prometheus server's range queries
    (--prometheus URL with a window), or saved scrape files / query_range JSON (PATHS)."""
    import os

    from finops.collect import dcgm

    if bool(prometheus) == bool(paths):
        raise FinopsError("give either --prometheus URL (with --start/--end or --period) or saved files, not both")
    window = _window(start, end, period) if prometheus else None
    con = _writer(app)
    try:
        report = dcgm.collect(
            con,
            prometheus=prometheus,
            paths=paths,
            start=window[0] if window else None,
            end=window[1] if window else None,
            step=step,
            token=os.environ.get("FINOPS_PROMETHEUS_TOKEN"),
            source=source,
            notice=_notice,
        )
    finally:
        con.close()
    _show_rows([report.as_row()], fmt, out)


@collect.command("nvidia-smi")
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False))
@TIMEZONE
@click.option("--host", help="Host the logs come from (default: the file name without its suffix).")
@FORMAT
@OUTPUT
@pass_app
def collect_nvidia_smi(
    app: App, paths: tuple[str, ...], timezone: str | None, host: str | None, fmt: str | None, out: Path | None
) -> None:
    """Per-GPU samples from `nvidia-smi --query-gpu=... --format=csv` logs (local times need --timezone)."""
    from finops.collect import nvidia_smi

    con = _writer(app)
    try:
        report = nvidia_smi.collect(con, paths, timezone or app.settings.collect.timezone, host, notice=_notice)
    finally:
        con.close()
    _show_rows([report.as_row()], fmt, out)


@collect.command("slurm")
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False))
@TIMEZONE
@click.option("--cluster", help="Cluster name, kept with each job (and in its workload id).")
@FORMAT
@OUTPUT
@pass_app
def collect_slurm(
    app: App, paths: tuple[str, ...], timezone: str | None, cluster: str | None, fmt: str | None, out: Path | None
) -> None:
    """Jobs from `sacct --parsable2` output: start/end, nodes, GPUs (AllocTRES), account as team, user as owner."""
    from finops.collect import slurm

    con = _writer(app)
    try:
        report = slurm.collect(con, paths, timezone or app.settings.collect.timezone, cluster, notice=_notice)
    finally:
        con.close()
    _show_rows([report.as_row()], fmt, out)


@collect.command("mlflow")
@click.option("--tracking-uri", help="MLflow server (http://…); token or user/password from MLFLOW_TRACKING_* env.")
@click.option("--path", "store_path", type=click.Path(file_okay=False), help="A local mlruns/ file store instead.")
@click.option("--experiment", "experiments", multiple=True, help="Experiment id or name (repeatable; default all).")
@FORMAT
@OUTPUT
@pass_app
def collect_mlflow(
    app: App,
    tracking_uri: str | None,
    store_path: str | None,
    experiments: tuple[str, ...],
    fmt: str | None,
    out: Path | None,
) -> None:
    """Runs from MLflow (REST API or mlruns/): id, experiment, name, status, start/end, tags, GPU system metrics.

    Which tags name the team, owner, host or cloud resource is set in [collect.mlflow] of finops.toml.
    """
    import os

    from finops.collect import mlflow

    if bool(tracking_uri) == bool(store_path):
        raise FinopsError("give either --tracking-uri URL or --path mlruns/, not both")
    con = _writer(app)
    try:
        report = mlflow.collect(
            con,
            tracking_uri=tracking_uri,
            path=store_path,
            experiments=experiments,
            settings=app.settings.collect.mlflow,
            token=os.environ.get("MLFLOW_TRACKING_TOKEN"),
            username=os.environ.get("MLFLOW_TRACKING_USERNAME"),
            password=os.environ.get("MLFLOW_TRACKING_PASSWORD"),
            notice=_notice,
        )
    finally:
        con.close()
    _show_rows([report.as_row()], fmt, out)


def _window(start: str | None, end: str | None, period: str | None) -> tuple[Any, Any]:
    """[start, end) in UTC from --period, or --start/--end (naive means UTC; end defaults to now)."""
    from datetime import UTC, datetime

    from finops.collect import times
    from finops.export import month_bounds

    if period:
        if start or end:
            raise FinopsError("give --period or --start/--end, not both")
        return month_bounds(period)
    if not start:
        raise FinopsError("--prometheus needs a window: --start (and --end) or --period YYYY-MM")
    begin = times.instant(start, "--start", UTC)
    finish = times.instant(end, "--end", UTC) if end else datetime.now(UTC)
    if finish <= begin:
        raise FinopsError(f"--end {finish:%Y-%m-%dT%H:%M:%SZ} is not after --start {begin:%Y-%m-%dT%H:%M:%SZ}")
    return begin, finish


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
    from finops import output, queries, store
    from finops.export import month_bounds

    if period:
        month_bounds(period)
    query = queries.load(STATUS_QUERIES[what])
    params = {"period": period} if "period" in query.params else {}
    con = store.connect(app.settings, read_only=True)
    try:
        reader = con.sql(query.sql, params=params).to_arrow_reader()
        output.write(reader, output.choose_format(fmt, out, sys.stdout), out, sys.stdout)
        if what == "billing":
            unmatched = store_count(con, UNMATCHED_NAMES.format(query_text("unmatched_resources")))
            if unmatched:
                _notice(
                    f"{unmatched} host/instance name(s) in workload records join to no bill ResourceId; "
                    "see `finops status unmatched` and [bridge] in finops.toml"
                )
    finally:
        con.close()


def query_text(name: str) -> str:
    """A named query's SQL without its trailing semicolon, for use as a subquery."""
    from finops import queries

    return queries.load(name).sql.strip().rstrip(";")


UNMATCHED_NAMES = "SELECT count(DISTINCT lower(name)) FROM ({})"


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
@FORMAT
@pass_app
def demo(app: App, rows: int, seed: int, month: str, out_dir: Path, fmt: str | None) -> None:
    """Generate a month of billing, workload records and GPU telemetry for a synthetic ML organisation,
    load them, and show the status."""
    from finops import output, queries
    from finops.demo.load import load_demo
    from finops.export import month_bounds

    month_bounds(month, "--month")
    con = _writer(app)
    try:
        try:
            loaded = load_demo(con, out_dir, rows, seed, month, notice=_notice)
        except ValueError as exc:
            raise FinopsError(f"--rows/--month: {exc}") from None
        reader = con.sql(queries.load("loads_by_billing_period").sql, params={"period": month}).to_arrow_reader()
        output.write(reader, output.choose_format(fmt, None, sys.stdout), None, sys.stdout)
        unmatched = store_count(con, UNMATCHED_NAMES.format(query_text("unmatched_resources")))
    finally:
        con.close()
    w, t = loaded.workloads, loaded.telemetry
    click.echo(
        f"generated {rows} billing rows, {w.new + w.updated} workloads ({w.placements} placements) and "
        f"{t.samples} GPU samples from {t.hosts} hosts under {out_dir}/; store: {app.settings.database}",
        err=True,
    )
    if unmatched:
        _notice(f"{unmatched} host name(s) join to no billed resource, on purpose: see `finops status unmatched`")


def store_count(con: Any, sql: str) -> int:
    """The single number a counting query returns."""
    from finops import store

    row = store.fetch_one(con, sql)
    return int(row[0]) if row else 0


def main() -> None:
    """Entry point of the `finops` console script."""
    cli(prog_name="finops")
