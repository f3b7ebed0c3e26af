"""`finops doctor`: is the store whole, is the data fresh, does every workload name join the bill?

Each check is one SQL pass over the store and gives findings of three levels: `ok`, `warn` (worth
knowing, nothing is wrong with the money) and `problem` (the store disagrees with itself, or data a
cron job depends on is stale). Integrity checks restate the store's own invariants: every current
batch's bookkeeping and daily totals equal the line items it holds, no line item lacks a current
batch, no scope has two current batches, every allocation belongs to a line item, and each line's
allocations sum to its cost on every basis.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb

from finops import bridge, store
from finops.config import Settings
from finops.errors import ConfigError

LEVELS = ("ok", "warn", "problem")


@dataclass(frozen=True)
class Finding:
    check: str
    level: str  # ok | warn | problem
    detail: str


def examine(con: duckdb.DuckDBPyConnection, settings: Settings, now: datetime, stale_days: int) -> list[Finding]:
    """Every check's findings, in a fixed order, on a read-only connection (the [bridge] settings are
    overlaid first; if they cannot be read, that is the config finding)."""
    bridge_error = None
    try:
        bridge.overlay(con, settings.bridge)
    except ConfigError as exc:
        bridge_error = str(exc)
    return [
        *_schema(con),
        *_batches(con),
        *_daily(con),
        *_allocations(con),
        *_attribution(con),
        *_freshness(con, now, stale_days),
        *_unmatched(con),
        *_config(settings, bridge_error),
    ]


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = store.fetch_one(con, sql)
    return int(row[0]) if row else 0


def _schema(con: duckdb.DuckDBPyConnection) -> Iterator[Finding]:
    known = {m.version: m.name for m in store.migrations()}
    applied = dict(con.execute("SELECT version, name FROM _finops_migrations ORDER BY version").fetchall())
    wrong = [f"{v} is {applied[v]!r}, expected {known.get(v)!r}" for v in sorted(applied) if known.get(v) != applied[v]]
    missing = sorted(set(known) - set(applied))
    if wrong or missing:
        parts = [f"migration {w}" for w in wrong] + ([f"migrations {missing} not applied"] if missing else [])
        yield Finding("schema", "problem", "; ".join(parts) + "; this store was not written by this finops")
    else:
        yield Finding("schema", "ok", f"schema version {max(applied, default=0)} ({len(applied)} migrations)")


_BATCH_TOTALS = """
WITH lines AS (
    SELECT x_BatchId AS batch_id, count(*) AS n, sum(BilledCost) AS billed,
           sum(EffectiveCost) AS effective, sum(ListCost) AS list
    FROM cost_line_items GROUP BY x_BatchId
)
SELECT b.batch_id, b.source, b.billing_account_id, strftime(b.billing_period_start, '%Y-%m'),
       b.row_count, coalesce(l.n, 0), b.billed_cost, coalesce(l.billed, 0)
FROM current_batches b LEFT JOIN lines l USING (batch_id)
WHERE b.row_count <> coalesce(l.n, 0)
   OR b.billed_cost <> coalesce(l.billed, 0)
   OR b.effective_cost <> coalesce(l.effective, 0)
   OR b.list_cost IS DISTINCT FROM l.list
ORDER BY b.batch_id
"""


def _batches(con: duckdb.DuckDBPyConnection) -> Iterator[Finding]:
    current = _count(con, "SELECT count(*) FROM current_batches")
    bad = con.execute(_BATCH_TOTALS).fetchall()
    for batch, source, account, period, rows, found, billed, found_billed in bad[:5]:
        yield Finding(
            "batches",
            "problem",
            f"batch {batch} ({source}, account {account or '-'}, {period}) records {rows} rows / BilledCost "
            f"{billed} but the store holds {found} / {found_billed}; reload that period",
        )
    if len(bad) > 5:
        yield Finding("batches", "problem", f"{len(bad) - 5} more batches disagree with their line items")
    orphans = _count(
        con, "SELECT count(*) FROM cost_line_items WHERE x_BatchId NOT IN (SELECT batch_id FROM current_batches)"
    )
    if orphans:
        yield Finding("batches", "problem", f"{orphans} line items belong to no current batch; reload their periods")
    doubled = con.execute(
        "SELECT source, billing_account_id, strftime(billing_period_start, '%Y-%m'), count(*) FROM current_batches "
        "GROUP BY ALL HAVING count(*) > 1 ORDER BY ALL"
    ).fetchall()
    for source, account, period, n in doubled:
        yield Finding("batches", "problem", f"{source} account {account or '-'} {period} has {n} current batches")
    if not bad and not orphans and not doubled:
        yield Finding("batches", "ok", f"{current} current batches agree with their line items")


def _surplus(left: str, right: str) -> str:
    """The rows one of two relations (same column names) holds more often than the other.

    One grouping over both, which DuckDB spills to disk under its memory limit; EXCEPT ALL both ways
    holds two hash tables at once and ran out of memory on a 10M-line month under the 1 GB default.
    """
    return (
        "SELECT * EXCLUDE (side) FROM (SELECT * EXCLUDE (side), sum(side) AS side FROM ("
        f"SELECT *, 1 AS side FROM {left} UNION ALL BY NAME SELECT *, -1 AS side FROM {right}"
        ") GROUP BY ALL HAVING sum(side) <> 0)"
    )


# daily_costs (migration 0006) against the line items it sums, group by group: batches that disagree.
_DAILY_COLUMNS = (
    "BillingPeriodStart, ProviderName, x_Provider, BillingAccountId, SubAccountId, SubAccountName, ServiceName, "
    "ServiceCategory, RegionId, ChargeCategory, ChargeFrequency, BillingCurrency"
)
_DAILY = f"""
WITH lines AS (
    SELECT x_BatchId AS batch_id, CAST(timezone('UTC', ChargePeriodStart) AS DATE) AS day,
           ChargePeriodEnd - ChargePeriodStart > INTERVAL 1 DAY AS is_over_a_day, {_DAILY_COLUMNS},
           sum(BilledCost) AS billed_cost, sum(EffectiveCost) AS effective_cost, sum(ListCost) AS list_cost,
           count(*) AS line_items
    FROM cost_line_items GROUP BY ALL
), kept AS (
    SELECT batch_id, day, is_over_a_day, {_DAILY_COLUMNS}, billed_cost, effective_cost, list_cost, line_items
    FROM daily_costs
), differ AS ({_surplus("lines", "kept")})
SELECT batch_id, count(*) FROM differ GROUP BY batch_id ORDER BY batch_id
"""

# daily_allocations against the allocations it sums (a part of a period may add to a group twice).
_ALLOCATION_COLUMNS = (
    "billing_period_start, day, is_over_a_day, ChargeFrequency, ChargeCategory, ServiceName, SubAccountId, "
    "SubAccountName, resource_id, billing_currency, bucket, workload_source, workload_id, workload_kind, team"
)
_DAILY_ALLOCATIONS = f"""
WITH shares AS (
    SELECT l.x_BatchId AS batch_id, a.billing_period_start, CAST(timezone('UTC', l.ChargePeriodStart) AS DATE) AS day,
           l.ChargePeriodEnd - l.ChargePeriodStart > INTERVAL 1 DAY AS is_over_a_day, l.ChargeFrequency,
           l.ChargeCategory, l.ServiceName, l.SubAccountId, l.SubAccountName,
           coalesce(a.resource_id, l.ResourceId) AS resource_id, a.billing_currency, a.bucket, a.workload_source,
           a.workload_id, a.workload_kind, a.team, sum(a.billed_cost) AS billed_cost,
           sum(a.effective_cost) AS effective_cost, sum(a.list_cost) AS list_cost, count(*) AS allocations
    FROM allocations AS a JOIN cost_line_items AS l ON l.x_LineItemId = a.line_item_id
    GROUP BY ALL
), kept AS (
    SELECT batch_id, {_ALLOCATION_COLUMNS}, sum(billed_cost) AS billed_cost, sum(effective_cost) AS effective_cost,
           sum(list_cost) AS list_cost, CAST(sum(allocations) AS BIGINT) AS allocations
    FROM daily_allocations GROUP BY ALL
), differ AS ({_surplus("shares", "kept")})
SELECT strftime(billing_period_start, '%Y-%m') AS period, count(*) FROM differ GROUP BY ALL ORDER BY period
"""


def _daily(con: duckdb.DuckDBPyConnection) -> Iterator[Finding]:
    bad = con.execute(_DAILY).fetchall()
    for batch, groups in bad[:5]:
        yield Finding(
            "daily",
            "problem",
            f"batch {batch}: daily_costs disagrees with its line items in {groups} day group(s); "
            "alerts and the report read those totals: reload that period",
        )
    if len(bad) > 5:
        yield Finding("daily", "problem", f"{len(bad) - 5} more batches' daily totals disagree with their line items")
    stale = con.execute(_DAILY_ALLOCATIONS).fetchall()
    for period, groups in stale:
        yield Finding(
            "daily",
            "problem",
            f"{period}: daily_allocations disagrees with the allocations in {groups} group(s); "
            f"run `finops attribute --period {period}`",
        )
    if not bad and not stale:
        groups = _count(con, "SELECT count(*) FROM daily_costs")
        shares = _count(con, "SELECT count(*) FROM daily_allocations")
        yield Finding("daily", "ok", f"{groups} daily totals agree with the line items, {shares} with the allocations")


_UNBALANCED = """
SELECT count(*) FROM (
    SELECT line_item_id, sum(billed_cost) AS billed, sum(effective_cost) AS effective, sum(list_cost) AS list
    FROM allocations GROUP BY line_item_id
) a JOIN cost_line_items c ON c.x_LineItemId = a.line_item_id
WHERE a.billed <> c.BilledCost OR a.effective <> c.EffectiveCost OR a.list IS DISTINCT FROM c.ListCost
"""


def _allocations(con: duckdb.DuckDBPyConnection) -> Iterator[Finding]:
    total = _count(con, "SELECT count(*) FROM allocations")
    orphans = _count(
        con,
        "SELECT count(*) FROM allocations a "
        "WHERE NOT EXISTS (SELECT 1 FROM cost_line_items c WHERE c.x_LineItemId = a.line_item_id)",
    )
    unbalanced = _count(con, _UNBALANCED)
    if orphans:
        yield Finding(
            "allocations", "problem", f"{orphans} allocations point at no line item; run `finops attribute` again"
        )
    if unbalanced:
        yield Finding(
            "allocations",
            "problem",
            f"{unbalanced} line items' allocations do not sum to their cost; run `finops attribute` again",
        )
    if not orphans and not unbalanced:
        yield Finding("allocations", "ok", f"{total} allocations, each line item's shares sum to its cost")


_COVERAGE = """
WITH lines AS (
    SELECT BillingPeriodStart AS period, count(*) AS n,
           count(*) FILTER (WHERE x_LineItemId NOT IN (SELECT line_item_id FROM allocations)) AS open
    FROM cost_line_items GROUP BY ALL
), runs AS (
    SELECT billing_period_start AS period, max(computed_at) AS computed FROM allocations GROUP BY ALL
), loads AS (
    SELECT billing_period_start AS period, max(loaded_at) AS loaded FROM current_batches GROUP BY ALL
)
SELECT strftime(l.period, '%Y-%m'), l.n, l.open, r.computed, d.loaded
FROM lines l LEFT JOIN runs r USING (period) LEFT JOIN loads d USING (period)
ORDER BY l.period
"""


def _attribution(con: duckdb.DuckDBPyConnection) -> Iterator[Finding]:
    fine = 0
    for period, lines, open_lines, computed, loaded in con.execute(_COVERAGE).fetchall():
        again = f"run `finops attribute --period {period}`"
        if computed is None:
            yield Finding("attribution", "warn", f"{period}: {lines} line items, not attributed yet; {again}")
        elif open_lines:
            yield Finding(
                "attribution", "problem", f"{period}: {open_lines} of {lines} line items have no allocation; {again}"
            )
        elif loaded is not None and loaded > computed:
            yield Finding("attribution", "warn", f"{period}: billing loaded after the last attribution; {again}")
        else:
            fine += 1
    if fine:
        yield Finding("attribution", "ok", f"{fine} billing period(s) attributed after their last load")


def _freshness(con: duckdb.DuckDBPyConnection, now: datetime, stale_days: int) -> Iterator[Finding]:
    limit = now - timedelta(days=stale_days)
    for source, last in con.execute(
        "SELECT source, max(loaded_at) FROM ingest_loads GROUP BY source ORDER BY source"
    ).fetchall():
        age = now - last
        when = f"last collected {last:%Y-%m-%d %H:%M} UTC ({age.days} days ago)"
        if last < limit:
            yield Finding(
                "freshness", "problem", f"{source}: {when}, more than {stale_days} days; is its cron job running?"
            )
        else:
            yield Finding("freshness", "ok", f"{source}: {when}")


def _unmatched(con: duckdb.DuckDBPyConnection) -> Iterator[Finding]:
    unmatched = bridge.unmatched_count(con)
    if unmatched:
        yield Finding(
            "unmatched",
            "warn",
            f"{unmatched} host/instance name(s) in workload records join to no bill ResourceId; "
            "see `finops status unmatched` and [bridge] in finops.toml",
        )
    else:
        yield Finding("unmatched", "ok", "every workload host/instance name joins a bill ResourceId")


def _config(settings: Settings, bridge_error: str | None) -> Iterator[Finding]:
    where = f"config {settings.config_path}" if settings.config_path else "no finops.toml (defaults)"
    if bridge_error:
        yield Finding("config", "problem", f"{where}: {bridge_error}")
    else:
        yield Finding("config", "ok", f"{where}; store {settings.database}")
