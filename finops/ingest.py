"""Atomic replacement of billing rows, shared by every billing collector.

A load is one transaction. A collector writes each file's rows straight into cost_line_items as
pending rows (x_BatchId = the first batch id the load can give; a bad value stops the load and the
transaction is rolled back, so nothing is written), then `Load.commit` sums them per (source, billing
account, billing period) scope, drops the pending rows of unchanged scopes and the stored rows of
replaced ones, gives the other changed scopes their batch ids, records one `ingest_batches` row per
changed scope and commits. A month is parsed and written once, never copied from a staging table;
when the reader knows each row's place in its file (Parquet) and the load holds one scope, no row is
written twice.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar

import duckdb

from finops import focus
from finops.collect.files import SourceFile, combined_checksum
from finops.collect.readers import read_error
from finops.errors import InputError
from finops.store import fetch_one, ident, next_load_id, record_load, transaction

# x_LineItemId = x_BatchId * ROW_ID_FACTOR + the row's number within its load: the rows written before
# its file plus its row in the file; rows whose place the reader does not know (CSV, rows a collector
# adds) are numbered after those, in the order they were written.
ROW_ID_FACTOR = 10_000_000_000
MACROS = Path(__file__).parent / "sql" / "parse_macros.sql"
STORE_COLUMNS = [c.name for c in focus.ALL_COLUMNS]
# daily_costs (migration 0006) of the batches $batches, just written.
DAILY_COSTS = """
INSERT INTO daily_costs
SELECT
    s.x_BatchId, s.BillingPeriodStart, CAST(timezone('UTC', s.ChargePeriodStart) AS DATE),
    s.ChargePeriodEnd - s.ChargePeriodStart > INTERVAL 1 DAY, s.ProviderName, s.x_Provider, s.BillingAccountId,
    s.SubAccountId, s.SubAccountName, s.ServiceName, s.ServiceCategory, s.RegionId, s.ChargeCategory,
    s.ChargeFrequency, s.BillingCurrency, sum(s.BilledCost), sum(s.EffectiveCost), sum(s.ListCost), count(*)
FROM cost_line_items AS s
WHERE s.x_BatchId IN (SELECT unnest($batches))
GROUP BY ALL
"""


@dataclass(frozen=True)
class ScopeResult:
    """What a load did to one (billing account, billing period)."""

    action: str  # loaded | replaced | unchanged
    provider: str | None
    billing_account_id: str
    billing_period_start: datetime
    billing_period_end: datetime
    billing_currency: str
    rows: int
    billed_cost: Decimal
    effective_cost: Decimal
    list_cost: Decimal | None
    batch_id: int
    checksum: str  # identity of the scope's row content
    files: tuple[SourceFile, ...] = ()  # the files that gave it rows (empty when unchanged by a no-op load)
    replaced_batch_id: int | None = None


@dataclass(frozen=True)
class LoadReport:
    """The outcome of one collector run."""

    source: str
    files: int
    scopes: list[ScopeResult]


class Load:
    """One collector run: write every file's rows as pending, then commit the scopes they hold, in one transaction."""

    # Store columns a collector's queries always leave NULL: not written (the store fills them with NULL).
    omits: ClassVar[frozenset[str]] = frozenset()

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        source: str,
        source_uri: str,
        files: Sequence[SourceFile],
        settings: Sequence[str] = (),
    ) -> None:
        self.con = con
        self.source = source
        self.source_uri = source_uri
        self.files = list(files)
        self.settings = list(settings)
        self.load_checksum = combined_checksum([f.sha256 for f in files] + self.settings)
        self.unchanged = False
        self.batch = 0  # the first batch id this load can give: its pending rows' x_BatchId
        self._open = False
        self._written = 0
        self._scope_files: dict[tuple[str, datetime], list[int]] = {}

    def __enter__(self) -> Load:
        self.unchanged = self._still_current() is not None
        if not self.unchanged:
            # The macros are made before the transaction: a rolled-back load still names its bad row with them.
            self.con.execute(MACROS.read_text(encoding="utf-8"))
            self.con.execute("BEGIN TRANSACTION")
            self._open = True
            try:
                self.batch = self._next_ids()[1]
                # What a collector reads (and updates by `_rowid`): this load's rows so far.
                self.con.execute(
                    "CREATE OR REPLACE TEMP VIEW _pending AS SELECT *, rowid AS _rowid FROM cost_line_items "
                    f"WHERE x_BatchId = {self.batch}"
                )
            except BaseException:
                self._rollback()
                raise
        return self

    @property
    def written_columns(self) -> list[str]:
        """The store columns a load writes (all but `omits`)."""
        return [c for c in STORE_COLUMNS if c not in self.omits]

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._rollback()
        for drop in ("VIEW IF EXISTS temp._pending", "TABLE IF EXISTS temp._scope_batch"):
            try:
                self.con.execute(f"DROP {drop}")
            except duckdb.Error:
                pass

    def _rollback(self) -> None:
        if self._open:
            self._open = False
            try:
                self.con.execute("ROLLBACK")
            except duckdb.Error:
                pass  # the connection is gone: nothing it wrote was committed

    def expand(self, query: str) -> str:
        """The rows to write for a file's mapped rows (one per file row): a collector may add rows here."""
        return query

    def write_file(self, source: SourceFile, query: str, params: dict[str, Any]) -> int:
        """Write one file's rows as pending; the first bad value stops the load, naming its row in the file.

        `query` gives the store's columns, `_problem` (the row's first bad value, or NULL) and `_row` (its
        1-based row in the file when the reader knows it, else NULL), one row per file row in file order.
        A row with a problem aborts the write; the load is rolled back and the query is read once more,
        numbered, to find the first such row (the error path only). A row without `_row` is written with
        x_LineItemId = -(file index + 1) and numbered at commit.
        """
        columns = ", ".join(ident(c) for c in self.written_columns)
        file = self.files.index(source)
        first = self.batch * ROW_ID_FACTOR + self._written
        try:
            inserted = fetch_one(
                self.con,
                f"INSERT INTO cost_line_items ({columns}, x_BatchId, x_LineItemId) SELECT {columns}, "
                f"CASE WHEN _problem IS NULL THEN {self.batch} ELSE error(_problem) END, "
                f"coalesce({first} + _row, {-(file + 1)}) FROM ({self.expand(query)})",
                params,
            )
        except duckdb.Error as exc:
            self._rollback()
            empty = re.search(r"NOT NULL constraint failed: cost_line_items\.(\w+)", str(exc))
            named = self._empty_row(source, query, params, empty.group(1)) if empty else None
            raise InputError(named or self._bad_row(source, query, params) or read_error(source.path, exc)) from None
        rows = int(inserted[0]) if inserted else 0
        # The scopes this file gave rows to (its rows only: the other files' row groups are skipped by range),
        # and the highest row number it used: the next file's rows come after it even if a reader skipped rows.
        last = first + rows
        for account, start, highest in self.con.execute(
            "SELECT coalesce(BillingAccountId, ''), BillingPeriodStart, max(x_LineItemId) FROM cost_line_items "
            "WHERE x_BatchId = $batch AND (x_LineItemId > $first OR x_LineItemId = $file) GROUP BY ALL",
            {"batch": self.batch, "first": first, "file": -(file + 1)},
        ).fetchall():
            self._scope_files.setdefault((account, start), []).append(file)
            last = max(last, highest)
        self._written = last - self.batch * ROW_ID_FACTOR
        return rows

    def _empty_row(self, source: SourceFile, query: str, params: dict[str, Any], column: str) -> str:
        """The first row that leaves a column the store needs on every row empty (the error path only)."""
        try:
            row = fetch_one(
                self.con,
                f"SELECT _n FROM (SELECT row_number() OVER () AS _n, {ident(column)} AS _v FROM ({query})) "
                "WHERE _v IS NULL ORDER BY _n LIMIT 1",
                params,
            )
        except duckdb.Error:
            row = None
        where = f"{source.path} row {row[0]}" if row else str(source.path)
        return f"{where}: no {column}; every billing row needs one, so check the export"

    def _bad_row(self, source: SourceFile, query: str, params: dict[str, Any]) -> str | None:
        try:
            bad = fetch_one(
                self.con,
                f"SELECT _n, _problem FROM (SELECT row_number() OVER () AS _n, _problem FROM ({query})) "
                "WHERE _problem IS NOT NULL ORDER BY _n LIMIT 1",
                params,
            )
        except duckdb.Error:
            return None
        return f"{source.path} row {bad[0]}: {bad[1]}" if bad else None

    @staticmethod
    def _row_hash() -> str:
        """A stored row's hash over every FOCUS column; a scope's content checksum is their sum."""
        return "hash(" + ", ".join(ident(c.name) for c in focus.ALL_COLUMNS) + ")"

    def commit(self) -> LoadReport:
        """Replace every scope the pending rows cover and commit; unchanged scopes are only touched."""
        scopes = self.con.execute(
            "SELECT coalesce(BillingAccountId, ''), BillingPeriodStart, max(BillingPeriodEnd), "
            "list(DISTINCT BillingCurrency ORDER BY BillingCurrency), count(*), sum(BilledCost), "
            "sum(EffectiveCost), sum(ListCost), string_agg(DISTINCT x_Provider, ',' ORDER BY x_Provider), "
            f"CAST(sum(CAST({self._row_hash()} AS HUGEINT)) AS VARCHAR), max(x_LineItemId), min(_rowid) FROM _pending "
            "GROUP BY 1, 2 ORDER BY 2, 1"
        ).fetchall()
        if not scopes:
            names = ", ".join(str(f.path) for f in self.files[:3])
            raise InputError(f"{names}: no rows to load; check that the export is complete")
        first_rowid = min(scope[-1] for scope in scopes)
        # Rows written without their place in the file are numbered after the highest row number given.
        numbered = max(0, max(scope[-2] for scope in scopes) - self.batch * ROW_ID_FACTOR)
        for account, start, _, currencies, *_ in scopes:
            if len(currencies) > 1:
                where = ", ".join(str(self.files[i].path) for i in self._scope_files[(account, start)][:3])
                raise InputError(
                    f"{where}: billing account '{account}' has rows in {' and '.join(currencies)} for the "
                    f"period starting {start:%Y-%m-%d}; FOCUS bills one currency per account and period, "
                    "so check the export"
                )
        results: list[ScopeResult] = []
        load_id, next_batch = self._next_ids()
        assert next_batch == self.batch  # the first changed scope keeps the batch id its rows were written with
        for account, start, end, currencies, rows, billed, effective, listed, provider, content, *_ in scopes:
            # Content, not file, identity: a file holding several scopes may change only one of them.
            checksum = combined_checksum([f"rows:{rows}", f"content:{content}"])
            current = self._current(account, start)
            if current and current[1] == checksum:
                action, batch_id, old = "unchanged", current[0], None
                self._touch([batch_id])
            else:
                batch_id, next_batch = next_batch, next_batch + 1
                old = current[0] if current else None
                action = "replaced" if old is not None else "loaded"
            files = tuple(self.files[i] for i in sorted(set(self._scope_files[(account, start)])))
            results.append(
                ScopeResult(
                    action,
                    provider,
                    account,
                    start,
                    end,
                    currencies[0],
                    rows,
                    billed,
                    effective,
                    listed,
                    batch_id,
                    checksum,
                    files,
                    old,
                )
            )
        for r in results:
            if r.action == "unchanged":  # its rows are stored already
                self.con.execute(
                    "DELETE FROM cost_line_items WHERE x_BatchId = ? AND coalesce(BillingAccountId, '') = ? "
                    "AND BillingPeriodStart = ?",
                    [self.batch, r.billing_account_id, r.billing_period_start],
                )
        self._write(load_id, [r for r in results if r.action != "unchanged"], numbered - first_rowid)
        self._record_load(load_id, results)
        self.con.execute("COMMIT")
        self._open = False
        return LoadReport(self.source, len(self.files), results)

    def report(self) -> LoadReport:
        """The report of a load whose files were loaded before and whose scopes are all still current."""
        batch_ids = self._still_current()
        assert batch_ids is not None
        with transaction(self.con):
            self._touch(batch_ids)
            load_id, _ = self._next_ids()
            rows = self.con.execute(
                "SELECT provider, billing_account_id, billing_period_start, billing_period_end, billing_currency, "
                "row_count, billed_cost, effective_cost, list_cost, batch_id, checksum FROM ingest_batches "
                "WHERE batch_id IN (SELECT unnest(?)) ORDER BY billing_period_start, billing_account_id",
                [batch_ids],
            ).fetchall()
            scopes = [ScopeResult("unchanged", *row) for row in rows]
            self._record_load(load_id, scopes)
        return LoadReport(self.source, len(self.files), scopes)

    def _still_current(self) -> list[int] | None:
        """Batch ids, when an earlier load of exactly these files left scopes that are all still current."""
        row = fetch_one(
            self.con,
            "SELECT scopes FROM ingest_loads WHERE source = ? AND load_checksum = ? ORDER BY load_id DESC LIMIT 1",
            [self.source, self.load_checksum],
        )
        if row is None:
            return None
        batch_ids = []
        for scope in json.loads(row[0]):
            start = datetime.fromisoformat(scope["billing_period_start"])
            current = self._current(scope["billing_account_id"], start)
            if current is None or current[1] != scope["checksum"]:
                return None
            batch_ids.append(current[0])
        return batch_ids

    def _current(self, account: str, start: datetime) -> tuple[int, str] | None:
        row = fetch_one(
            self.con,
            "SELECT batch_id, checksum FROM current_batches "
            "WHERE source = ? AND billing_account_id = ? AND billing_period_start = ?",
            [self.source, account, start],
        )
        return (int(row[0]), str(row[1])) if row else None

    def _touch(self, batch_ids: list[int]) -> None:
        self.con.execute(
            "UPDATE ingest_batches SET last_seen_at = current_timestamp WHERE batch_id IN (SELECT unnest(?))",
            [batch_ids],
        )

    def _record_load(self, load_id: int, results: list[ScopeResult]) -> None:
        scopes = [
            {
                "billing_account_id": r.billing_account_id,
                "billing_period_start": r.billing_period_start.isoformat(),
                "checksum": r.checksum,
                "action": r.action,
            }
            for r in results
        ]
        files = [f.as_record() for f in self.files]
        record_load(self.con, load_id, self.source, self.source_uri, self.load_checksum, files, scopes)

    def _next_ids(self) -> tuple[int, int]:
        row = fetch_one(self.con, "SELECT coalesce(max(batch_id), 0) + 1 FROM ingest_batches")
        assert row is not None
        return next_load_id(self.con), int(row[0])

    def _write(self, load_id: int, new: list[ScopeResult], rowid_offset: int) -> None:
        """Inside the transaction: drop replaced rows, their daily totals and allocations; give the pending rows
        of each new scope but the first their batch id, and number the rows written without one."""
        if not new:
            return
        self.con.execute(
            "CREATE OR REPLACE TEMP TABLE _scope_batch (account VARCHAR, period_start TIMESTAMPTZ, batch_id BIGINT)"
        )
        self.con.executemany(
            "INSERT INTO _scope_batch VALUES (?, ?, ?)",
            [[n.billing_account_id, n.billing_period_start, n.batch_id] for n in new],
        )
        replaced = [n.replaced_batch_id for n in new if n.replaced_batch_id is not None]
        if replaced:
            self.con.execute(
                f"DELETE FROM allocations WHERE line_item_id // {ROW_ID_FACTOR} IN (SELECT unnest(?))",
                [replaced],
            )
            self.con.execute("DELETE FROM daily_allocations WHERE batch_id IN (SELECT unnest(?))", [replaced])
            self.con.execute("DELETE FROM cost_line_items WHERE x_BatchId IN (SELECT unnest(?))", [replaced])
            self.con.execute("DELETE FROM daily_costs WHERE batch_id IN (SELECT unnest(?))", [replaced])
        # Rows without a place in their file come after every row with one, in the order they were written.
        self.con.execute(
            "UPDATE cost_line_items AS s SET x_BatchId = b.batch_id, x_LineItemId = CASE WHEN s.x_LineItemId < 0 "
            f"THEN b.batch_id * {ROW_ID_FACTOR} + s.rowid + $offset + 1 "
            f"ELSE s.x_LineItemId + (b.batch_id - $batch) * {ROW_ID_FACTOR} END FROM _scope_batch AS b "
            "WHERE s.x_BatchId = $batch AND coalesce(s.BillingAccountId, '') = b.account "
            "AND s.BillingPeriodStart = b.period_start AND (b.batch_id <> $batch OR s.x_LineItemId < 0)",
            {"offset": rowid_offset, "batch": self.batch},
        )
        self.con.execute(DAILY_COSTS, {"batches": [n.batch_id for n in new]})
        self.con.executemany(
            "INSERT INTO ingest_batches (batch_id, load_id, source, source_uri, provider, billing_account_id, "
            "billing_period_start, billing_period_end, billing_currency, files, checksum, manifest_id, "
            "row_count, billed_cost, effective_cost, list_cost, loaded_at, last_seen_at, replaced_batch_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, current_timestamp, current_timestamp, ?)",
            [
                [
                    n.batch_id,
                    load_id,
                    self.source,
                    self.source_uri,
                    n.provider,
                    n.billing_account_id,
                    n.billing_period_start,
                    n.billing_period_end,
                    n.billing_currency,
                    json.dumps([f.as_record() for f in n.files]),
                    n.checksum,
                    n.rows,
                    n.billed_cost,
                    n.effective_cost,
                    n.list_cost,
                    n.replaced_batch_id,
                ]
                for n in new
            ],
        )


def other_accounts(con: duckdb.DuckDBPyConnection, report: LoadReport) -> list[str]:
    """One notice per billing period of the load for which the store also holds billing accounts of the
    same source that the load did not include: a load replaces only its own scopes, so those rows stay."""
    loaded = {(s.billing_period_start, s.billing_account_id) for s in report.scopes}
    periods = {start for start, _ in loaded}
    others: dict[datetime, list[str]] = {}
    stored = con.execute(
        "SELECT billing_period_start, billing_account_id, provider FROM current_batches WHERE source = ? "
        "ORDER BY billing_period_start, billing_account_id",
        [report.source],
    ).fetchall()
    for start, account, provider in stored:
        if start in periods and (start, account) not in loaded:
            others.setdefault(start, []).append((account or "(none)") + (f" ({provider})" if provider else ""))
    return [
        f"{start:%Y-%m}: the store also holds billing account(s) {', '.join(accounts)} of source {report.source} "
        "from earlier loads that these files do not include; they are kept (a load replaces only the billing "
        "accounts it holds)"
        for start, accounts in others.items()
    ]


def iter_scopes(report: LoadReport) -> Iterator[dict[str, Any]]:
    """The report as rows for output: one per scope."""
    for s in report.scopes:
        yield {
            "action": s.action,
            "provider": s.provider,
            "billing_account_id": s.billing_account_id,
            "billing_period": f"{s.billing_period_start:%Y-%m}",
            "currency": s.billing_currency,
            "rows": s.rows,
            "billed_cost": s.billed_cost,
            "effective_cost": s.effective_cost,
            "batch_id": s.batch_id,
        }
