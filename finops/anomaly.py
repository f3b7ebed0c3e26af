"""Daily spend anomalies: a day far above the robust baseline of the same weekday in the weeks before.

For a scope (a service, a team, a workload) and a complete day d, the baseline is the scope's spend on
the same weekday in each of the `weeks` weeks before d (a day without spend counts as 0; days before the
bill's first day are left out, and fewer than 2 baseline days means no verdict). Expected spend is the
baseline's median; its spread is the median absolute deviation (MAD), scaled by 1.4826 so it estimates a
standard deviation. A day is an anomaly when it is above the expected spend by all three of: more than
`sensitivity` scaled MADs, at least `min_impact` in money, and at least `min_percent` % of the expected
spend. Only increases are anomalies: a cost alert is about money going out. Each anomaly names its
top contributors: the services, workloads and resources whose spend that day rose most above their own
baseline median.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from finops.config import AnomalySettings

MAD_SCALE = Decimal("1.4826")
MIN_BASELINE_DAYS = 2
TOP_PER_KIND = 3


@dataclass(frozen=True)
class Contributor:
    """A service, workload or resource and how much its spend rose on the anomalous day."""

    kind: str  # service | workload | resource
    name: str
    delta: Decimal


@dataclass(frozen=True)
class Anomaly:
    """One scope's anomalous day."""

    scope_kind: str  # service | team | workload
    scope_value: str
    currency: str
    day: date
    actual: Decimal
    expected: Decimal
    delta: Decimal
    contributors: tuple[Contributor, ...] = ()


def median(values: list[Decimal]) -> Decimal:
    """The exact median (the mean of the middle two for an even count)."""
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


@functools.lru_cache(maxsize=4096)
def baseline_days(day: date, weeks: int, first_bill_day: date | None) -> tuple[date, ...]:
    """The same weekday in each of the `weeks` weeks before `day`, from the bill's first day on.

    Cached: every series of an evaluation asks for the same few days.
    """
    days = [day - timedelta(days=7 * k) for k in range(1, weeks + 1)]
    return tuple(d for d in days if first_bill_day is None or d >= first_bill_day)


def check_day(
    series: Mapping[date, Decimal], day: date, settings: AnomalySettings, first_bill_day: date | None
) -> tuple[Decimal, Decimal] | None:
    """(actual, expected) when `day` is an anomaly of the daily `series`, else None."""
    base = baseline_days(day, settings.weeks, first_bill_day)
    if len(base) < MIN_BASELINE_DAYS:
        return None
    values = [series.get(d, Decimal(0)) for d in base]
    expected = median(values)
    spread = MAD_SCALE * median([abs(v - expected) for v in values])
    actual = series.get(day, Decimal(0))
    delta = actual - expected
    if delta <= settings.sensitivity * spread or delta < settings.min_impact:
        return None
    if delta * 100 < settings.min_percent * abs(expected):
        return None
    return actual, expected


def detect(
    series: Mapping[date, Decimal], days: Iterable[date], settings: AnomalySettings, first_bill_day: date | None
) -> list[tuple[date, Decimal, Decimal]]:
    """(day, actual, expected) of every anomalous day among `days`."""
    found = []
    # A day without spend in a series that never goes negative is at or below its baseline: never an
    # anomaly (delta <= 0 <= sensitivity x spread). Most days of a workload's series are such days.
    quiet = settings.sensitivity >= 0 and all(v >= 0 for v in series.values())
    for day in days:
        if quiet and day not in series:
            continue
        verdict = check_day(series, day, settings, first_bill_day)
        if verdict is not None:
            found.append((day, *verdict))
    return found


def contributors(
    rows: Iterable[tuple[date, str, str, Decimal]], day: date, base: Iterable[date], skip_kind: str
) -> tuple[Contributor, ...]:
    """The top risers per kind from (day, kind, name, cost) rows: cost on `day` minus the baseline median."""
    spend: dict[tuple[str, str], dict[date, Decimal]] = {}
    for row_day, kind, name, cost in rows:
        if kind != skip_kind:
            spend.setdefault((kind, name), {})[row_day] = cost
    by_kind: dict[str, list[Contributor]] = {}
    for (kind, name), daily in spend.items():
        delta = daily.get(day, Decimal(0)) - median([daily.get(d, Decimal(0)) for d in base])
        if delta > 0:
            by_kind.setdefault(kind, []).append(Contributor(kind, name, delta))
    top: list[Contributor] = []
    for kind in sorted(by_kind):
        top.extend(sorted(by_kind[kind], key=lambda c: (-c.delta, c.name))[:TOP_PER_KIND])
    return tuple(top)
