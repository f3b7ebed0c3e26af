"""The month's two CSV files: hourly and daily rows, closed by support, credit and tax."""

from __future__ import annotations

import csv
import gzip
import io
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from fractions import Fraction
from pathlib import Path
from typing import TextIO

from finops.demo.catalogue import ACCOUNTS, GCE, GCP_RESEARCH, PAYER, SUPPORT, TAX, Account, Provider, Service
from finops.demo.hourly import savings_plan, write_hours
from finops.demo.plan import Planner, plan
from finops.demo.rows import _CENT, HEADER, ZERO, Ledger, Month, _base, _row, _service, money, month_of
from finops.demo.streams import aws_streams, gcp_streams, write_streams

MIN_ROWS = 2000
_TAX_RATE = Decimal("0.0625")
# Of the rows not taken by Savings Plan and month-end rows, the share planned for compute workloads;
# storage and network lines fill the rest.
_WORKLOAD_SHARE = Fraction(1, 2)


def _month_end(
    month: Month,
    account: Account,
    service: Service,
    category: str,
    amount: Decimal,
    description: str,
    last_day: bool = False,
) -> list[str]:
    """A support, tax or credit row: no usage quantities, every cost column the amount."""
    cost = money(amount)
    return _row(
        **_base(month, account),
        **_service(service),
        ChargeCategory=category,
        ChargeFrequency="One-Time" if category == "Credit" else "Recurring",
        ChargePeriodStart=month.stamps[-25 if last_day else 0],
        ChargePeriodEnd=month.stamps[-1],
        ListCost=cost,
        ContractedCost=cost,
        BilledCost=cost,
        EffectiveCost=cost,
        ChargeDescription=description,
    )


def _business_support(charges: Decimal) -> Decimal:
    """AWS Business Support: 10% of the first $10K, 7% to $80K, 5% to $250K, 3% above; at least $100."""
    fee, floor = ZERO, ZERO
    for ceiling, rate in ((10_000, "0.10"), (80_000, "0.07"), (250_000, "0.05"), (None, "0.03")):
        top = charges if ceiling is None else min(charges, Decimal(ceiling))
        fee += max(ZERO, top - floor) * Decimal(rate)
        floor = top if ceiling is None else Decimal(ceiling)
    return max(Decimal(100), fee).quantize(_CENT)


def _write_taxes(out: Ledger, month: Month, provider: Provider) -> None:
    """One tax row per sub account, on its month's charges."""
    for account in ACCOUNTS[provider]:
        tax = max(ZERO, out.billed.get(account.id, ZERO) * _TAX_RATE).quantize(_CENT)
        out.write(_month_end(month, account, TAX, "Tax", tax, "Sales tax (6.25%)", last_day=True), account.id, tax)


def write_aws_month_end(out: Ledger, month: Month) -> None:
    """Business Support on the month's AWS charges, then tax."""
    fee = _business_support(sum(out.billed.values(), ZERO))
    out.write(_month_end(month, PAYER, SUPPORT, "Purchase", fee, "AWS Support (Business) monthly fee"), PAYER.id, fee)
    _write_taxes(out, month, "aws")


def write_gcp_month_end(out: Ledger, month: Month) -> None:
    """A promotional credit on acme-research (20% of its charges, at most $5,000), then tax."""
    credit = -min(Decimal(5000), out.billed.get(GCP_RESEARCH.id, ZERO) / 5).quantize(_CENT, ROUND_DOWN)
    row = _month_end(month, GCP_RESEARCH, GCE, "Credit", credit, "Promotional credit: AI startup program")
    out.write(row, GCP_RESEARCH.id, credit)
    _write_taxes(out, month, "gcp")


_MONTH_END_ROWS = {"aws": 1 + len(ACCOUNTS["aws"]), "gcp": 1 + len(ACCOUNTS["gcp"])}


@contextmanager
def _csv_file(path: Path) -> Iterator[Ledger]:
    """A ledger writing CSV to path (gzip without a timestamp when it ends in .gz), header first."""
    with path.open("wb") as raw:
        if path.suffix == ".gz":
            with (
                gzip.GzipFile(path.stem, "wb", 6, raw, mtime=0) as gz,
                io.TextIOWrapper(gz, "utf-8", newline="") as text,
            ):
                yield _ledger(text)
        else:
            with io.TextIOWrapper(raw, "utf-8", newline="") as text:
                yield _ledger(text)


def _ledger(text: TextIO) -> Ledger:
    """A ledger over a text stream, with the header written."""
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(HEADER)
    return Ledger(writer)


@dataclass(frozen=True)
class Planned:
    """A month's plan and the random streams generation goes on with."""

    period: Month
    rng: random.Random  # drawn from again by the Savings Plan
    aws_rng: random.Random
    gcp_rng: random.Random
    fixed: int  # rows taken by the Savings Plan and the month end
    planner: Planner


def planned(rows: int, seed: int, month: str) -> Planned:
    """The month's workloads, drawn exactly as `generate` draws them."""
    if rows < MIN_ROWS:
        raise ValueError(f"rows must be at least {MIN_ROWS} for a coherent month, got {rows}")
    period = month_of(month)
    rng = random.Random(seed)
    aws_rng, gcp_rng = random.Random(rng.getrandbits(64)), random.Random(rng.getrandbits(64))
    # Every hour has a Savings Plan purchase row and at most one unused or split row.
    fixed = 2 * period.hours + sum(_MONTH_END_ROWS.values())
    planner = plan(rng, period, int((rows - fixed) * _WORKLOAD_SHARE))
    return Planned(period, rng, aws_rng, gcp_rng, fixed, planner)


def generate(out_dir: Path, rows: int = 20_000, seed: int = 7, month: str = "2026-10") -> list[Path]:
    """Write a month of Acme ML's AWS and GCP billing as FOCUS 1.2 CSV files; return their paths."""
    setup = planned(rows, seed, month)
    period, fixed, planner = setup.period, setup.fixed, setup.planner
    aws_rng, gcp_rng = setup.aws_rng, setup.gcp_rng
    sp = savings_plan(setup.rng, planner.segments["aws"], period.hours)
    free = rows - fixed - sum(s.rows for segments in planner.segments.values() for s in segments)

    out_dir.mkdir(parents=True, exist_ok=True)
    aws_path, gcp_path = out_dir / f"aws-focus-{month}.csv.gz", out_dir / f"gcp-focus-{month}.csv"
    with _csv_file(aws_path) as out:
        write_hours(out, period, planner.segments["aws"], sp)
        write_streams(out, period, aws_streams(period, aws_rng), free * 3 // 5)
        write_aws_month_end(out, period)
    written = out.rows
    with _csv_file(gcp_path) as out:
        write_hours(out, period, planner.segments["gcp"], None)
        write_streams(out, period, gcp_streams(period, gcp_rng), rows - written - out.rows - _MONTH_END_ROWS["gcp"])
        write_gcp_month_end(out, period)
    if written + out.rows != rows:  # pragma: no cover - the row budget above guarantees it
        raise RuntimeError(f"wrote {written + out.rows} rows, not {rows}")
    return sorted([aws_path, gcp_path])
