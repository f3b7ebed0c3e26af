"""`finops attribute`: read a billing period from the store, allocate it, and replace its allocations.

Unit of replacement: the billing period (line items whose BillingPeriodStart falls in the month).
Attributing a period again replaces all its allocations in one transaction; with the same inputs
and settings the rows are identical (only computed_at changes).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl

from finops import attribute, gpus
from finops.attribute import rules
from finops.config import AttributionSettings
from finops.errors import FinopsError
from finops.ingest import ROW_ID_FACTOR
from finops.periods import month_bounds
from finops.store import fetch_one, transaction, unordered_inserts

# Line items per part of a period: what one pass of the Polars rules holds in memory at a time.
PART_ROWS = 250_000

# Each resource's GPU capacity, once per period: every part of the period reads it.
_CAPACITY = """
CREATE OR REPLACE TEMP TABLE _capacity AS
WITH types AS (
    SELECT ResourceId,
           max(x_GpuCount) AS gpu_count,
           max(lower(coalesce(
               x_InstanceType,
               nullif(regexp_extract(x_UsageType, ':([^:]+)$', 1), ''),
               nullif(regexp_extract(ChargeDescription, $instance_pattern, 1), '')
           ))) AS instance_type
    FROM cost_line_items
    WHERE BillingPeriodStart >= $start AND BillingPeriodStart < $end AND ResourceId IS NOT NULL
    GROUP BY ResourceId
)
SELECT t.ResourceId, CAST(round(coalesce(r.gpu_count, t.gpu_count, c.gpus) * 1000) AS BIGINT) AS capacity_milli
FROM types AS t
LEFT JOIN (SELECT resource_id, max(gpu_count) AS gpu_count FROM resources GROUP BY 1) AS r
    ON r.resource_id = t.ResourceId
LEFT JOIN _gpu_catalog AS c ON c.instance_type = regexp_replace(t.instance_type, '^ml\\.', '')
"""

# The part of a period a line belongs to: all lines of one resource in the same part.
_PART = "CASE WHEN {rid} IS NULL THEN {lid} % $parts ELSE hash({rid}) % $parts END"
# A part's placements and utilisation: those of its resources.
_OF_PART = "SELECT * FROM {table} WHERE hash(resource) % $parts = $part"

# The period's lines for allocation, each with its part; written once, partitioned by part.
_LINES = (
    """
SELECT
    li.x_LineItemId AS line_id, li.BillingPeriodStart AS period_start, li.BillingCurrency AS currency,
    li.BilledCost AS billed_cost, li.EffectiveCost AS effective_cost, li.ListCost AS list_cost,
    li.ChargePeriodStart AS start, li.ChargePeriodEnd AS "end", li.ChargeCategory AS category,
    li.CommitmentDiscountStatus AS commitment_status, li.CommitmentDiscountId AS commitment_id,
    li.ServiceName AS service, li.ResourceId AS resource, c.capacity_milli, li.ChargeFrequency AS frequency,
    li.ConsumedQuantity AS quantity, li.ConsumedUnit AS unit, li.ProviderName AS provider,
    li.SubAccountId AS sub_account_id, li.SubAccountName AS sub_account_name,
    {run_tag} AS run_tag, {run_tag_key} AS run_tag_key, {run_tag_kind} AS run_tag_kind, {team_tag} AS team_tag,
    """
    + _PART.format(rid="li.ResourceId", lid="li.x_LineItemId")
    + """ AS part
FROM cost_line_items AS li LEFT JOIN _capacity AS c ON c.ResourceId = li.ResourceId
WHERE li.BillingPeriodStart >= $start AND li.BillingPeriodStart < $end
"""
)

# An AWS instance type (g5.4xlarge, ml.p4d.24xlarge) or a GCE machine type (a2-highgpu-8g) in free text.
INSTANCE_PATTERN = (
    r"((?:ml\.)?[a-z][a-z0-9-]*\.[0-9]*x?large|[a-z][0-9][a-z]?-(?:high|mega|ultra)?(?:gpu|standard)-[0-9]+g?)"
)

_PLACEMENTS = """
CREATE OR REPLACE TEMP TABLE _placements AS
SELECT n.resource_id AS resource, p.source AS workload_source, p.workload_id, w.kind, w.team,
       p.started_at AS start, p.ended_at AS "end", CAST(round(p.gpu_count * 1000) AS BIGINT) AS gpu_milli
FROM workload_placements AS p
JOIN workloads AS w ON w.source = p.source AND w.workload_id = p.workload_id
JOIN _names AS n ON n.name = lower(p.resource_id) AND n.resource_ids = 1
WHERE p.started_at < $until AND (p.ended_at IS NULL OR p.ended_at > $since)
"""

_UTILIZATION = """
CREATE OR REPLACE TEMP TABLE _utilization AS
WITH samples AS (
    SELECT n.resource_id AS resource, s.ts, s.utilization
    FROM gpu_samples AS s
    JOIN _names AS n ON n.name = lower(coalesce(s.resource_id, s.host)) AND n.resource_ids = 1
    WHERE s.utilization IS NOT NULL AND s.ts >= $since AND s.ts < $until
),
spans AS (
    SELECT DISTINCT ResourceId AS resource, ChargePeriodStart AS start, ChargePeriodEnd AS "end"
    FROM cost_line_items WHERE BillingPeriodStart >= $start AND BillingPeriodStart < $end
      AND ResourceId IN (SELECT resource FROM samples)
)
SELECT sp.resource, sp.start, sp."end", avg(sa.utilization) / 100 AS util
FROM spans AS sp JOIN samples AS sa ON sa.resource = sp.resource AND sa.ts >= sp.start AND sa.ts < sp."end"
GROUP BY ALL
"""


@dataclass(frozen=True)
class PeriodResult:
    """What `attribute` wrote for one billing period."""

    period: str
    lines: int
    allocations: int
    by_bucket: dict[str, int]


def periods(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every billing month (YYYY-MM) that has line items."""
    rows = con.execute(
        "SELECT DISTINCT strftime(BillingPeriodStart, '%Y-%m') AS m FROM cost_line_items ORDER BY m"
    ).fetchall()
    return [str(r[0]) for r in rows]


def attribute_period(
    con: duckdb.DuckDBPyConnection,
    period: str,
    settings: AttributionSettings,
    notice: Callable[[str], None] = lambda message: None,
    part_rows: int = PART_ROWS,
) -> PeriodResult:
    """Allocate one billing month and replace its allocations atomically.

    Lines that only `unattributed` can claim (no tag, placement, GPU capacity, managed job or shared
    charge: most storage, transfer and request lines) are allocated inside the store by SQL
    (rules.MIGHT_CLAIM_SQL). The others go through the Polars rules in parts of about `part_rows`
    line items (each part holds every line of its resources, with only their placements and
    samples), so memory is bounded by the part, not the month. Shared cost needs the whole month's
    team totals: its lines wait, whole, until every part is done, then are split and written. All
    of it is one transaction.
    """
    attribute.ordered_rules(settings)  # a bad [attribution] fails before any work
    start, end = month_bounds(period)
    span = fetch_one(
        con,
        "SELECT count(*), min(ChargePeriodStart), max(ChargePeriodEnd) FROM cost_line_items "
        "WHERE BillingPeriodStart >= ? AND BillingPeriodStart < ?",
        [start, end],
    )
    if not span or not span[0]:
        raise FinopsError(f"no billing rows for {period}; load them first (`finops status` shows what is loaded)")
    since, until = min(span[1], start), max(span[2], end)
    # The bridge, resolved once: a name joins only when it names exactly one billed resource.
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _names AS SELECT name, min(resource_id) AS resource_id, "
        "count(DISTINCT resource_id) AS resource_ids FROM resource_names GROUP BY name"
    )
    try:
        ambiguous = fetch_one(
            con,
            "SELECT count(*) FROM _names WHERE resource_ids > 1 AND name IN (SELECT lower(resource_id) "
            "FROM workload_placements UNION SELECT lower(coalesce(resource_id, host)) FROM gpu_samples)",
        )
        if ambiguous and ambiguous[0]:
            notice(f"{ambiguous[0]} host name(s) match several billed resources and are not used; see [bridge]")
        con.register("_gpu_catalog", gpus.catalog_table(con))
        try:
            con.execute(_CAPACITY, {"start": start, "end": end, "instance_pattern": INSTANCE_PATTERN})
        finally:
            con.unregister("_gpu_catalog")
        con.execute(_PLACEMENTS, {"since": since, "until": until})
        con.execute(_UTILIZATION, {"start": start, "end": end, "since": since, "until": until})
        lines = _claimed_lines_sql(settings)
        params = {"start": start, "end": end, **_tag_params(settings), **rules.might_claim_params(settings)}
        claimable = fetch_one(con, f"SELECT count(*) FILTER (WHERE claimable) FROM ({lines})", {**params, "parts": 1})
        parts = max(1, -(-int(claimable[0] if claimable else 0) // max(1, part_rows)))
        params["parts"] = parts
        workloads = con.sql("SELECT source AS workload_source, workload_id, name, kind, team FROM workloads").pl()
        with _spill_folder(con) as spill, tempfile.TemporaryDirectory(prefix="finops-attribute-", dir=spill) as tmp:
            folder = Path(tmp) / "lines"
            target = str(folder).replace("'", "''")
            with unordered_inserts(con):  # the rules sort what they read
                con.execute(
                    f"COPY (SELECT * EXCLUDE (claimable) FROM ({lines}) WHERE claimable) "
                    f"TO '{target}' (FORMAT parquet, PARTITION_BY (part))",
                    params,
                )
            written = _allocate_parts(con, folder, parts, settings, workloads, notice)
            written = _replace(con, start, end, folder.parent / "allocated", written, lines, params)
    finally:
        for table in ("_names", "_capacity", "_placements", "_utilization"):
            con.execute(f"DROP TABLE IF EXISTS temp.{table}")
    return PeriodResult(period, int(span[0]), written.allocations, dict(sorted(written.by_bucket.items())))


def _allocate_parts(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    parts: int,
    settings: AttributionSettings,
    workloads: pl.DataFrame,
    notice: Callable[[str], None],
) -> PeriodResult:
    """Allocate each part's lines (from `folder`, partitioned by part) into Parquet files in `allocated`.

    Each part's rows wait in Parquet files beside the lines, so neither Polars nor the open
    transaction holds more than a part; one INSERT per table then streams them in (`_replace`).
    """
    pending = attribute.needs_team_totals(settings)
    written = PeriodResult("", 0, 0, {})
    waiting: list[pl.DataFrame] = []
    totals: list[pl.DataFrame] = []
    done = folder.parent / "allocated"
    done.mkdir()
    for part in range(parts):
        files = sorted((folder / f"part={part}").glob("*.parquet"))
        if not files:
            continue
        lines = pl.read_parquet(files)
        of_part = {"parts": parts, "part": part}
        placements = con.sql(_OF_PART.format(table="_placements"), params=of_part).pl()
        utilization = con.sql(_OF_PART.format(table="_utilization"), params=of_part).pl()
        result = attribute.allocate(
            lines.lazy(), placements.lazy(), workloads.lazy(), utilization.lazy(), settings, pending
        ).join(lines.select("line_id", *_LINE_DIMENSIONS), on="line_id")
        del lines, placements, utilization
        if pending:
            waits = pl.col("reason") == rules.PENDING
            waiting.append(result.filter(waits))
            totals.append(attribute.team_totals(result, settings))
            result = result.filter(~waits)
        written = _add(written, _keep(result, done, str(part)))
        del result
        if parts > 1:
            notice(f"attributed part {part + 1} of {parts}")
    if pending and waiting:
        shared = attribute.spread_pending(pl.concat(waiting), pl.concat(totals), settings)
        written = _add(written, _keep(shared, done, "shared"))
    return written


def _replace(
    con: duckdb.DuckDBPyConnection,
    start: datetime,
    end: datetime,
    done: Path,
    written: PeriodResult,
    lines: str,
    params: dict[str, object],
) -> PeriodResult:
    """In one transaction: drop the period's allocations, insert the parts' (from `done`) and the unclaimable lines'."""
    unclaimable = f"(SELECT * FROM ({lines}) WHERE NOT claimable)"
    with transaction(con), unordered_inserts(con):  # rows carry their line ids; their order means nothing
        for table in ("allocations", "daily_allocations"):
            con.execute(
                f"DELETE FROM {table} WHERE billing_period_start >= ? AND billing_period_start < ?", [start, end]
            )
        if written.allocations:
            kept = str(done).replace("'", "''")
            con.execute(
                "INSERT INTO allocations BY NAME SELECT *, current_timestamp AS computed_at "
                f"FROM read_parquet('{kept}/allocations-*.parquet')"
            )
            con.execute(f"INSERT INTO daily_allocations BY NAME SELECT * FROM read_parquet('{kept}/daily-*.parquet')")
        inserted = fetch_one(con, f"INSERT INTO allocations BY NAME SELECT {_UNATTRIBUTED} FROM {unclaimable}", params)
        con.execute(
            f"INSERT INTO daily_allocations BY NAME SELECT {_UNATTRIBUTED_DAILY} FROM {unclaimable} GROUP BY ALL",
            params,
        )
    count = int(inserted[0]) if inserted else 0
    return _add(written, PeriodResult("", 0, count, {"unattributed": count} if count else {}))


@contextmanager
def _spill_folder(con: duckdb.DuckDBPyConnection) -> Iterator[str | None]:
    """DuckDB's temp_directory ([store] temp_directory), where the period's lines wait for their part.

    A folder made for this is removed again when it is left empty.
    """
    row = fetch_one(con, "SELECT current_setting('temp_directory')")
    if not row or not row[0]:
        yield None
        return
    folder = Path(str(row[0]))
    made = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        yield str(folder)
    finally:
        if made:
            with suppress(OSError):
                folder.rmdir()


def _add(total: PeriodResult, part: PeriodResult) -> PeriodResult:
    buckets = dict(total.by_bucket)
    for bucket, count in part.by_bucket.items():
        buckets[bucket] = buckets.get(bucket, 0) + count
    return PeriodResult(total.period, total.lines, total.allocations + part.allocations, buckets)


# What daily_allocations (migration 0006) keeps of a line beside its allocations.
_LINE_DIMENSIONS = ["category", "frequency", "service", "sub_account_id", "sub_account_name"]

# An unclaimable line's allocation row, as the `unattributed` rule gives it: the whole line, no GPU-hours.
_UNATTRIBUTED = f"""
    period_start AS billing_period_start, line_id AS line_item_id, 'unattributed' AS bucket,
    NULL AS workload_source, NULL AS workload_id, NULL AS workload_kind, team_tag AS team, 'unattributed' AS rule,
    {rules.UNATTRIBUTED_REASON_SQL} AS reason, resource AS resource_id, currency AS billing_currency,
    billed_cost, effective_cost, list_cost, NULL AS gpu_hours, NULL AS used_gpu_hours, current_timestamp AS computed_at
"""
# Their daily_allocations rows (as `_daily` groups the parts' rows); GROUP BY ALL follows.
_UNATTRIBUTED_DAILY = f"""
    line_id // {ROW_ID_FACTOR} AS batch_id, period_start AS billing_period_start,
    CAST(timezone('UTC', start) AS DATE) AS day, "end" - start > INTERVAL 1 DAY AS is_over_a_day,
    frequency AS ChargeFrequency, category AS ChargeCategory, service AS ServiceName,
    sub_account_id AS SubAccountId, sub_account_name AS SubAccountName, resource AS resource_id,
    currency AS billing_currency, 'unattributed' AS bucket, NULL AS workload_source, NULL AS workload_id,
    NULL AS workload_kind, team_tag AS team, sum(billed_cost) AS billed_cost, sum(effective_cost) AS effective_cost,
    sum(list_cost) AS list_cost, count(*) AS allocations
"""


def _daily(result: pl.DataFrame) -> pl.DataFrame:
    """`result`'s allocations summed per day and the dimensions alerts filter on (rows of daily_allocations)."""
    return result.group_by(
        batch_id=pl.col("line_id") // ROW_ID_FACTOR,
        billing_period_start=pl.col("period_start"),
        day=pl.col("start").dt.convert_time_zone("UTC").dt.date(),
        is_over_a_day=(pl.col("end") - pl.col("start")) > timedelta(days=1),
        ChargeFrequency=pl.col("frequency"),
        ChargeCategory=pl.col("category"),
        ServiceName=pl.col("service"),
        SubAccountId=pl.col("sub_account_id"),
        SubAccountName=pl.col("sub_account_name"),
        resource_id=pl.col("resource"),
        billing_currency=pl.col("currency"),
        bucket=pl.col("bucket"),
        workload_source=pl.col("workload_source"),
        workload_id=pl.col("workload_id"),
        workload_kind=pl.col("workload_kind"),
        team=pl.col("team"),
    ).agg(
        pl.col("billed_cost").sum(),
        pl.col("effective_cost").sum(),
        # Σ of a group whose list costs are all null is null, as SQL's sum.
        pl.when(pl.col("list_cost").is_not_null().any()).then(pl.col("list_cost").sum()),
        allocations=pl.len(),
    )


def _keep(result: pl.DataFrame, folder: Path, name: str) -> PeriodResult:
    """Write `result` as rows of allocations and daily_allocations to Parquet files in `folder`."""
    rows = result.select(
        pl.col("period_start").alias("billing_period_start"),
        pl.col("line_id").alias("line_item_id"),
        "bucket",
        "workload_source",
        "workload_id",
        "workload_kind",
        "team",
        "rule",
        "reason",
        pl.col("resource").alias("resource_id"),
        pl.col("currency").alias("billing_currency"),
        *attribute.BASES,
        "gpu_hours",
        "used_gpu_hours",
    )
    rows.write_parquet(folder / f"allocations-{name}.parquet", compression="lz4")
    _daily(result).write_parquet(folder / f"daily-{name}.parquet", compression="lz4")
    buckets = dict(result.group_by("bucket").len().iter_rows())
    return PeriodResult("", 0, result.height, {str(k): int(v) for k, v in buckets.items()})


def _tag_params(settings: AttributionSettings) -> dict[str, str]:
    keys = _tag_keys(settings)
    return {name: key for name, (key, _) in keys.items()} | {
        f"t{i}": key for i, key in enumerate(settings.team_tag_keys)
    }


def _tag_keys(settings: AttributionSettings) -> dict[str, tuple[str, str]]:
    """Parameter name -> (tag key, workload kind), run keys before deployment keys."""
    keys = [(k, "training") for k in settings.run_tag_keys] + [(k, "deployment") for k in settings.deployment_tag_keys]
    return {f"k{i}": pair for i, pair in enumerate(keys)}


_NULL = "CAST(NULL AS VARCHAR)"  # a typed null: Polars joins need text columns even when no key is configured


def _lines_sql(settings: AttributionSettings) -> str:
    """The line query with one bound tag key per configured key (keys are bound, never formatted in)."""
    keys = _tag_keys(settings)
    present = [f"li.Tags[${name}] IS NOT NULL" for name in keys]
    run_tag = "coalesce(" + ", ".join(f"li.Tags[${name}]" for name in keys) + ")" if keys else _NULL
    run_key = "CASE " + " ".join(f"WHEN {p} THEN ${n}" for p, n in zip(present, keys, strict=True)) + " END"
    run_kind = (
        "CASE "
        + " ".join(f"WHEN {p} THEN '{kind}'" for p, (_, (_, kind)) in zip(present, keys.items(), strict=True))
        + " END"
    )
    teams = [f"li.Tags[$t{i}]" for i in range(len(settings.team_tag_keys))]
    team_tag = "coalesce(" + ", ".join(teams) + ")" if teams else _NULL
    if not keys:
        run_key = run_kind = _NULL
    return _LINES.format(run_tag=run_tag, run_tag_key=run_key, run_tag_kind=run_kind, team_tag=team_tag)


def _claimed_lines_sql(settings: AttributionSettings) -> str:
    """The period's lines with `claimable`: whether a configured rule before `unattributed` might claim them."""
    placed = "coalesce(resource IN (SELECT resource FROM _placements), false) AS placed"
    return (
        f"SELECT * EXCLUDE (placed), coalesce({rules.might_claim_sql(settings)}, true) AS claimable "
        f"FROM (SELECT *, {placed} FROM ({_lines_sql(settings)}))"
    )
