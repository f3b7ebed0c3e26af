"""Ad-hoc SQL against the store: the caller opens a read-only, sandboxed connection; this runs it."""

from __future__ import annotations

import re

import duckdb
import pyarrow as pa

from finops.errors import QueryError

TABLES = (
    "cost_line_items, ingest_batches, current_batches, workloads, workload_placements, resources, "
    "gpu_samples, allocations, alert_events"
)


def run(con: duckdb.DuckDBPyConnection, query: str) -> pa.RecordBatchReader:
    """Execute `query` and stream its result; refusals and errors become one-line QueryErrors."""
    try:
        relation = con.sql(query)
        if relation is None:
            return pa.table({}).to_reader()
        return relation.to_arrow_reader(100_000)
    except duckdb.Error as exc:
        raise QueryError(explain(exc)) from None


def explain(exc: duckdb.Error) -> str:
    """What went wrong with the user's SQL, in one line with what to do."""
    text = str(exc)
    first = re.sub(r"^[A-Za-z ]+Error: ", "", text.splitlines()[0] if text else "error").strip()
    if "read-only" in text or "read only" in text:
        kind = re.search(r'statement of type "?(\w+)"?', text)
        what = f"{kind.group(1)} statements are" if kind else "writes are"
        return f"finops sql is read-only: {what} refused; change the store with finops commands"
    if "configuration has been locked" in text:
        return "finops sql cannot change DuckDB settings; set them in [store] of finops.toml"
    if isinstance(exc, duckdb.PermissionException) or "disabled by configuration" in text:
        return "finops sql reads only the store: file, network and extension access are refused"
    if isinstance(exc, duckdb.ParserException):
        return f"SQL syntax error: {first}"
    if isinstance(exc, duckdb.CatalogException):
        return f"{first} (tables: {TABLES})"
    return first
