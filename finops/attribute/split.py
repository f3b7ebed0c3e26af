"""Exact money splits: integer units of 1e-18 and the largest-remainder rule, in Polars.

A line item's cost is split between its targets by integer weights num/den (Σ num == den). Each
share is floor(|units| × num / den); the few units left over go one each to the targets with the
largest remainders (ties by target order), then the sign is put back. So for every line and every
basis Σ shares == cost to the last 1e-18, and no share of a positive line is negative.
"""

from __future__ import annotations

from decimal import Context, Decimal

import polars as pl

from finops.errors import FinopsError

SCALE = 18
MONEY = pl.Decimal(38, SCALE)
_EXACT = Context(prec=80)  # Decimal arithmetic wide enough for any DECIMAL(38, 18) value
_SAFE = float(2**120)  # |units| × den below this stays inside Int128 with room for float estimation error
_ZERO = pl.lit(0, pl.Int128)  # Polars has no unary minus on Int128


def to_units(column: str) -> pl.Expr:
    """A Decimal(38, 18) column as an Int128 count of 1e-18 (exact: a Decimal's physical value is its units)."""
    return pl.col(column).cast(MONEY).to_physical()


def from_units(column: str, scale: int = SCALE) -> pl.Expr:
    """An Int128 count of 10^-scale as Decimal(38, 18) (exact: units × 10^-scale in Decimal arithmetic)."""
    step = pl.lit(Decimal(1).scaleb(-scale), pl.Decimal(38, scale))
    return (pl.col(column).cast(pl.Decimal(38, 0)) * step).cast(MONEY)


def split(shares: pl.DataFrame, bases: list[str]) -> pl.DataFrame:
    """Replace each cost column of `bases` (the line's cost, repeated on each target row) by its share.

    `shares` has one row per (line_id, target) with Int64 `num`, `den` (Σ num == den > 0 per line) and
    a `rank_key` string that orders targets for ties. Null costs stay null. Lines whose |cost| × den
    would not fit Int128 (above ~10^20 cost units × weight) are split in Python integers instead.
    """
    if shares.filter(pl.col("den") <= 0).height:
        raise FinopsError("attribution produced a zero weight total for a line item; this is a bug, please report it")
    frame = shares.sort(["line_id", "rank_key"])
    # A line's only target takes all of it (num == den): nothing to split.
    many = pl.len().over("line_id") > 1
    whole, frame = frame.filter(~many), frame.filter(many)
    risky = pl.any_horizontal(
        [to_units(b).abs().cast(pl.Float64) * pl.col("den").cast(pl.Float64) >= _SAFE for b in bases]
    ).fill_null(False)
    large = frame.filter(risky.any().over("line_id"))
    small = frame.join(large.select("line_id").unique(), on="line_id", how="anti")
    lazy = small.lazy()
    for basis in bases:
        lazy = _split_one(lazy, basis)
    parts = [whole, lazy.collect()]
    if large.height:
        parts.append(_split_exact(large, bases))
    return pl.concat(parts).sort(["line_id", "rank_key"])


def _split_one(frame: pl.LazyFrame, basis: str) -> pl.LazyFrame:
    units = f"_{basis}_units"
    scaled = f"_{basis}_scaled"
    frame = frame.with_columns(to_units(basis).alias(units))
    frame = frame.with_columns((pl.col(units).abs() * pl.col("num").cast(pl.Int128)).alias(scaled))
    floor = pl.col(scaled) // pl.col("den").cast(pl.Int128)
    remainder = pl.col(scaled) % pl.col("den").cast(pl.Int128)
    frame = frame.with_columns(floor.alias("_floor"), remainder.alias("_rem"))
    missing = pl.col(units).abs().first().over("line_id") - pl.col("_floor").sum().over("line_id")
    order = pl.int_range(pl.len()).over("line_id", order_by=[_ZERO - pl.col("_rem"), pl.col("rank_key")])
    share = pl.col("_floor") + pl.when(order < missing).then(1).otherwise(0).cast(pl.Int128)
    signed = pl.when(pl.col(units) < 0).then(_ZERO - share).otherwise(share)
    frame = frame.with_columns(signed.alias(units))
    return frame.with_columns(from_units(units).alias(basis)).drop([units, scaled, "_floor", "_rem"])


def _split_exact(frame: pl.DataFrame, bases: list[str]) -> pl.DataFrame:
    """The same largest-remainder split with Python's unbounded integers, for the rare huge lines."""
    columns = {b: frame[b].to_list() for b in bases}
    nums, dens, lines, keys = (
        frame["num"].to_list(),
        frame["den"].to_list(),
        frame["line_id"].to_list(),
        frame["rank_key"].to_list(),
    )
    groups: dict[int, list[int]] = {}
    for i, line in enumerate(lines):
        groups.setdefault(line, []).append(i)
    for basis in bases:
        values = columns[basis]
        for rows in groups.values():
            cost = values[rows[0]]
            if cost is None:
                continue
            units = int(cost.scaleb(SCALE, _EXACT))
            parts = [(abs(units) * nums[i]) // dens[i] for i in rows]
            remainders = [(abs(units) * nums[i]) % dens[i] for i in rows]
            order = sorted(range(len(rows)), key=lambda k: (-remainders[k], keys[rows[k]]))
            for k in order[: abs(units) - sum(parts)]:
                parts[k] += 1
            for k, i in enumerate(rows):
                values[i] = Decimal(parts[k] if units >= 0 else -parts[k]).scaleb(-SCALE, _EXACT)
    return frame.with_columns([pl.Series(b, columns[b], dtype=MONEY) for b in bases])
