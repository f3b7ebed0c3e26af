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
    from finops import store
    from finops.collect import focus

    fill = {}
    for item in fills:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise FinopsError(f"--fill {item!r}: write it as COLUMN=VALUE, e.g. --fill BillingCurrency=USD")
        fill[name.strip()] = value
    con = store.connect(app.settings)
    try:
        _progress(f"loading {len(paths)} path(s) into {app.settings.database}")
        report = focus.collect(con, paths, fill, notice=_notice)
    finally:
        con.close()
    _show_load(report, fmt, out)


def _show_load(report: Any, fmt: str | None, out: Path | None) -> None:
    import pyarrow as pa

    from finops import ingest, output

    rows = list(ingest.iter_scopes(report))
    table = pa.Table.from_pylist(rows) if rows else pa.table({"action": pa.array([], pa.string())})
    output.write(table.to_reader(), output.choose_format(fmt, out, sys.stdout), out, sys.stdout)


@cli.command()
@FORMAT
@OUTPUT
@click.option("--period", help="Only this billing month (YYYY-MM).")
@pass_app
def status(app: App, fmt: str | None, out: Path | None, period: str | None) -> None:
    """What is loaded: rows and costs per provider, billing period, source and currency."""
    from finops import output, queries, store
    from finops.export import month_bounds

    if period:
        month_bounds(period)
    con = store.connect(app.settings, read_only=True)
    try:
        reader = con.sql(queries.load("loads_by_billing_period").sql, params={"period": period}).to_arrow_reader()
        output.write(reader, output.choose_format(fmt, out, sys.stdout), out, sys.stdout)
    finally:
        con.close()


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
    """Generate a month of FOCUS billing for a synthetic ML organisation, load it, and show the status."""
    from finops import demo as demo_module
    from finops import output, queries, store
    from finops.collect import focus
    from finops.export import month_bounds

    month_bounds(month, "--month")
    try:
        files = demo_module.generate(out_dir, rows=rows, seed=seed, month=month)
    except ValueError as exc:
        raise FinopsError(f"--rows/--month: {exc}") from None
    click.echo(f"generated {rows} billing rows in {len(files)} files under {out_dir}/", err=True)
    con = store.connect(app.settings)
    try:
        focus.collect(con, [str(f) for f in files], notice=_notice)
        reader = con.sql(queries.load("loads_by_billing_period").sql, params={"period": month}).to_arrow_reader()
        output.write(reader, output.choose_format(fmt, None, sys.stdout), None, sys.stdout)
    finally:
        con.close()
    click.echo(f"store: {app.settings.database}", err=True)


def main() -> None:
    """Entry point of the `finops` console script."""
    cli(prog_name="finops")
