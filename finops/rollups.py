"""The top training runs, deployments and idle resources of attributed spend, from the named queries."""

from __future__ import annotations

from typing import TYPE_CHECKING

import duckdb

from finops import queries
from finops.errors import FinopsError
from finops.periods import month_bounds
from finops.store import fetch_one

if TYPE_CHECKING:  # only for annotations: the alert path does not pay pyarrow's import
    import pyarrow as pa

# What `top` lists -> the named query that ranks it (per currency, costliest first).
QUERIES = {
    "runs": "cost_by_training_run",
    "deployments": "cost_by_deployment",
    "idle": "idle_gpu_cost_by_resource",
}
BASES = ("effective", "billed", "list")


def top(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    period: str | None = None,
    basis: str = "effective",
    limit: int | None = 20,
) -> pa.RecordBatchReader:
    """The `limit` costliest runs, deployments or idle resources per currency of `period` (None: every month)."""
    if kind not in QUERIES:
        raise FinopsError(f"no rollup of {kind!r}; choose one of {', '.join(QUERIES)}")
    if basis not in BASES:
        raise FinopsError(f"--basis {basis!r}: use one of {', '.join(BASES)}")
    if limit is not None and limit < 1:
        raise FinopsError(f"--top {limit}: give the number of rows to show, 1 or more")
    if period is not None:
        month_bounds(period)
    require_allocations(con, period)
    query = queries.load(QUERIES[kind])
    params = {"period": period, "basis": basis, "top": limit}
    return con.sql(query.sql, params=params).to_arrow_reader()


def require_allocations(con: duckdb.DuckDBPyConnection, period: str | None) -> None:
    """Raise, saying what to run, unless `finops attribute` has written allocations for `period`."""
    params = {"period": period}
    allocated = fetch_one(
        con,
        "SELECT count(*) FROM allocations WHERE $period IS NULL OR strftime(billing_period_start, '%Y-%m') = $period",
        params,
    )
    if allocated and allocated[0]:
        return
    billed = fetch_one(
        con,
        "SELECT count(*) FROM cost_line_items WHERE $period IS NULL OR strftime(BillingPeriodStart, '%Y-%m') = $period",
        params,
    )
    if not billed or not billed[0]:
        if period:
            raise FinopsError(f"no billing rows for {period}; `finops status` shows the periods loaded")
        raise FinopsError(
            "no billing rows in the store: load a bill first (`finops collect focus PATH` or `finops demo`)"
        )
    if period:
        raise FinopsError(f"no allocations for {period}: run `finops attribute --period {period}` first")
    raise FinopsError("no allocations in the store: run `finops attribute` first")
