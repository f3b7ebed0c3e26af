"""Writing the store back out as a FOCUS 1.2 Cost and Usage dataset (CSV or Parquet)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import IO

import duckdb

from finops import focus, output
from finops.errors import FinopsError
from finops.periods import month_bounds
from finops.store import fetch_one, ident

# finops's bookkeeping columns are not part of an export.
_OWN = ("x_Extras",)


def focus_query(con: duckdb.DuckDBPyConnection, start: datetime, end: datetime) -> str:
    """SELECT of one billing month: FOCUS 1.2 columns in spec order, then x_ columns."""
    keys = [
        str(row[0])
        for row in con.execute(
            "SELECT DISTINCT unnest(map_keys(x_Extras)) AS k FROM cost_line_items "
            "WHERE BillingPeriodStart >= ? AND BillingPeriodStart < ? ORDER BY k",
            [start, end],
        ).fetchall()
    ]
    own = {c.name.lower() for c in focus.ALL_COLUMNS}
    parts = []
    for column in focus.FOCUS_1_2 + tuple(c for c in focus.EXTRAS if c.name not in _OWN):
        name = ident(column.name)
        parts.append(
            f"CAST(to_json({name}) AS VARCHAR) AS {name}"
            if column.kind == "tags"
            else f"CAST({name} AS VARCHAR) AS {name}"
            if column.kind == "json"
            else name
        )
    for key in keys:
        if key.lower() not in own:
            parts.append(f"x_Extras[{_literal(key)}] AS {ident(key)}")
    return (
        f"SELECT {', '.join(parts)} FROM cost_line_items "
        "WHERE BillingPeriodStart >= $start AND BillingPeriodStart < $end ORDER BY x_LineItemId"
    )


def export_focus(con: duckdb.DuckDBPyConnection, period: str, out: Path, fmt: str | None, stream: IO[str]) -> int:
    """Write billing month `period` to `out` as FOCUS 1.2; return the number of rows."""
    start, end = month_bounds(period)
    fmt = output.choose_format(fmt, out, stream)
    if fmt not in ("csv", "parquet"):
        raise FinopsError(f"-o {out}: a FOCUS export is .csv or .parquet (or pass --format csv|parquet)")
    count = fetch_one(
        con,
        "SELECT count(*) FROM cost_line_items WHERE BillingPeriodStart >= ? AND BillingPeriodStart < ?",
        [start, end],
    )
    if not count or not count[0]:
        raise FinopsError(f"no billing rows for {period}; `finops status` shows the periods loaded")
    reader = con.sql(focus_query(con, start, end), params={"start": start, "end": end}).to_arrow_reader(100_000)
    return output.write(reader, fmt, out, stream)


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
