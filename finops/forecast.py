"""Period-end spend from the period so far: complete days' run rate, by weekday, plus fixed charges.

The method, in order:

1. **Which days are complete.** Billing exports lag: the CUR and the GCP export keep adding rows to the
   last day or two for a while. Days before `cutoff` are complete, where cutoff is the earlier of
   `as_of - lag_days` (the declared lag, `[alerts] lag_days`, default 2) and the day after the last
   day the bill has any usage on (data that stopped arriving is not a sudden drop in spend).
2. **The run rate.** The usage spend of the complete days in a trailing window (28 days, reaching back
   into the previous period; never before the bill's first day) gives the expected spend of a day:
   with 14 or more complete days (two of every weekday), the mean of the same weekday; with fewer,
   the mean of all of them. With fewer than 3 complete days there is no forecast.
3. **The forecast** is the period's fixed charges as they are (one-time credits and purchases, monthly
   fees: extrapolating a monthly support fee would multiply it by 30), plus the usage of the
   complete days, plus, for every day from the cutoff to the period's end, the larger of what the
   bill already shows for that day and the expected spend. Rounded to the cent.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

WINDOW_DAYS = 28
WEEKDAY_MIN_DAYS = 14
MIN_DAYS = 3
CENT = Decimal("0.01")


def cutoff(as_of: date, lag_days: int, last_bill_day: date | None) -> date:
    """The first incomplete day: days before it are complete (see the module docstring)."""
    declared = as_of - timedelta(days=lag_days)
    if last_bill_day is None:
        return declared
    return min(declared, last_bill_day + timedelta(days=1))


def daily_rate(
    usage: Mapping[date, Decimal], cutoff_day: date, first_bill_day: date | None
) -> dict[int, Decimal] | None:
    """Expected usage spend per weekday (0 = Monday) from the complete days before `cutoff_day`."""
    start = cutoff_day - timedelta(days=WINDOW_DAYS)
    if first_bill_day is not None:
        start = max(start, first_bill_day)
    days = [start + timedelta(days=i) for i in range((cutoff_day - start).days)]
    if len(days) < MIN_DAYS:
        return None
    if len(days) < WEEKDAY_MIN_DAYS:
        flat = sum((usage.get(d, Decimal(0)) for d in days), Decimal(0)) / len(days)
        return dict.fromkeys(range(7), flat)
    rates = {}
    for weekday in range(7):
        same = [usage.get(d, Decimal(0)) for d in days if d.weekday() == weekday]
        rates[weekday] = sum(same, Decimal(0)) / len(same)
    return rates


def forecast(
    usage: Mapping[date, Decimal],
    fixed: Decimal,
    start: date,
    end: date,
    cutoff_day: date,
    first_bill_day: date | None,
) -> Decimal | None:
    """Spend of the period [start, end) at its end; `usage` maps days to usage (non-fixed) spend."""
    actual = fixed + sum((v for d, v in usage.items() if start <= d < end), Decimal(0))
    if cutoff_day >= end:
        return actual.quantize(CENT, ROUND_HALF_EVEN)  # every day of the period is complete
    rates = daily_rate(usage, cutoff_day, first_bill_day)
    if rates is None:
        return None
    known = fixed + sum((v for d, v in usage.items() if start <= d < cutoff_day), Decimal(0))
    day = max(start, cutoff_day)
    projected = Decimal(0)
    while day < end:
        projected += max(usage.get(day, Decimal(0)), rates[day.weekday()])
        day += timedelta(days=1)
    return (known + projected).quantize(CENT, ROUND_HALF_EVEN)
