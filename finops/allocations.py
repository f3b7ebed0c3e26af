"""`finops attribute`: read a billing period from the store, allocate it, and replace its allocations.

Unit of replacement: the billing period (line items whose BillingPeriodStart falls in the month).
Attributing a period again replaces all its allocations in one transaction; with the same inputs
and settings the rows are identical (only computed_at changes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import duckdb
import polars as pl

from finops import attribute, gpus
from finops.config import AttributionSettings
from finops.errors import FinopsError
from finops.periods import month_bounds
from finops.store import fetch_one, transaction

_LINES = """
WITH period AS (
    SELECT * FROM cost_line_items WHERE BillingPeriodStart >= $start AND BillingPeriodStart < $end
),
types AS (
    SELECT ResourceId,
           max(x_GpuCount) AS gpu_count,
           max(lower(coalesce(
               x_InstanceType,
               nullif(regexp_extract(x_UsageType, ':([^:]+)$', 1), ''),
               nullif(regexp_extract(ChargeDescription, $instance_pattern, 1), '')
           ))) AS instance_type
    FROM period WHERE ResourceId IS NOT NULL GROUP BY ResourceId
),
capacity AS (
    SELECT t.ResourceId, CAST(round(coalesce(r.gpu_count, t.gpu_count, c.gpus) * 1000) AS BIGINT) AS capacity_milli
    FROM types AS t
    LEFT JOIN (SELECT resource_id, max(gpu_count) AS gpu_count FROM resources GROUP BY 1) AS r
        ON r.resource_id = t.ResourceId
    LEFT JOIN _gpu_catalog AS c ON c.instance_type = regexp_replace(t.instance_type, '^ml\\.', '')
)
SELECT
    li.x_LineItemId AS line_id, li.BillingPeriodStart AS period_start, li.BillingCurrency AS currency,
    li.BilledCost AS billed_cost, li.EffectiveCost AS effective_cost, li.ListCost AS list_cost,
    li.ChargePeriodStart AS start, li.ChargePeriodEnd AS "end", li.ChargeCategory AS category,
    li.CommitmentDiscountStatus AS commitment_status, li.CommitmentDiscountId AS commitment_id,
    li.ServiceName AS service, li.ResourceId AS resource, c.capacity_milli,
    {run_tag} AS run_tag, {run_tag_key} AS run_tag_key, {run_tag_kind} AS run_tag_kind, {team_tag} AS team_tag
FROM period AS li LEFT JOIN capacity AS c ON c.ResourceId = li.ResourceId
"""

# An AWS instance type (g5.4xlarge, ml.p4d.24xlarge) or a GCE machine type (a2-highgpu-8g) in free text.
INSTANCE_PATTERN = (
    r"((?:ml\.)?[a-z][a-z0-9-]*\.[0-9]*x?large|[a-z][0-9][a-z]?-(?:high|mega|ultra)?(?:gpu|standard)-[0-9]+g?)"
)

_PLACEMENTS = """
SELECT n.resource_id AS resource, p.source AS workload_source, p.workload_id, w.kind, w.team,
       p.started_at AS start, p.ended_at AS "end", CAST(round(p.gpu_count * 1000) AS BIGINT) AS gpu_milli
FROM workload_placements AS p
JOIN workloads AS w ON w.source = p.source AND w.workload_id = p.workload_id
JOIN _names AS n ON n.name = lower(p.resource_id) AND n.resource_ids = 1
WHERE p.started_at < $until AND (p.ended_at IS NULL OR p.ended_at > $since)
"""

_UTILIZATION = """
WITH spans AS (
    SELECT DISTINCT ResourceId AS resource, ChargePeriodStart AS start, ChargePeriodEnd AS "end"
    FROM cost_line_items WHERE BillingPeriodStart >= $start AND BillingPeriodStart < $end AND ResourceId IS NOT NULL
),
samples AS (
    SELECT n.resource_id AS resource, s.ts, s.utilization
    FROM gpu_samples AS s
    JOIN _names AS n ON n.name = lower(coalesce(s.resource_id, s.host)) AND n.resource_ids = 1
    WHERE s.utilization IS NOT NULL AND s.ts >= $since AND s.ts < $until
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
) -> PeriodResult:
    """Allocate one billing month and replace its allocations atomically."""
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
    ambiguous = fetch_one(
        con,
        "SELECT count(*) FROM _names WHERE resource_ids > 1 AND name IN (SELECT lower(resource_id) "
        "FROM workload_placements UNION SELECT lower(coalesce(resource_id, host)) FROM gpu_samples)",
    )
    if ambiguous and ambiguous[0]:
        notice(f"{ambiguous[0]} host name(s) match several billed resources and are not used; see [bridge]")
    con.register("_gpu_catalog", gpus.catalog_table(con))
    try:
        lines = con.sql(
            _lines_sql(settings),
            params={"start": start, "end": end, "instance_pattern": INSTANCE_PATTERN, **_tag_params(settings)},
        ).pl()
        placements = con.sql(_PLACEMENTS, params={"since": since, "until": until}).pl()
        workloads = con.sql("SELECT source AS workload_source, workload_id, name, kind, team FROM workloads").pl()
        utilization = con.sql(_UTILIZATION, params={"start": start, "end": end, "since": since, "until": until}).pl()
    finally:
        con.unregister("_gpu_catalog")
        con.execute("DROP TABLE IF EXISTS temp._names")
    result = attribute.allocate(lines.lazy(), placements.lazy(), workloads.lazy(), utilization.lazy(), settings)
    _write(con, result, start, end)
    buckets = dict(result.group_by("bucket").len().iter_rows())
    return PeriodResult(period, lines.height, result.height, {str(k): int(v) for k, v in buckets.items()})


def _write(con: duckdb.DuckDBPyConnection, result: pl.DataFrame, start: datetime, end: datetime) -> None:
    """Replace the period's allocations with `result`, in one transaction."""
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
    ).to_arrow()
    with transaction(con):
        con.execute(
            "DELETE FROM allocations WHERE billing_period_start >= ? AND billing_period_start < ?", [start, end]
        )
        con.register("_new_allocations", rows)
        try:
            con.execute(
                "INSERT INTO allocations BY NAME SELECT *, current_timestamp AS computed_at FROM _new_allocations"
            )
        finally:
            con.unregister("_new_allocations")


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
