"""The named query library: one query per .sql file in queries/, with a description and params header.

Built-in queries ship with finops; `[queries] paths` in finops.toml adds folders of the user's own,
and a user query with the same name as a built-in one replaces it (later folders win over earlier).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from finops.errors import QueryError

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from finops.config import Settings

_PACKAGED = Path(__file__).parent / "queries"  # inside an installed wheel
_SOURCE_TREE = Path(__file__).parent.parent / "queries"  # in a checkout (editable install)
_PARAM = re.compile(r"^--\s*param\s+([a-z_][a-z0-9_]*)\s*:\s*(.*)$")
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class Query:
    """A named query: its SQL and what its header says."""

    name: str
    description: str
    params: dict[str, str]
    sql: str
    path: Path


def directory() -> Path:
    """Where the shipped queries are."""
    return _PACKAGED if _PACKAGED.is_dir() else _SOURCE_TREE


def folders(settings: Settings | None = None) -> list[Path]:
    """The built-in folder, then each `[queries] paths` folder (relative to finops.toml)."""
    found = [directory()]
    if settings is None:
        return found
    base = settings.config_path.parent if settings.config_path is not None else Path.cwd()
    for entry in settings.queries.paths:
        folder = Path(entry).expanduser()
        folder = folder if folder.is_absolute() else base / folder
        if not folder.is_dir():
            raise QueryError(f"[queries] paths: {folder} is not a folder; fix the entry {entry!r} in finops.toml")
        found.append(folder)
    return found


def library(settings: Settings | None = None) -> dict[str, Query]:
    """Every named query by name; a user folder's query replaces a built-in one of the same name."""
    paths: dict[str, Path] = {}
    for folder in folders(settings):
        for path in sorted(folder.glob("*.sql")):
            paths[path.stem] = path
    return {name: parse(paths[name]) for name in sorted(paths)}


def load(name: str, settings: Settings | None = None) -> Query:
    """Read the query called `name` (the file stem), the user's own first."""
    if not _NAME.match(name):
        raise QueryError(f"no query named {name!r}: a query name is a file stem such as cost_by_team")
    for folder in reversed(folders(settings)):
        path = folder / f"{name}.sql"
        if path.is_file():
            return parse(path)
    raise QueryError(f"no query named {name!r} in {directory()}; `finops query list` shows them")


def parse(path: Path) -> Query:
    """A query file: `-- description: …` and `-- param NAME: …` lines, then the SQL."""
    sql = path.read_text(encoding="utf-8")
    description = ""
    params: dict[str, str] = {}
    for line in sql.splitlines():
        if not line.startswith("--"):
            break
        if match := _PARAM.match(line):
            params[match.group(1)] = match.group(2).strip()
        elif line.lower().startswith("-- description:"):
            description = line.split(":", 1)[1].strip()
    if not description:
        raise QueryError(f"{path}: the header needs a `-- description: …` line")
    return Query(path.stem, description, params, sql, path)


def bind(query: Query, given: Mapping[str, Any]) -> dict[str, Any]:
    """Every declared parameter with its given value (NULL when not given); unknown names are refused."""
    unknown = sorted(set(given) - set(query.params))
    if unknown:
        known = ", ".join(query.params) or "none"
        raise QueryError(f"query {query.name} has no parameter {unknown[0]!r} (its parameters: {known})")
    return {name: given.get(name) for name in query.params}


def run(con: duckdb.DuckDBPyConnection, query: Query, given: Mapping[str, Any]) -> pa.RecordBatchReader:
    """Stream the result of `query` with its parameters bound (values are bound, never formatted in)."""
    import duckdb

    from finops.adhoc import explain

    try:
        return con.sql(query.sql, params=bind(query, given)).to_arrow_reader(100_000)
    except duckdb.Error as exc:
        raise QueryError(f"query {query.name}: {explain(exc)}") from None
