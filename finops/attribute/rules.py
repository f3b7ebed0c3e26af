"""The attribution rules: each takes the line items no earlier rule claimed and returns its targets.

A target row is (line_id, bucket, workload_source, workload_id, workload_kind, team, rule, reason,
num, den): the line's cost goes to the target in the proportion num/den (Σ num == den per line).
Rules are pure Polars over LazyFrames. Time is weighed in whole seconds of what was paid for
(`paid_seconds`), so the weights stay integers and money splits exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl

from finops.attribute.split import to_units
from finops.config import AttributionSettings

# SageMaker and Vertex AI resources that belong to one managed job or endpoint.
MANAGED = (
    r"^arn:aws:sagemaker:[^:]*:[^:]*:(training-job|endpoint|processing-job|transform-job|"
    r"hyper-parameter-tuning-job|notebook-instance)/"
    r"|/(customJobs|trainingPipelines|hyperparameterTuningJobs|endpoints|batchPredictionJobs)/"
)
# ConsumedUnit values that measure time (compared in lower case), in seconds per unit.
TIME_UNITS = {
    **dict.fromkeys(("hrs", "hr", "hours", "hour", "h"), 3600),
    **dict.fromkeys(("seconds", "second", "secs", "sec", "s"), 1),
}
# Providers whose usage lines bill whole instances, so that a time quantity is instance time: AWS
# (EC2 and SageMaker instance usage: 'Hrs' in the CUR, 'Hours' in its FOCUS export; 2 per hour for two
# instances; an hour covered in part by a Savings Plan is two lines whose quantities add up). Not Google
# Cloud: it bills an instance's cores, memory and GPUs on lines of their own, each in its own unit-time
# (8 core-hours for an hour of a g2-standard-8, 7200 GPU-seconds for an hour of 2 GPUs), which is not the
# instance's time. Other providers are not in the list until their quantities are known to mean that.
INSTANCE_TIME_PROVIDERS = ("aws", "amazon web services")
# Instance time counts up to 10^9 hours a line (so sums stay inside Int128) and 2^40 seconds (~35,000
# instance-years) a resource and charge period (so seconds × GPU capacity stays inside Int64).
_MAX_LINE_UNITS = 10**9 * 10**18
_MAX_PAID_S = 2**40
# Where a placement without an end (still running) is taken to end, for range joins.
_OPEN_END = datetime(9999, 1, 1, tzinfo=UTC)
TARGET_COLUMNS = {
    "line_id": pl.Int64,
    "bucket": pl.String,
    "workload_source": pl.String,
    "workload_id": pl.String,
    "workload_kind": pl.String,
    "team": pl.String,
    "rule": pl.String,
    "reason": pl.String,
    "num": pl.Int64,
    "den": pl.Int64,
}


@dataclass(frozen=True)
class Context:
    """What rules see besides the unclaimed lines."""

    placements: pl.LazyFrame
    workloads: pl.LazyFrame
    allocated: pl.LazyFrame  # money shares of the earlier rules (for shared cost)
    settings: AttributionSettings
    pending_shared: bool = False  # claim shared lines whole (1/1); `spread` splits them once team totals are known


# The reason on a shared line claimed whole while the period's team totals are still being summed.
PENDING = "pending team totals"


Rule = Callable[[pl.LazyFrame, Context], pl.LazyFrame]


# The target columns of a share no workload takes (idle, shared, unattributed).
NO_WORKLOAD = {"workload_source": None, "workload_id": None, "workload_kind": None}


def targets(frame: pl.LazyFrame, **constants: str | int | None) -> pl.LazyFrame:
    """`frame` with constant columns added and only the target columns, in order, typed."""
    frame = frame.with_columns(**{k: pl.lit(v) for k, v in constants.items()})
    return frame.select([pl.col(name).cast(kind) for name, kind in TARGET_COLUMNS.items()])


def paid_seconds() -> pl.Expr:
    """The seconds of instance time paid for on a line's resource in its charge period; else the period's.

    The instance-time quantities (TIME_UNITS, INSTANCE_TIME_PROVIDERS) of the usage lines of one
    (resource, charge period) add up: a spot instance reclaimed at 10:40 bills 0.6667 h of its 10:00
    hour, two instances bill 2 h an hour, a Savings Plan and on demand share an hour in two lines. The
    sum is rounded to whole seconds: instance time is billed by the second and stated in hours to at
    least 4 decimals (0.36 s), so rounding recovers the billed seconds (0.6667 h is 2400 s, not
    2400.12), keeps GPU-time weights integers, and a run placed for all of those seconds takes all of
    the cost. With no such quantity (null, 0, another unit or provider) a line counts its whole period.
    """
    per_unit = pl.col("unit").str.to_lowercase().replace_strict(TIME_UNITS, default=None, return_dtype=pl.Int64)
    quantity = to_units("quantity")
    counts = (
        (pl.col("category") == "Usage")
        & pl.col("provider").str.to_lowercase().is_in(INSTANCE_TIME_PROVIDERS)
        & per_unit.is_not_null()
        & (quantity > 0)
        & (quantity <= _MAX_LINE_UNITS)
    ).fill_null(False)
    units = pl.when(counts).then(quantity * per_unit.cast(pl.Int128)).otherwise(pl.lit(0, pl.Int128))
    total = units.sum().over("resource", "start", "end")
    seconds = (total + 10**18 // 2) // 10**18
    usable = pl.col("resource").is_not_null() & (seconds > 0) & (seconds <= _MAX_PAID_S)
    return pl.when(usable).then(seconds.cast(pl.Int64)).otherwise(pl.col("period_s")).alias("paid_s")


def direct(lines: pl.LazyFrame, ctx: Context) -> pl.LazyFrame:
    """Lines tagged with a run or deployment, or billed on a managed job's own resource, go wholly to it.

    A managed resource (an endpoint, a job) can be used by several workloads in turn; its line goes to
    the workload placed on it for most of the line's charge period, else to the one placed nearest in
    time, else to the workload named like the resource (ties by source and id).
    """
    workloads = ctx.workloads.with_columns(
        _id=pl.col("workload_id").str.to_lowercase(), _name=pl.col("name").str.to_lowercase()
    )
    tagged = lines.filter(pl.col("run_tag").is_not_null()).with_columns(_key=pl.col("run_tag").str.to_lowercase())
    candidates = pl.concat(
        [
            tagged.join(workloads, left_on="_key", right_on="_id").with_columns(_prio=pl.lit(0)),
            tagged.join(workloads, left_on="_key", right_on="_name").with_columns(_prio=pl.lit(1)),
        ],
        how="diagonal_relaxed",
    ).with_columns(_prio=pl.col("_prio") + (pl.col("kind") != pl.col("run_tag_kind")).cast(pl.Int32) * 2)
    best = _first(candidates, ["_prio", "workload_source", "workload_id"])
    by_tag = tagged.join(
        best.select("line_id", "workload_source", "workload_id", "kind", "team"), on="line_id", how="left"
    )
    by_tag = by_tag.with_columns(
        workload_id=pl.coalesce("workload_id", "run_tag"),
        workload_kind=pl.coalesce("kind", "run_tag_kind"),
        team=pl.coalesce("team", "team_tag"),
        reason=pl.lit("tag ") + pl.col("run_tag_key"),
    )
    managed = lines.filter(pl.col("run_tag").is_null() & pl.col("resource").str.contains(MANAGED).fill_null(False))
    job = pl.col("resource").str.extract(r"[/:]([^/:]+)$", 1).str.to_lowercase()
    line_times = managed.select("line_id", "resource", "start", "end")
    spans = ctx.placements.select(
        "resource", "workload_source", "workload_id", _from=pl.col("start"), _to=pl.col("end")
    )
    # Seconds of the charge period the placement covers; negative: how far apart they are.
    signed = (
        pl.min_horizontal("end", pl.col("_to").fill_null(pl.col("end"))) - pl.max_horizontal("start", "_from")
    ).dt.total_seconds()
    on_resource = (
        line_times.join(spans, on="resource")
        .with_columns(_signed=signed)
        .group_by("line_id", "workload_source", "workload_id")
        .agg(_overlap=pl.col("_signed").clip(lower_bound=0).sum(), _gap=-pl.col("_signed").max())
        .with_columns(_prio=pl.when(pl.col("_overlap") > 0).then(0).otherwise(1))
    )
    by_name = (
        managed.with_columns(_key=job)
        .join(workloads, left_on="_key", right_on="_id")
        .with_columns(_prio=pl.lit(2), _overlap=pl.lit(0, pl.Int64), _gap=pl.lit(0, pl.Int64))
    )
    owners = pl.concat([on_resource, by_name], how="diagonal_relaxed").select(
        "line_id", "workload_source", "workload_id", "_prio", "_overlap", "_gap"
    )
    most_overlap_first = [False, True, False, False, False]
    owner = _first(owners, ["_prio", "_overlap", "_gap", "workload_source", "workload_id"], most_overlap_first).join(
        ctx.workloads.select("workload_source", "workload_id", "kind", "team"), on=["workload_source", "workload_id"]
    )
    by_arn = managed.join(owner.drop("_prio", "_overlap", "_gap"), on="line_id").with_columns(
        workload_kind=pl.col("kind"), team=pl.coalesce("team", "team_tag"), reason=pl.lit("resource id")
    )
    found = pl.concat(
        [
            targets(by_tag, bucket="workload", rule="direct", num=1, den=1),
            targets(by_arn, bucket="workload", rule="direct", num=1, den=1),
        ]
    )
    return found


def time_share(lines: pl.LazyFrame, ctx: Context) -> pl.LazyFrame:
    """Lines of placed resources split by GPU-time: overlap × GPUs ÷ (paid seconds × capacity); the rest is idle.

    Paid seconds are the instance time the resource's lines bill in the charge period (`paid_seconds`),
    else the period: an instance gone at :40 has no idle after :40, two instances have twice the room.
    Placements claiming more than was paid for are scaled down to share it, with no idle.

    A resource without known GPU capacity takes its capacity from the widest GPU claim on it; with no
    GPU claims at all it is not a GPU resource: workloads share it by time alone and the unoccupied
    rest is unattributed, never idle (idle names GPUs nobody used).
    """
    timed = lines.filter(pl.col("resource").is_not_null() & (pl.col("end") > pl.col("start")))
    # Each line with the placements on its resource that overlap it (an open placement runs on): a range
    # join, not every placement of the resource's month against every line of it.
    spans = ctx.placements.rename({"resource": "_resource", "start": "start_p", "end": "end_p"})
    placed = timed.join_where(
        spans.with_columns(_until=pl.col("end_p").fill_null(_OPEN_END)),
        pl.col("resource") == pl.col("_resource"),
        pl.col("start") < pl.col("_until"),
        pl.col("end") > pl.col("start_p"),
    ).drop("_resource", "_until")
    overlap = (
        pl.min_horizontal("end", pl.col("end_p").fill_null(pl.col("end"))) - pl.max_horizontal("start", "start_p")
    ).dt.total_seconds()
    placed = placed.with_columns(_overlap=overlap)
    # The line's GPU capacity: known, else the widest claim on it; 0 means "not a GPU resource".
    widest = pl.col("gpu_milli").fill_null(0).max().over("line_id")
    placed = placed.with_columns(_capacity=pl.coalesce(pl.col("capacity_milli"), widest))
    is_gpu = pl.col("_capacity") > 0
    gpus = pl.when(is_gpu).then(pl.coalesce("gpu_milli", "_capacity")).otherwise(pl.lit(1000, pl.Int64))
    placed = placed.with_columns(_num=pl.col("_overlap") * gpus)
    per_workload = placed.group_by("line_id", "workload_source", "workload_id").agg(
        num=pl.col("_num").sum(),
        workload_kind=pl.col("kind").min(),
        team=pl.coalesce(pl.col("team").min(), pl.col("team_tag").first()),
        _full=pl.col("paid_s").first() * pl.when(is_gpu).then(pl.col("_capacity")).otherwise(1000).first(),
        _gpu=is_gpu.first(),
    )
    per_line = (
        per_workload.group_by("line_id")
        .agg(_claimed=pl.col("num").sum(), _full=pl.col("_full").first(), _gpu=pl.col("_gpu").first())
        .with_columns(den=pl.max_horizontal("_claimed", "_full"))
    )
    workload_rows = per_workload.drop("_full", "_gpu").join(per_line.select("line_id", "den"), on="line_id")
    rest = (
        per_line.filter(pl.col("den") > pl.col("_claimed"))
        .join(lines, on="line_id")
        .with_columns(num=pl.col("den") - pl.col("_claimed"), team=pl.col("team_tag"))
    )
    # A GPU resource's line that no placement overlaps is idle as a whole.
    empty = (
        timed.filter(pl.col("capacity_milli") > 0)
        .join(per_line, on="line_id", how="anti")
        .with_columns(team=pl.col("team_tag"))
    )
    nobody = {**NO_WORKLOAD, "rule": "time_share"}
    return pl.concat(
        [
            targets(workload_rows, bucket="workload", rule="time_share", reason="gpu time"),
            targets(rest.filter(pl.col("_gpu")), bucket="idle", reason="unoccupied", **nobody),
            targets(rest.filter(~pl.col("_gpu")), bucket="unattributed", reason="unoccupied (no GPUs)", **nobody),
            targets(empty, bucket="idle", reason="no workload recorded", num=1, den=1, **nobody),
        ]
    )


def shared(lines: pl.LazyFrame, ctx: Context) -> pl.LazyFrame:
    """Tax, support and commitment lines spread over teams (proportional or even), or kept as shared."""
    s = ctx.settings
    is_shared = pl.col("category").is_in(list(s.shared_charge_categories)) | pl.col("service").is_in(
        list(s.shared_services)
    )
    if s.shared_commitments:
        is_shared = (
            is_shared
            | (pl.col("commitment_status") == "Unused")
            | ((pl.col("category") == "Purchase") & pl.col("commitment_id").is_not_null())
        )
    chosen = lines.filter(is_shared.fill_null(False))
    if s.shared_mode == "keep" or ctx.pending_shared:
        return targets(
            chosen.with_columns(team=pl.lit(None)),
            bucket="shared",
            **NO_WORKLOAD,
            rule="shared",
            reason="kept shared" if s.shared_mode == "keep" else PENDING,
            num=1,
            den=1,
        )
    return spread(chosen, team_totals(ctx.allocated), s)


def team_totals(allocated: pl.LazyFrame) -> pl.LazyFrame:
    """Workload spend per (currency, team): what shared cost is spread over."""
    return (
        allocated.filter((pl.col("bucket") == "workload") & pl.col("team").is_not_null())
        .group_by("currency", "team")
        .agg(_total=pl.col("effective_cost").sum())
    )


def spread(chosen: pl.LazyFrame, totals: pl.LazyFrame, s: AttributionSettings) -> pl.LazyFrame:
    """Shared lines (line_id, currency) over the teams of `totals` (currency, team, _total) with spend."""
    teams = totals.filter(pl.col("_total") > 0)
    teams = teams.with_columns(num=_weights("_total") if s.shared_mode == "proportional" else pl.lit(1, pl.Int64))
    teams = teams.filter(pl.col("num") > 0)
    over_teams = chosen.join(teams.select("currency", "team", "num"), on="currency").with_columns(
        den=pl.col("num").sum().over("line_id")
    )
    alone = chosen.join(over_teams.select("line_id").unique(), on="line_id", how="anti")
    return pl.concat(
        [
            targets(
                over_teams,
                bucket="shared",
                **NO_WORKLOAD,
                rule="shared",
                reason=s.shared_mode,
            ),
            targets(
                alone.with_columns(team=pl.lit(None)),
                bucket="shared",
                **NO_WORKLOAD,
                rule="shared",
                reason="no team cost to spread over",
                num=1,
                den=1,
            ),
        ]
    )


def unattributed(lines: pl.LazyFrame, ctx: Context) -> pl.LazyFrame:
    """Whatever is left, with why."""
    reason = (
        pl.when(pl.col("resource").is_null())
        .then(pl.lit("no resource id"))
        .when(pl.col("team_tag").is_not_null())
        .then(pl.lit("team tag, no workload"))
        .otherwise(pl.lit("no tag or placement"))
    )
    return targets(
        lines.with_columns(reason=reason, team=pl.col("team_tag")),
        bucket="unattributed",
        **NO_WORKLOAD,
        rule="unattributed",
        num=1,
        den=1,
    )


REGISTRY: dict[str, Rule] = {
    "direct": direct,
    "time_share": time_share,
    "shared": shared,
    "unattributed": unattributed,
}

# The same decisions in DuckDB SQL, over the columns of the period's lines (plus `placed`: the line's
# resource has a placement in the period), so a month's many lines that only `unattributed` can claim
# (storage, transfer, requests ...) are written inside the store without passing through Polars.
# For each rule but `unattributed`: true for every line the rule might claim (a superset: a line it
# names goes through the Polars rules as any other). tests/test_attribute.py checks both against the rules.
MIGHT_CLAIM_SQL: dict[str, str] = {
    "direct": "run_tag IS NOT NULL OR coalesce(regexp_matches(resource, $managed), false)",
    "time_share": "placed OR coalesce(capacity_milli > 0, false)",
    "shared": "coalesce(list_contains(CAST($shared_categories AS VARCHAR[]), category)"
    " OR list_contains(CAST($shared_services AS VARCHAR[]), service)"
    " OR ($shared_commitments AND (commitment_status = 'Unused'"
    " OR (category = 'Purchase' AND commitment_id IS NOT NULL))), false)",
}
# `unattributed`'s reason and team, as the rule gives them.
UNATTRIBUTED_REASON_SQL = (
    "CASE WHEN resource IS NULL THEN 'no resource id' "
    "WHEN team_tag IS NOT NULL THEN 'team tag, no workload' ELSE 'no tag or placement' END"
)


def might_claim_sql(settings: AttributionSettings) -> str:
    """SQL true for the lines some configured rule before `unattributed` might claim."""
    names = [name for name in settings.rules if name != "unattributed"]
    return " OR ".join(f"({MIGHT_CLAIM_SQL[name]})" for name in names) or "false"


def might_claim_params(settings: AttributionSettings) -> dict[str, object]:
    """The values `might_claim_sql(settings)` binds (only those: DuckDB refuses unused parameters)."""
    values: dict[str, object] = {
        "managed": MANAGED,
        "shared_categories": list(settings.shared_charge_categories),
        "shared_services": list(settings.shared_services),
        "shared_commitments": settings.shared_commitments,
    }
    sql = might_claim_sql(settings)
    return {name: value for name, value in values.items() if f"${name}" in sql}


def _weights(total: str) -> pl.Expr:
    """Team totals as Int64 weights keeping 12 significant digits of the largest total per currency.

    Exact for totals that differ only past that (3:1 stays 3:1); small enough that cost × weight fits Int128.
    """
    units = to_units(total)
    digits = units.cast(pl.String).str.len_chars().max().over("currency")
    scale = pl.lit(10, pl.Int128).pow(pl.max_horizontal(digits - 12, pl.lit(0)).cast(pl.UInt32))
    return (units // scale).cast(pl.Int64)


def _first(frame: pl.LazyFrame, order: list[str], descending: list[bool] | None = None) -> pl.LazyFrame:
    """The first row per line_id by `order` (ascending unless `descending` says otherwise; deterministic)."""
    flags = [False, *(descending or [False] * len(order))]
    return frame.sort(["line_id", *order], descending=flags).group_by("line_id", maintain_order=True).first()
