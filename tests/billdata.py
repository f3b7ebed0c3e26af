"""Synthetic FOCUS bills with known daily spend, loaded through the real FOCUS collector."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb

from finops import config, store
from finops.collect import focus

HEADER = [
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "BillingCurrency",
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ChargeCategory",
    "ChargeFrequency",
    "BillingAccountId",
    "SubAccountId",
    "ServiceName",
    "ResourceId",
    "Tags",
]

Line = tuple[date, str, "str | dict[str, str]", Decimal]  # day, service, team tag (or all tags), cost


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def write(path: Path, lines: Iterable[Line], fixed: Iterable[Line] = ()) -> Path:
    """One FOCUS CSV: a daily usage line per (day, service, team) and monthly fixed charges (first day, whole month)."""
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(HEADER)
        for day, service, team, cost in lines:
            start, end = month_start(day), next_month(day)
            tags = team if isinstance(team, dict) else {"team": team}
            resource = f"i-{service.lower()}-{'-'.join(tags.values())}"
            out.writerow(
                [
                    cost,
                    cost,
                    cost,
                    "USD",
                    start,
                    end,
                    f"{day}T00:00:00Z",
                    f"{day + timedelta(days=1)}T00:00:00Z",
                    "Usage",
                    "Usage-Based",
                    "acct",
                    "sub-1",
                    service,
                    resource,
                    json.dumps(tags),
                ]
            )
        for day, service, team, cost in fixed:
            start, end = month_start(day), next_month(day)
            out.writerow(
                [
                    cost,
                    cost,
                    cost,
                    "USD",
                    start,
                    end,
                    f"{start}T00:00:00Z",
                    f"{end}T00:00:00Z",
                    "Purchase",
                    "Recurring",
                    "acct",
                    "sub-1",
                    service,
                    "",
                    f'{{"team": "{team}"}}',
                ]
            )
    return path


def load(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Collect the file; a file of the same month replaces that month's rows, as a restated bill does."""
    focus.collect(con, [str(path)])


def days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days)]


OCT = date(2026, 10, 1)
CONFIG = """
[[budgets]]
name = "nlp"
amount = 3000
thresholds = [50, 80, 100]
forecast_thresholds = [100]
scope = { tags = { team = "nlp" } }
"""


def october(path: Path, through: date, nlp: Decimal = Decimal(100)) -> Path:
    """October up to (not including) `through`: nlp on EC2 `nlp` a day, data on S3 20 a day; nlp's monthly
    support fee of 300 is on the bill from the first day. The whole month: nlp 3,400, data 620."""
    lines: list[Line] = []
    for day in days(OCT, through):
        lines += [(day, "EC2", "nlp", nlp), (day, "S3", "data", Decimal(20))]
    return write(path, lines, [(OCT, "Support", "nlp", Decimal(300))])


def load_file(db: Path, path: Path) -> None:
    """Collect a bill file into the store at `db` and close the connection."""
    con = store.connect(config.Settings(database=db))
    try:
        load(con, path)
    finally:
        con.close()
