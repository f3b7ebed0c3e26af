"""Staging and atomic replacement of billing rows, shared by every billing collector.

A collector stages each file into a temporary table (parse errors stop the load before
anything is written), then `Load.commit` replaces each (source, billing account, billing
period) scope in one transaction and records one `ingest_batches` row per changed scope.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
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
from finops.store import fetch_one, ident, next_load_id, record_load, transaction, unordered_inserts

# x_LineItemId = x_BatchId * ROW_ID_FACTOR + the row's number within its load.
ROW_ID_FACTOR = 10_000_000_000
MACROS = Path(__file__).parent / "sql" / "parse_macros.sql"
STORE_COLUMNS = [c.name for c in focus.ALL_COLUMNS]
# daily_costs (migration 0006) of the staged rows of the scopes in _scope_batch.
DAILY_COSTS = """
INSERT INTO daily_costs
SELECT
    b.batch_id, s.BillingPeriodStart, CAST(timezone('UTC', s.ChargePeriodStart) AS DATE),
    s.ChargePeriodEnd - s.ChargePeriodStart > INTERVAL 1 DAY, s.ProviderName, s.x_Provider, s.BillingAccountId,
    s.SubAccountId, s.SubAccountName, s.ServiceName, s.ServiceCategory, s.RegionId, s.ChargeCategory,
    s.ChargeFrequency, s.BillingCurrency, sum(s.BilledCost), sum(s.EffectiveCost), sum(s.ListCost), count(*)
FROM _stage AS s JOIN _scope_batch AS b
    ON coalesce(s.BillingAccountId, '') = b.account AND s.BillingPeriodStart = b.period_start
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
    """One collector run: stage files, then commit every scope they hold as a single transaction."""

    # Columns a collector's query gives beside the store's and `_problem`, kept on the stage: name -> type.
    stage_extras: ClassVar[Mapping[str, str]] = {}
    # Store columns a collector's queries always leave NULL: not staged (the store fills them with NULL),
    # so a large month stages, spills and copies only what it has.
    stage_omits: ClassVar[frozenset[str]] = frozenset()

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
        self._rows = 0

    def __enter__(self) -> Load:
        self.unchanged = self._still_current() is not None
        if not self.unchanged:
            self.con.execute(MACROS.read_text(encoding="utf-8"))
            self.con.execute(
                "CREATE OR REPLACE TEMP TABLE _stage AS SELECT "
                + ", ".join(ident(c) for c in self.staged_columns)
                + ", 0::INTEGER AS _file, 0::BIGINT AS _row, ''::VARCHAR AS _problem, 0::UBIGINT AS _hash"
                + "".join(f", CAST(NULL AS {kind}) AS {ident(name)}" for name, kind in self.stage_extras.items())
                + " FROM cost_line_items LIMIT 0"
            )
        return self

    @property
    def _row_hash(self) -> str:
        """A staged row's hash as the store will hold it: its values cast to the stored types, NULL where not
        staged. Taken while the row is staged, so commit need not read a month back from the stage."""
        values = [
            f"CAST({ident(c.name) if c.name not in self.stage_omits else 'NULL'} AS {focus.SQL_TYPES[c.kind]})"
            for c in focus.ALL_COLUMNS
        ]
        return "hash(" + ", ".join(values) + ")"

    @property
    def staged_columns(self) -> list[str]:
        """The store columns the stage holds (all but `stage_omits`)."""
        return [c for c in STORE_COLUMNS if c not in self.stage_omits]

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        for table in ("_stage", "_scope_batch"):
            try:
                self.con.execute(f"DROP TABLE IF EXISTS temp.{table}")
            except duckdb.Error:
                pass

    def stage_file(self, source: SourceFile, query: str, params: dict[str, Any]) -> int:
        """Parse one file into the stage (`_file` its index); the first bad value stops the load with its row number.

        The query's rows go straight into the stage in file order (DuckDB keeps insertion order), so a
        row's number in the load is its position in the stage: rowid + 1.
        """
        columns = ", ".join(ident(c) for c in [*self.staged_columns, "_problem", *self.stage_extras])
        file = self.files.index(source)
        try:
            inserted = fetch_one(
                self.con,
                f"INSERT INTO _stage ({columns}, _file, _hash) SELECT {columns}, {file}, {self._row_hash} "
                f"FROM ({query})",
                params,
            )
        except duckdb.Error as exc:
            raise InputError(read_error(source.path, exc)) from None
        bad = fetch_one(
            self.con,
            "SELECT rowid + 1 - ?, _problem FROM _stage WHERE _row IS NULL AND _problem IS NOT NULL "
            "ORDER BY rowid LIMIT 1",
            [self._rows],
        )
        if bad:
            raise InputError(f"{source.path} row {bad[0]}: {bad[1]}")
        self.con.execute("UPDATE _stage SET _row = rowid + 1 WHERE _row IS NULL")
        rows = int(inserted[0]) if inserted else 0
        self._rows += rows
        return rows

    def restaged(self) -> None:
        """Take each staged row's hash again: a collector that changes staged values (UPDATE _stage) calls
        this before `commit`, whose content checksums are sums of these hashes."""
        self.con.execute(f"UPDATE _stage SET _hash = {self._row_hash}")

    def commit(self) -> LoadReport:
        """Replace every scope the staged rows cover, atomically; unchanged scopes are only touched."""
        if self._rows == 0:
            names = ", ".join(str(f.path) for f in self.files[:3])
            raise InputError(f"{names}: no rows to load; check that the export is complete")
        scopes = self.con.execute(
            "SELECT coalesce(BillingAccountId, ''), BillingPeriodStart, max(BillingPeriodEnd), "
            "list(DISTINCT BillingCurrency ORDER BY BillingCurrency), count(*), sum(BilledCost), "
            "sum(EffectiveCost), sum(ListCost), list(DISTINCT _file ORDER BY _file), "
            "string_agg(DISTINCT x_Provider, ',' ORDER BY x_Provider), "
            "CAST(sum(CAST(_hash AS HUGEINT)) AS VARCHAR) FROM _stage GROUP BY 1, 2 ORDER BY 2, 1"
        ).fetchall()
        for account, start, _, currencies, *_rest, file_ids, _provider, _content in scopes:
            if len(currencies) > 1:
                where = ", ".join(str(self.files[i].path) for i in file_ids[:3])
                raise InputError(
                    f"{where}: billing account '{account}' has rows in {' and '.join(currencies)} for the "
                    f"period starting {start:%Y-%m-%d}; FOCUS bills one currency per account and period, "
                    "so check the export"
                )
        results: list[ScopeResult] = []
        with transaction(self.con):
            load_id, next_batch = self._next_ids()
            for account, start, end, currencies, rows, billed, effective, listed, file_ids, provider, content in scopes:
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
                files = tuple(self.files[i] for i in file_ids)
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
            self._write(load_id, [r for r in results if r.action != "unchanged"])
            self._record_load(load_id, results)
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

    def _write(self, load_id: int, new: list[ScopeResult]) -> None:
        """Inside the transaction: drop replaced rows, their daily totals and allocations; insert the new batches."""
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
        columns = ", ".join(ident(c) for c in self.staged_columns)
        with unordered_inserts(self.con):  # x_LineItemId carries the row's place in the load
            self.con.execute(
                f"INSERT INTO cost_line_items ({columns}, x_BatchId, x_LineItemId) "
                f"SELECT {', '.join('s.' + ident(c) for c in self.staged_columns)}, b.batch_id, "
                f"b.batch_id * {ROW_ID_FACTOR} + s._row FROM _stage s JOIN _scope_batch b "
                "ON coalesce(s.BillingAccountId, '') = b.account AND s.BillingPeriodStart = b.period_start"
            )
            self.con.execute(DAILY_COSTS)
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
