"""The named query library: one query per .sql file in queries/, with a description and params header."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from finops.errors import QueryError

_PACKAGED = Path(__file__).parent / "queries"  # inside an installed wheel
_SOURCE_TREE = Path(__file__).parent.parent / "queries"  # in a checkout (editable install)
_PARAM = re.compile(r"^--\s*param\s+([a-z_][a-z0-9_]*)\s*:\s*(.*)$")


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


def load(name: str) -> Query:
    """Read the query called `name` (the file stem)."""
    path = directory() / f"{name}.sql"
    if not path.is_file():
        raise QueryError(f"no query named {name!r} in {directory()}")
    return parse(path)


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
