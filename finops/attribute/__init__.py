"""Attribution: every line item's cost to workloads, idle GPUs, shared cost or unattributed, exactly.

`allocate` is pure Polars (no IO): it takes the period's line items, placements, workloads and GPU
utilisation as LazyFrames and returns one row per (line item × target). Rules run in the configured
order; each claims whole line items, which later rules no longer see. For every line item and every
cost basis, the shares add up to the line's cost to the last 1e-18 (finops.attribute.split). Time on a
resource counts the seconds its lines paid for (rules.paid_seconds), not the charge period's: a
partial hour or several instances weigh what they cost.
"""

from __future__ import annotations

import polars as pl

from finops.attribute import rules
from finops.attribute.split import MONEY, from_units, split, to_units
from finops.config import AttributionSettings
from finops.errors import ConfigError, FinopsError

BASES = ["billed_cost", "effective_cost", "list_cost"]
LINE_COLUMNS = ["line_id", "period_start", "currency", *BASES, "start", "end", "resource", "capacity_milli"]


def ordered_rules(settings: AttributionSettings) -> list[tuple[str, rules.Rule]]:
    """The configured rules from the registry, with `unattributed` last (it catches everything left)."""
    unknown = [name for name in settings.rules if name not in rules.REGISTRY]
    if unknown:
        raise ConfigError(
            f"[attribution] rules: unknown rule(s) {', '.join(unknown)}; known: {', '.join(rules.REGISTRY)}"
        )
    if "unattributed" in settings.rules and settings.rules[-1] != "unattributed":
        raise ConfigError("[attribution] rules: 'unattributed' takes what is left, so it must come last")
    if settings.shared_mode not in ("proportional", "even", "keep"):
        raise ConfigError(f"[attribution] shared_mode {settings.shared_mode!r}: use proportional, even or keep")
    names = [n for n in settings.rules if n != "unattributed"] + ["unattributed"]
    return [(name, rules.REGISTRY[name]) for name in names]


def allocate(
    lines: pl.LazyFrame,
    placements: pl.LazyFrame,
    workloads: pl.LazyFrame,
    utilization: pl.LazyFrame,
    settings: AttributionSettings,
    pending_shared: bool = False,
) -> pl.DataFrame:
    """Allocation rows for every line item of `lines`, rule by rule; checks conservation before returning.

    With `pending_shared` the shared rule claims its lines whole (reason `rules.PENDING`), for
    `spread_pending` to split once `team_totals` of every part of the period are summed: so a
    period can be allocated in parts (each holding all lines of its resources) with the same result.
    """
    lines = lines.with_columns(period_s=(pl.col("end") - pl.col("start")).dt.total_seconds()).with_columns(
        rules.paid_seconds()
    )
    remaining = lines
    done: list[pl.DataFrame] = []
    allocated = pl.DataFrame(
        schema={"bucket": pl.String, "team": pl.String, "currency": pl.String, "effective_cost": MONEY}
    )
    for _, rule in ordered_rules(settings):
        context = rules.Context(placements, workloads, allocated.lazy(), settings, pending_shared)
        found = rule(remaining, context).collect()
        shares = _money(found, lines)
        done.append(shares)
        allocated = pl.concat([allocated, shares.select(allocated.columns)])
        remaining = remaining.join(found.lazy().select("line_id").unique(), on="line_id", how="anti")
    result = _gpu_hours(pl.concat(done), lines, utilization)
    _check(result, lines)
    return result.sort(["line_id", "bucket", "workload_source", "workload_id", "team"], nulls_last=True)


def needs_team_totals(settings: AttributionSettings) -> bool:
    """Whether the shared rule spreads over team totals (so a period in parts needs `pending_shared`)."""
    return settings.shared_mode != "keep" and any(name == "shared" for name, _ in ordered_rules(settings))


def team_totals(result: pl.DataFrame, settings: AttributionSettings) -> pl.DataFrame:
    """The (currency, team, _total) workload spend of `result` that the shared rule spreads over.

    Only the rules before `shared` count, as in `allocate`; totals of several parts add up.
    """
    names = [name for name, _ in ordered_rules(settings)]
    before = names[: names.index("shared")] if "shared" in names else names
    return rules.team_totals(result.lazy().filter(pl.col("rule").is_in(before))).collect()


def spread_pending(pending: pl.DataFrame, totals: pl.DataFrame, settings: AttributionSettings) -> pl.DataFrame:
    """Split the shared rows `allocate(..., pending_shared=True)` claimed whole over the period's team totals.

    Costs split as the shared rule would have split them; paid GPU-hours by the same weights, rounded
    down to the micro-GPU-hour; used GPU-hours stay whole on each share (as `allocate` gives them).
    """
    totals = totals.group_by("currency", "team").agg(pl.col("_total").sum())
    found = rules.spread(pending.lazy().select("line_id", "currency"), totals.lazy(), settings).collect()
    kept = pending.drop([c for c in rules.TARGET_COLUMNS if c != "line_id"])
    rows = split(found.join(kept, on="line_id").with_columns(rank_key=_rank_key()), BASES).drop("rank_key")
    micro = to_units("gpu_hours") // 10**12
    paid = micro * pl.col("num").cast(pl.Int128) // pl.col("den").cast(pl.Int128)
    rows = rows.with_columns(_paid=paid).with_columns(gpu_hours=from_units("_paid", 6))
    result = rows.select(pending.columns)
    _check(result, pending.lazy())
    return result


def _rank_key() -> pl.Expr:
    return pl.concat_str(
        [
            pl.col("bucket"),
            pl.col("workload_source").fill_null(""),
            pl.col("workload_id").fill_null(""),
            pl.col("team").fill_null(""),
        ],
        separator="/",
    )


def _money(found: pl.DataFrame, lines: pl.LazyFrame) -> pl.DataFrame:
    """The targets with each basis's share of their line's cost."""
    with_costs = found.lazy().join(lines.select([*LINE_COLUMNS, "period_s"]), on="line_id")
    return split(with_costs.with_columns(rank_key=_rank_key()).collect(), BASES).drop("rank_key")


def _gpu_hours(result: pl.DataFrame, lines: pl.LazyFrame, utilization: pl.LazyFrame) -> pl.DataFrame:
    """Paid and used GPU-hours, counted once per resource and charge period.

    Paid GPU-hours are capacity × the hours paid for (rules.paid_seconds: 2/3 of an hour for an instance
    gone at :40, twice the hour for two instances). They go on one line per (resource, charge period) —
    the costliest of the resource's finest-grained lines (a daily line of an instance billed hourly
    carries none) — split by that line's weights, each share rounded down to the micro-GPU-hour. Used
    GPU-hours (paid GPU-hours × mean utilisation of the resource's GPUs) go to its workloads first, up to
    what each paid for; the rest is the idle's.
    """
    gpu_lines = lines.filter(pl.col("capacity_milli") > 0)
    finest = gpu_lines.filter(pl.col("period_s") == pl.col("period_s").min().over("resource"))
    anchors = (
        finest.sort([pl.col("effective_cost").abs(), pl.col("line_id")], descending=[True, False])
        .group_by("resource", "start", "end", maintain_order=True)
        .first()
        .select("line_id", "paid_s")
        .with_columns(_anchor=pl.lit(True))
    )
    # micro-GPU-hours = num/den × capacity_milli/1000 × paid_s/3600 × 10^6, rounded down.
    capacity_micro = pl.col("capacity_milli").cast(pl.Int128) * pl.col("paid_s").cast(pl.Int128) * 1000 // 3600
    paid = pl.col("num").cast(pl.Int128) * capacity_micro // pl.col("den").cast(pl.Int128)
    frame = (
        result.lazy()
        .join(anchors, on="line_id", how="left")
        .join(utilization, on=["resource", "start", "end"], how="left")
        .with_columns(_paid=pl.when(pl.col("_anchor")).then(paid))
    )
    used_total = capacity_micro.cast(pl.Float64) * pl.col("util")
    on_workloads = pl.col("_paid").cast(pl.Float64).filter(pl.col("bucket") == "workload").sum().over("line_id")
    used = (
        pl.when(pl.col("bucket") == "workload")
        .then(pl.col("_paid").cast(pl.Float64) * pl.min_horizontal(pl.lit(1.0), used_total / on_workloads))
        .otherwise(pl.max_horizontal(pl.lit(0.0), used_total - on_workloads.fill_null(0.0)))
    )
    frame = frame.with_columns(_used=pl.when(pl.col("_anchor") & pl.col("util").is_not_null()).then(used))
    return (
        frame.with_columns(_used=pl.col("_used").floor().cast(pl.Int128))
        .with_columns(gpu_hours=from_units("_paid", 6), used_gpu_hours=from_units("_used", 6))
        .drop("_anchor", "paid_s", "util", "_paid", "_used")
        .collect()
    )


def _check(result: pl.DataFrame, lines: pl.LazyFrame) -> None:
    """Every line allocated, and per line and basis Σ shares == cost (an engine bug otherwise)."""
    sums = result.group_by("line_id").agg([pl.col(b).sum().alias(b) for b in BASES])
    compared = lines.select("line_id", *BASES).collect().join(sums, on="line_id", how="left", suffix="_shares")
    for basis in BASES:
        wrong = compared.filter(
            pl.col(f"{basis}_shares").is_null() & pl.col(basis).is_not_null()
            | (pl.col(f"{basis}_shares") != pl.col(basis))
        )
        if wrong.height:
            raise FinopsError(
                f"attribution did not conserve {basis} for line item {wrong['line_id'][0]}; "
                "this is a bug, please report it"
            )
