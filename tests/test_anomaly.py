"""Anomalies: median and MAD of the same weekday, a money and a percent floor, contributors by delta."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from finops import anomaly
from finops.config import AnomalySettings

WED = date(2026, 10, 28)  # a Wednesday
SETTINGS = AnomalySettings(min_impact=Decimal(100), min_percent=Decimal(20), sensitivity=Decimal(3), weeks=4)


def series(values: dict[date, str]) -> dict[date, Decimal]:
    return {d: Decimal(v) for d, v in values.items()}


def weeks_before(day: date, *values: str) -> dict[date, str]:
    return {day - timedelta(days=7 * (i + 1)): v for i, v in enumerate(values)}


def test_median_is_exact():
    assert anomaly.median([Decimal(3), Decimal(1), Decimal(2)]) == 2
    assert anomaly.median([Decimal("1.01"), Decimal(4), Decimal(2), Decimal(3)]) == Decimal("2.5")


def test_a_spike_over_the_same_weekday_is_an_anomaly():
    daily = series({**weeks_before(WED, "1000", "1010", "990", "1005"), WED: "1500"})
    # the other weekdays are far higher and must not matter
    daily.update({WED - timedelta(days=i): Decimal(9000) for i in (1, 2, 3, 4, 5, 6)})
    assert anomaly.check_day(daily, WED, SETTINGS, None) == (Decimal(1500), Decimal("1002.5"))


def test_ordinary_noise_and_small_money_are_not():
    noisy = series({**weeks_before(WED, "1000", "1300", "700", "1100"), WED: "1400"})
    assert anomaly.check_day(noisy, WED, SETTINGS, None) is None  # within 3 scaled MADs
    cents = series({**weeks_before(WED, "1", "1", "1", "1"), WED: "90"})
    assert anomaly.check_day(cents, WED, SETTINGS, None) is None  # below min_impact
    percent = series({**weeks_before(WED, "10000", "10000", "10000", "10000"), WED: "11000"})
    assert anomaly.check_day(percent, WED, SETTINGS, None) is None  # +10 % only
    drop = series({**weeks_before(WED, "1000", "1000", "1000", "1000"), WED: "0"})
    assert anomaly.check_day(drop, WED, SETTINGS, None) is None  # spend going down pages nobody


def test_new_spend_counts_against_a_zero_baseline_but_needs_history():
    new = series({WED: "500"})
    assert anomaly.check_day(new, WED, SETTINGS, date(2026, 9, 1)) == (Decimal(500), Decimal(0))
    # the bill starts 10 days before: only one baseline day, no verdict
    assert anomaly.check_day(new, WED, SETTINGS, WED - timedelta(days=10)) is None


def test_contributors_rank_risers_by_delta_per_kind():
    base = anomaly.baseline_days(WED, 2, None)
    rows = [
        (WED, "workload", "llm-7b", Decimal(900)),
        (base[0], "workload", "llm-7b", Decimal(100)),
        (base[1], "workload", "llm-7b", Decimal(100)),
        (WED, "workload", "steady", Decimal(50)),
        (base[0], "workload", "steady", Decimal(50)),
        (base[1], "workload", "steady", Decimal(50)),
        (WED, "resource", "i-1", Decimal(300)),
        (WED, "service", "EC2", Decimal(900)),
    ]
    found = anomaly.contributors(rows, WED, base, skip_kind="service")
    assert found == (
        anomaly.Contributor("resource", "i-1", Decimal(300)),
        anomaly.Contributor("workload", "llm-7b", Decimal(800)),
    )


@given(st.lists(st.decimals(min_value=0, max_value=100_000, places=2), min_size=5, max_size=5))
def test_a_day_at_or_below_the_median_is_never_an_anomaly(values):
    daily = {WED - timedelta(days=7 * i): v for i, v in enumerate(values)}
    daily[WED] = anomaly.median(values[1:])
    assert anomaly.check_day(daily, WED, SETTINGS, None) is None


def test_evaluate_finds_a_spike_and_names_what_drove_it(tmp_path, settings):
    import dataclasses

    from finops import alerts, allocations, store
    from finops.config import AttributionSettings
    from tests import billdata

    lines = [(day, "EC2", "nlp", Decimal(100)) for day in billdata.days(date(2026, 9, 1), date(2026, 11, 1))]
    lines += [(day, "S3", "nlp", Decimal(5)) for day in billdata.days(date(2026, 9, 1), date(2026, 11, 1))]
    lines.append((WED, "EC2", "vision", Decimal("500.25")))
    con = store.connect(settings)
    try:
        for month, start, end in (
            ("2026-09", date(2026, 9, 1), date(2026, 10, 1)),
            ("2026-10", date(2026, 10, 1), None),
        ):
            rows = [line for line in lines if line[0] >= start and (end is None or line[0] < end)]
            billdata.load(con, billdata.write(tmp_path / f"{month}.csv", rows))
            allocations.attribute_period(con, month, AttributionSettings())
        conf = dataclasses.replace(settings, anomalies=AnomalySettings(scopes=("service", "team")))
        found = alerts.evaluate(con, conf, "2026-10", date(2026, 11, 3)).anomalies
    finally:
        con.close()
    assert [(a.scope_kind, a.scope_value, a.day, a.actual, a.expected, a.delta) for a in found] == [
        ("service", "EC2", WED, Decimal("600.25"), Decimal(100), Decimal("500.25")),
        ("team", "vision", WED, Decimal("500.25"), Decimal(0), Decimal("500.25")),
    ]
    assert found[0].contributors == (
        anomaly.Contributor("resource", "i-ec2-vision", Decimal("500.25")),
        anomaly.Contributor("workload", "(unattributed)", Decimal("500.25")),
    )
    assert found[1].contributors == (
        anomaly.Contributor("resource", "i-ec2-vision", Decimal("500.25")),
        anomaly.Contributor("service", "EC2", Decimal("500.25")),
        anomaly.Contributor("workload", "(unattributed)", Decimal("500.25")),
    )


def test_a_workload_is_judged_only_against_days_it_already_ran(tmp_path, settings):
    """A deployment spiking over its own history is an anomaly; a training run's first day is new spend."""
    import dataclasses

    from finops import alerts, allocations, store
    from finops.config import AttributionSettings
    from tests import billdata

    days = billdata.days(date(2026, 10, 1), date(2026, 11, 1))
    lines = [(day, "SageMaker", {"deployment": "chat-api", "team": "nlp"}, Decimal(100)) for day in days]
    lines = [line if line[0] != WED else (WED, "SageMaker", line[2], Decimal(900)) for line in lines]
    lines.append((WED, "EC2", {"training_run": "run-new", "team": "nlp"}, Decimal(700)))
    con = store.connect(settings)
    try:
        billdata.load(con, billdata.write(tmp_path / "2026-10.csv", lines))
        allocations.attribute_period(con, "2026-10", AttributionSettings())
        conf = dataclasses.replace(settings, anomalies=AnomalySettings(scopes=("workload", "team")))
        found = alerts.evaluate(con, conf, "2026-10", date(2026, 11, 3)).anomalies
    finally:
        con.close()
    assert [(a.scope_kind, a.scope_value, a.day, a.actual, a.expected) for a in found] == [
        ("team", "nlp", WED, Decimal(1600), Decimal(100)),
        ("workload", "chat-api", WED, Decimal(900), Decimal(100)),  # not run-new: it has no history
    ]
