"""What every command shares: the App context, error handling, output options, the store writer."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

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
        except BrokenPipeError:  # `finops sql … | head`: the reader left early; that is not an error
            silence_stdout()
            ctx.exit(0)
        except Exception as exc:
            _fail(ctx, exc, f"unexpected {type(exc).__name__}: {exc} (run with --debug for the traceback)")


def _fail(ctx: click.Context, exc: BaseException, message: str) -> None:
    app = ctx.find_object(App)
    if app is not None and app.debug:
        traceback.print_exception(exc)
    click.echo("Error: " + " ".join(message.split()), err=True)
    ctx.exit(2)


def silence_stdout() -> None:
    """Point stdout at the null device once its reader has left, so the flush at exit cannot fail."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def notice(message: str) -> None:
    click.echo("notice: " + message, err=True)


def progress(message: str) -> None:
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


def writer(app: App) -> Any:
    """A read-write store connection, with the [bridge] settings copied in."""
    from finops import bridge, store

    con = store.connect(app.settings)
    try:
        bridge.sync(con, app.settings.bridge)
    except BaseException:
        con.close()
        raise
    return con


def run_collector(
    app: App, fmt: str | None, out: Path | None, work: Callable[[Any], Any], billing: bool = False
) -> None:
    """Run one collector on a writer connection and show its report: a billing load's scopes, else one row."""
    con = writer(app)
    try:
        report = work(con)
    finally:
        con.close()
    if billing:
        show_load(report, fmt, out)
    else:
        show_rows([report.as_row()], fmt, out)


def key_values(items: tuple[str, ...], flag: str, how: str) -> dict[str, str]:
    """KEY=VALUE options (repeatable) as a dict; a malformed one is a one-line error naming the flag."""
    found: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise FinopsError(f"{flag} {item!r}: {how}")
        found[key.strip()] = value
    return found


def show_rows(rows: list[dict[str, Any]], fmt: str | None, out: Path | None) -> None:
    import pyarrow as pa

    from finops import output

    table = pa.Table.from_pylist(rows) if rows else pa.table({"action": pa.array([], pa.string())})
    output.write(table.to_reader(), output.choose_format(fmt, out, sys.stdout), out, sys.stdout)


def show_load(report: Any, fmt: str | None, out: Path | None) -> None:
    from finops import ingest

    show_rows(list(ingest.iter_scopes(report)), fmt, out)
