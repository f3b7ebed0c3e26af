"""Month-end forecast: complete days only, run rate by weekday, fixed charges counted as they are."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from finops import forecast

OCT = (date(2026, 10, 1), date(2026, 11, 1))  # 2026-10-01 is a Thursday


def weekly(start: date, end: date, weekday: Decimal, weekend: Decimal) -> dict[date, Decimal]:
    out = {}
    day = start
    while day < end:
        out[day] = weekend if day.weekday() >= 5 else weekday
        day += timedelta(days=1)
    return out


def test_cutoff_is_the_declared_lag_or_where_the_bill_stops():
    assert forecast.cutoff(date(2026, 10, 10), 2, date(2026, 10, 9)) == date(2026, 10, 8)
    assert forecast.cutoff(date(2026, 10, 10), 2, date(2026, 10, 4)) == date(2026, 10, 5)  # bill stopped on the 4th
    assert forecast.cutoff(date(2026, 11, 26), 2, date(2026, 10, 31)) == date(2026, 11, 1)  # a closed month
    assert forecast.cutoff(date(2026, 10, 10), 1, None) == date(2026, 10, 9)


def test_flat_rate_before_two_weeks_of_history():
    # 7 complete days of 100 (Oct 1-7), partial days 8 and 9 (the lag), the rest to come
    usage = {d: Decimal(100) for d in (date(2026, 10, i) for i in range(1, 8))}
    usage[date(2026, 10, 8)] = Decimal(30)  # incomplete: counts as max(30, 100)
    usage[date(2026, 10, 9)] = Decimal(150)  # incomplete but already above the rate: kept
    result = forecast.forecast(usage, Decimal("500.50"), *OCT, date(2026, 10, 8), date(2026, 10, 1))
    # 500.50 fixed + 700 complete + 100 (8th) + 150 (9th) + 22 days x 100
    assert result == Decimal("3650.50")


def test_weekday_rates_with_two_weeks_or_more():
    # Sep 17 .. Oct 14 complete (28 days): weekdays 100, weekends 40; cutoff Oct 15 (a Thursday)
    usage = weekly(date(2026, 9, 17), date(2026, 10, 15), Decimal(100), Decimal(40))
    result = forecast.forecast(usage, Decimal(0), *OCT, date(2026, 10, 15), date(2026, 9, 1))
    # October: 22 weekdays x 100 + 9 weekend days x 40, whatever of it has happened yet
    assert result == Decimal("2560.00")


def test_the_window_never_reaches_before_the_first_bill_day():
    usage = {date(2026, 10, i): Decimal(10) for i in range(1, 4)}
    usage[date(2026, 9, 30)] = Decimal(1000)  # before the bill's first day: ignored
    result = forecast.forecast(usage, Decimal(0), *OCT, date(2026, 10, 4), date(2026, 10, 1))
    assert result == Decimal("310.00")  # 3 x 10 + 28 x 10


def test_too_few_complete_days_give_no_forecast():
    usage = {date(2026, 10, 1): Decimal(10), date(2026, 10, 2): Decimal(10)}
    assert forecast.forecast(usage, Decimal(0), *OCT, date(2026, 10, 3), date(2026, 10, 1)) is None


def test_a_complete_period_forecasts_its_actual_spend():
    usage = {date(2026, 10, 31): Decimal("1.005"), date(2026, 9, 30): Decimal(7)}
    assert forecast.forecast(usage, Decimal(2), *OCT, date(2026, 11, 1), None) == Decimal("3.00")


def test_non_terminating_rates_round_to_the_cent():
    usage = {date(2026, 10, i): Decimal(v) for i, v in ((1, 1), (2, 1), (3, 2))}
    # rate 4/3 per day for 28 days: 37.333... + 4
    assert forecast.forecast(usage, Decimal(0), *OCT, date(2026, 10, 4), date(2026, 10, 1)) == Decimal("41.33")


@given(
    st.lists(st.decimals(min_value=0, max_value=10_000, places=2), min_size=31, max_size=31),
    st.integers(min_value=4, max_value=31),
)
def test_forecast_is_at_least_the_spend_so_far(values, cut):
    usage = {OCT[0] + timedelta(days=i): v for i, v in enumerate(values)}
    cutoff_day = OCT[0] + timedelta(days=cut - 1)
    spent = sum((v for d, v in usage.items() if d < cutoff_day), Decimal(0))
    result = forecast.forecast(usage, Decimal(0), *OCT, cutoff_day, OCT[0])
    assert result is not None and result >= spent.quantize(Decimal("0.01")) - Decimal("0.01")
