"""`finops query list|run`: the named query library from the command line."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from finops.cli.common import FORMAT, OUTPUT, App, FinopsGroup, key_values, pass_app


@click.group(cls=FinopsGroup)
def query() -> None:
    """Named queries: the built-in library in queries/ plus the folders of [queries] paths."""


@query.command("list")
@FORMAT
@OUTPUT
@pass_app
def list_queries(app: App, fmt: str | None, out: Path | None) -> None:
    """Show every named query: name, description and parameters."""
    from finops import queries
    from finops.cli.common import show_rows

    rows = [
        {
            "name": q.name,
            "description": q.description,
            "params": ", ".join(q.params),
            "path": str(q.path),
        }
        for q in queries.library(app.settings).values()
    ]
    show_rows(rows, fmt, out)


@query.command("run")
@click.argument("name")
@click.option(
    "-p",
    "--param",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="A parameter of the query (repeatable); parameters not given are NULL.",
)
@FORMAT
@OUTPUT
@pass_app
def run_query(app: App, name: str, params: tuple[str, ...], fmt: str | None, out: Path | None) -> None:
    """Run the named query NAME against the store, read-only, with its parameters bound."""
    from finops import output, queries, store

    given = key_values(params, "-p", "give a parameter as KEY=VALUE, e.g. -p period=2026-10")
    named = queries.load(name, app.settings)
    queries.bind(named, given)  # refuse unknown parameters before opening the store
    con = store.connect(app.settings, read_only=True)
    try:
        reader = queries.run(con, named, given)
        output.write(reader, output.choose_format(fmt, out, sys.stdout), out, sys.stdout)
    finally:
        con.close()
