"""Table expressions that read a source file's columns as text, and one-line read errors."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import duckdb

from finops.collect.files import SourceFile
from finops.errors import InputError
from finops.store import ident


def csv_reader(header: Sequence[str], delimiter: str) -> str:
    """A table expression reading a CSV (path bound as $path) as text, named by its header, and `_row` NULL
    (DuckDB's CSV reader does not say a row's line; numbering rows in the query would serialise the read).

    The dialect is given, not sniffed: DuckDB's sniffer silently skips rows of ragged files.
    Rows whose every field is empty (spreadsheet leftovers) are skipped.
    """
    if delimiter not in ",;\t|":
        raise ValueError(delimiter)
    columns = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(header)))
    names = ", ".join(f"c{i} AS {ident(name)}" for i, name in enumerate(header))
    anything = ", ".join(f"c{i}" for i in range(len(header)))
    nulls = ", ".join(f"'{n}'" for n in ("NULL", "null", ""))
    return (
        f"(SELECT {names}, NULL::BIGINT AS _row FROM read_csv($path, auto_detect = false, header = true, skip = 0, "
        f"delim = '{delimiter}', quote = '\"', escape = '\"', columns = {{{columns}}}, "
        f"nullstr = [{nulls}], strict_mode = true) WHERE coalesce({anything}) IS NOT NULL)"
    )


def parquet_reader(columns: Sequence[str], types: dict[str, str]) -> str:
    """A table expression reading the given Parquet columns (path bound as $path) as text, nested values as JSON,
    and `_row`, the row's 1-based place in the file."""
    parts = []
    for name in columns:
        nested = types[name].startswith(("MAP", "STRUCT")) or types[name].endswith("]")
        value = f"to_json({ident(name)})" if nested else ident(name)
        parts.append(f"CAST({value} AS VARCHAR) AS {ident(name)}")
    return f"(SELECT {', '.join(parts) or 'NULL AS _nothing'}, file_row_number + 1 AS _row FROM read_parquet($path))"


def describe_parquet(con: duckdb.DuckDBPyConnection, source: SourceFile) -> list[tuple[str, str]]:
    """(column, DuckDB type) pairs of a Parquet file."""
    try:
        rows = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(source.path)]).fetchall()
    except duckdb.Error as exc:
        raise InputError(read_error(source.path, exc)) from None
    return [(str(r[0]), str(r[1])) for r in rows]


def read_error(path: Path, exc: Exception) -> str:
    """One line saying why DuckDB could not read a file, and what to do."""
    text = str(exc)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if "GZIP" in text.upper() and ("end of" in text.lower() or "truncat" in text.lower()):
        return f"{path}: the gzip stream is truncated; re-download the file"
    line = re.search(r"CSV Error on Line: (\d+)", text)
    if line:
        reason = next((item for item in lines[1:] if not item.startswith("Original Line")), "malformed row")
        if "Expected Number of Columns" in reason:
            reason = reason.replace("Expected Number of Columns:", "expected").replace("Found:", "columns, found")
        return f"{path} line {line.group(1)}: {reason.rstrip('.')}; fix or re-export the file"
    if "parquet" in text.lower() or str(path).lower().endswith((".parquet", ".pq")):
        return f"{path}: not a readable Parquet file ({_first(lines)}); re-download or re-export it"
    return f"{path}: cannot read ({_first(lines)})"


def _first(lines: list[str]) -> str:
    first = lines[0] if lines else "unknown error"
    return re.sub(r"^[A-Za-z ]+Error: ", "", first)[:300]
