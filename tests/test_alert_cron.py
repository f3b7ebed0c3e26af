"""`finops alert` run by cron over a simulated month: each threshold fires once, restated bills resolve."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest

from tests import billdata
from tests.conftest import one_line_error, query

OCT = billdata.OCT
CONFIG = (
    billdata.CONFIG
    + """
[[notify]]
name = "json"
type = "jsonl"
"""
)
bill = billdata.october
load = billdata.load_file


def sent(result) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


@pytest.fixture
def cron(run, tmp_path, db):
    (tmp_path / "finops.toml").write_text(CONFIG)
    return run


def test_each_threshold_fires_exactly_once_over_the_month(cron, db, tmp_path):
    fired: dict[date, list[tuple[str, str, str]]] = {}
    for offset in range(1, 33):  # as of Oct 2 .. Nov 2; each morning the bill has every day before
        as_of = OCT + timedelta(days=offset)
        load(db, bill(tmp_path / "bill.csv", min(as_of, date(2026, 11, 1))))
        result = cron("alert", "--as-of", as_of.isoformat())
        messages = sent(result)
        assert result.exit_code == (1 if messages else 0), result.output
        if messages:
            fired[as_of] = [(m["kind"], m["threshold"], m["status"]) for m in messages]
    assert fired == {
        # 3 complete days (the 4th and 5th are the lag): 300 support + 31 days x 100 = 3,400
        date(2026, 10, 6): [("forecast", "100", "firing")],
        date(2026, 10, 13): [("actual", "50", "firing")],  # 300 + 12 days x 100 = 1,500 of 3,000
        date(2026, 10, 22): [("actual", "80", "firing")],  # 300 + 2,100 = 2,400
        date(2026, 10, 28): [("actual", "100", "firing")],  # 300 + 2,700 = 3,000
    }
    rows = query(db, "SELECT kind, threshold, status, amount FROM alert_events ORDER BY kind, CAST(threshold AS INT)")
    assert rows == [
        ("actual", "50", "firing", Decimal("1500")),
        ("actual", "80", "firing", Decimal("2400")),
        ("actual", "100", "firing", Decimal("3000")),
        ("forecast", "100", "firing", Decimal("3400")),
    ]
    assert query(db, "SELECT count(*), count(sent_at) FROM alert_deliveries") == [(4, 4)]


def test_a_restated_bill_resolves_and_a_new_crossing_fires_again(cron, db, tmp_path):
    load(db, bill(tmp_path / "bill.csv", date(2026, 11, 1)))
    first = sent(cron("alert", "--as-of", "2026-11-05"))
    assert [(m["kind"], m["threshold"]) for m in first] == [("actual", "100")]  # one message, the highest
    assert first[0]["actual"] == "3400.00" and first[0]["actual_pct"] == "113.33"
    load(db, bill(tmp_path / "bill.csv", date(2026, 11, 1), nlp=Decimal(80)))  # restated: 2,780 = 92.67 %
    result = cron("alert", "--as-of", "2026-11-06")
    assert result.exit_code == 1
    [resolved] = sent(result)
    assert (resolved["kind"], resolved["threshold"], resolved["status"]) == ("actual", "100", "resolved")
    assert "back below 100%" in resolved["title"]
    assert cron("alert", "--as-of", "2026-11-07").exit_code == 0  # quiet when nothing changed
    load(db, bill(tmp_path / "bill.csv", date(2026, 11, 1), nlp=Decimal(50)))  # 1,850: below 80 % too
    assert [(m["threshold"], m["status"]) for m in sent(cron("alert", "--as-of", "2026-11-08"))] == [("80", "resolved")]
    load(db, bill(tmp_path / "bill.csv", date(2026, 11, 1)))  # back to 3,400
    assert [(m["threshold"], m["status"]) for m in sent(cron("alert", "--as-of", "2026-11-09"))] == [("100", "firing")]
    states = query(db, "SELECT threshold, status FROM alert_events WHERE kind = 'actual' ORDER BY 1")
    assert states == [("100", "firing"), ("50", "firing"), ("80", "firing")]


def test_dry_run_sends_and_records_nothing(cron, db, tmp_path):
    load(db, bill(tmp_path / "bill.csv", date(2026, 11, 1)))
    result = cron("alert", "--dry-run", "--as-of", "2026-11-05")
    assert result.exit_code == 1
    assert "would send to json:" in result.stdout and "over 100%" in result.stdout
    assert query(db, "SELECT count(*) FROM alert_events") == [(0,)]
    assert query(db, "SELECT count(*) FROM alert_deliveries") == [(0,)]
    assert cron("alert", "--as-of", "2026-11-05").exit_code == 1  # the real run still fires


def test_period_flag_and_errors(cron, db, tmp_path):
    assert "no billing rows to alert on" in one_line_error(cron("alert"))
    load(db, bill(tmp_path / "bill.csv", date(2026, 10, 10)))
    assert "--period '2026-13'" in one_line_error(cron("alert", "--period", "2026-13"))
    assert "--channel slack: no [[notify]] channel" in one_line_error(cron("alert", "--channel", "slack"))
    result = cron("alert", "--period", "2026-09", "--as-of", "2026-10-10")
    assert result.exit_code == 0 and "nothing new" in result.stderr
