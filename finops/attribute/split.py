"""Exact money splits: integer units of 1e-18 and the largest-remainder rule, in Polars.

A line item's cost is split between its targets by integer weights num/den (Σ num == den). Each
share is floor(|units| × num / den); the few units left over go one each to the targets with the
largest remainders (ties by target order), then the sign is put back. So for every line and every
basis Σ shares == cost to the last 1e-18, and no share of a positive line is negative.
"""

from __future__ import annotations

import polars as pl

from finops.errors import FinopsError

SCALE = 18
MONEY = pl.Decimal(38, SCALE)
_LIMIT = 2**126  # |units| × num must stay inside Int128
_ZERO = pl.lit(0, pl.Int128)  # Polars has no unary minus on Int128


def to_units(column: str) -> pl.Expr:
    """A Decimal(38, 18) column as an Int128 count of 1e-18 (exact: through its text)."""
    text = pl.col(column).cast(MONEY).cast(pl.String).str.replace(".", "", literal=True)
    return text.str.to_integer(dtype=pl.Int128, strict=True)


def from_units(column: str, scale: int = SCALE) -> pl.Expr:
    """An Int128 count of 10^-scale as Decimal(38, 18) (exact: through its text)."""
    digits = pl.col(column).abs().cast(pl.String).str.zfill(scale + 1)
    sign = pl.when(pl.col(column) < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    whole = digits.str.slice(0, digits.str.len_chars() - scale)
    text = sign + whole + pl.lit(".") + digits.str.slice(-scale)
    return text.str.to_decimal(scale=SCALE)


def split(shares: pl.LazyFrame, bases: list[str]) -> pl.LazyFrame:
    """Replace each cost column of `bases` (the line's cost, repeated on each target row) by its share.

    `shares` has one row per (line_id, target) with Int64 `num`, `den` (Σ num == den per line) and a
    `rank_key` string that orders targets for ties. Null costs stay null.
    """
    frame = shares.sort(["line_id", "rank_key"])
    for basis in bases:
        frame = _split_one(frame, basis)
    return frame


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


def check_range(frame: pl.DataFrame, bases: list[str]) -> None:
    """Refuse a split whose |units| × num could leave Int128 (a single line of ~10^8 dollars per second)."""
    for basis in bases:
        worst = frame.select((to_units(basis).abs().cast(pl.Float64) * pl.col("den").cast(pl.Float64)).max()).item()
        if worst is not None and worst >= _LIMIT:
            raise FinopsError(f"a line item's {basis} is too large to split exactly; report this with the line's id")
