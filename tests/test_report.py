"""`finops report` on the fixture months (exact figures, escaping, formats) and on the demo month
(every total shown equals a `finops sql` sum over the store, to the cent)."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from plotly.offline import get_plotlyjs

from finops import config, queries, store
from finops.report import data as report_data
from tests.conftest import FIXTURES, one_line_error

D = Decimal
XSS = "<img src=x onerror=alert(1)>"  # a team tag value in the fixture bill
BREAKOUT = "</script><script>alert(2)</script>"  # a sub account name
REPORT = FIXTURES / "report"
BUDGET = '[[budgets]]\nname = "ml-platform"\namount = 60\ncurrency = "USD"\n'


def load_fixture(run: Any) -> None:
    """Two months of a small bill (USD and EUR), two training runs, attributed, through the real commands."""
    assert run("collect", "focus", str(REPORT / "bill.csv")).exit_code == 0
    assert run("collect", "workloads", str(REPORT / "workloads.csv")).exit_code == 0
    assert run("attribute").exit_code == 0


def rows(db: Path, name: str, **params: Any) -> list[tuple[Any, ...]]:
    """A named query's rows on the store, as tuples."""
    con = store.connect(config.Settings(database=db), read_only=True)
    try:
        query = queries.load(name)
        given = {k: v for k, v in params.items() if k in query.params}
        return [tuple(r.values()) for r in queries.run(con, query, given).read_all().to_pylist()]
    finally:
        con.close()


# The expected rows were worked out by hand from fixtures/report/bill.csv and workloads.csv:
# Oct USD = 32.77 + 19.66 + 5.34 + 0 + 12.50 + 3.03 + 4.00 = 77.30 effective (Sept 100.00), EUR 10.00.
EXPECTED = {
    "total_cost_by_currency": [
        ("EUR", D("10"), 1, None, None, None),
        ("USD", D("77.30"), 7, D("100"), D("-22.70"), D("-22.70")),
    ],
    "daily_cost_by_service_category": [
        (date(2025, 10, 2), "Compute", "EUR", D("10"), 1),
        (date(2025, 10, 1), "Compute", "USD", D("0"), 1),
        (date(2025, 10, 1), "Other", "USD", D("4"), 1),
        (date(2025, 10, 1), "Storage", "USD", D("12.5"), 1),
        (date(2025, 10, 3), "Compute", "USD", D("32.77"), 1),
        (date(2025, 10, 4), "Compute", "USD", D("25"), 2),
        (date(2025, 10, 5), "AI and Machine Learning", "USD", D("3.03"), 1),
    ],
    "cost_by_sub_account": [
        ("NeoGPU", "proj-x", BREAKOUT, "EUR", D("10"), None),
        ("AWS", "222222222222", "ml-research", "USD", D("52.43"), D("100")),
        ("AWS", "333333333333", "ml-platform", "USD", D("15.53"), None),
        ("AWS", "111111111111", "acme", "USD", D("9.34"), None),
    ],
    "gpu_hours_by_instance_type": [
        ("AWS", "p4d.24xlarge", "USD", D("52.43"), D("16"), None, None, D("4"), D("16.385"), None),
        ("AWS", "ml.g5.2xlarge", "USD", D("3.03"), D("1"), None, None, D("0"), D("0"), None),
    ],
    "commitment_utilization_by_commitment": [
        (
            "AWS",
            "arn:aws:savingsplans::111111111111:savingsplan/sp-1",
            None,
            "Savings Plan",
            "Spend",
            "USD",
            D("19.66"),
            D("5.34"),
            D("0.786400"),
            D("32.77"),
            D("13.11"),
        ),
    ],
    "commitment_coverage_by_service": [
        ("AWS", "Amazon Elastic Compute Cloud", "USD", D("65.54"), D("32.77"), D("32.77"), D("52.43"), D("0.5")),
        ("AWS", "Amazon Simple Storage Service", "USD", D("12.5"), D("0"), D("12.5"), D("12.5"), D("0")),
        ("AWS", "Amazon SageMaker", "USD", D("3.03"), D("0"), D("3.03"), D("3.03"), D("0")),
    ],
    "unattributed_cost_by_reason": [
        ("team tag, no workload", "EUR", D("10"), 1, 1, D("1")),
        ("no tag or placement", "USD", D("12.5"), 1, 1, D("0.161708")),
    ],
    "cost_by_training_run": [
        (
            "run-b",
            "clip eval",
            "vision",
            "manifest",
            None,
            1,
            "USD",
            D("19.66"),
            D("0"),
            D("8"),
            None,
            D("2.4575"),
            None,
        ),
        (
            "run-a",
            "llm pretrain",
            "nlp",
            "manifest",
            None,
            1,
            "USD",
            D("16.385"),
            D("0"),
            D("4"),
            None,
            D("4.09625"),
            None,
        ),
    ],
}


@pytest.fixture
def fixture_db(run: Any, db: Path) -> Path:
    load_fixture(run)
    return db


def test_report_queries_on_the_fixture_months(fixture_db: Path) -> None:
    for name, expected in EXPECTED.items():
        assert rows(fixture_db, name, period="2025-10", basis="effective") == expected, name
    # Billed: the Savings Plan fee (25.00) instead of its amortized used (19.66) and unused (5.34) parts.
    assert rows(fixture_db, "total_cost_by_currency", period="2025-10", basis="billed")[1][:4] == (
        "USD",
        D("77.30"),
        7,
        D("100"),
    )
    teams = {(r[0], r[1]): r[6] for r in rows(fixture_db, "cost_by_team", period="2025-10")}
    assert sum(v for (_, c), v in teams.items() if c == "USD") == D("77.30")  # attribution conserves cost
    assert teams[(XSS, "EUR")] == D("10")
    fresh = rows(fixture_db, "last_load_by_source")
    assert [(r[0], r[1], r[4]) for r in fresh] == [
        ("attribution", "finops attribute", 16),
        ("billing", "focus", 9),
        ("workloads", "manifest", 2),
    ]


def test_html_report_is_self_contained_and_escaped(run: Any, fixture_db: Path, tmp_path: Path) -> None:
    (tmp_path / "finops.toml").write_text(BUDGET)
    result = run("--config", str(tmp_path / "finops.toml"), "report", "--period", "2025-10")
    assert result.exit_code == 0, result.output
    target = tmp_path / "reports" / "finops-2025-10.html"
    assert result.stdout.strip() == str(Path("reports") / "finops-2025-10.html")
    page = target.read_text(encoding="utf-8")
    assert page.count("Plotly.newPlot(charts[i]") == 1 and page.count("/*! For license information") <= 1
    assert page.count("<script>") == 2  # plotly.js once, then the loop that draws every figure
    shell = page.replace(get_plotlyjs(), "")  # plotly.js names URLs in strings it never fetches here
    assert len(shell) < 200_000
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", shell)  # nothing loaded from anywhere
    assert "<link" not in shell and "@import" not in shell and "url(" not in shell
    assert XSS not in page and BREAKOUT not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page  # the table cell, as text
    assert "\\u0026lt;/script\\u0026gt;\\u0026lt;script\\u0026gt;alert(2)" in page  # a chart label in the figure JSON
    assert "77.30 USD" in page and "10.00 EUR" in page and "−22.70 USD (−22.7 %) vs previous month" in page
    assert "ml-platform" in page and "128.8 %" in page  # the budget, from finops.alerts
    assert "finops " in page and "Data freshness" in page
    assert 4_000_000 < len(page.encode()) < 5_500_000  # plotly.js (~4.8 MB) plus a few kB of data


def test_markdown_csv_and_json_keep_the_figures(run: Any, fixture_db: Path, tmp_path: Path) -> None:
    assert run("report", "--period", "2025-10", "-o", str(tmp_path / "r.md")).exit_code == 0
    text = (tmp_path / "r.md").read_text()
    assert "| USD | 77.30 USD | 100.00 USD | -22.70 USD | -22.7 % | 7 |" in text
    assert "&lt;img src=x onerror=alert(1)>" in text and XSS not in text

    assert run("report", "--period", "2025-10", "--format", "json", "-o", str(tmp_path / "r.json")).exit_code == 0
    document = json.loads((tmp_path / "r.json").read_text(), parse_float=Decimal)
    assert document["period"] == "2025-10" and document["basis"] == "effective"
    assert document["sections"]["totals"]["rows"][1]["cost"] == D("77.3")
    teams = document["sections"]["teams"]["rows"]
    assert {r["team"]: r["total_cost"] for r in teams if r["currency"] == "USD"}["nlp"] == D("36.686465770953294946")

    assert run("report", "--period", "2025-10", "--format", "csv", "-o", str(tmp_path / "r.csv")).exit_code == 0
    cells = list(csv.DictReader(io.StringIO((tmp_path / "r.csv").read_text())))
    assert {
        "section": "totals",
        "query": "total_cost_by_currency",
        "row": "1",
        "column": "cost",
        "value": "77.3",
    } in cells

    result = run("report", "--period", "2025-10", "--basis", "list", "--format", "json", "-o", str(tmp_path / "l.json"))
    assert result.exit_code == 0
    listed = json.loads((tmp_path / "l.json").read_text(), parse_float=Decimal)
    assert listed["sections"]["totals"]["rows"][1]["cost"] == D("110.07")  # 32.77 × 2 + 25 + 12.5 + 3.03 + 4


def test_report_errors(run: Any, fixture_db: Path, tmp_path: Path) -> None:
    assert "--period '2025-13'" in one_line_error(run("report", "--period", "2025-13"))
    assert "no billing rows for 2024-01" in one_line_error(run("report", "--period", "2024-01"))
    bad = run("report", "--period", "2025-10", "--basis", "net")
    assert bad.exit_code == 2 and "'net' is not one of" in bad.output
    (tmp_path / "file").write_text("")
    assert "cannot write" in one_line_error(
        run("report", "--period", "2025-10", "-o", str(tmp_path / "file" / "r.html"))
    )


def test_report_of_an_unattributed_month_says_what_to_run(run: Any, tmp_path: Path) -> None:
    assert run("collect", "focus", str(REPORT / "bill.csv")).exit_code == 0
    assert run("report", "--period", "2025-10", "--format", "md", "-o", str(tmp_path / "r.md")).exit_code == 0
    assert "| USD | 77.30 USD |" in (tmp_path / "r.md").read_text()
    assert run("report", "--period", "2025-10", "--format", "json", "-o", "r.json").stdout == "r.json\n"
    notes = json.loads((tmp_path / "r.json").read_text())["notes"]
    assert notes == ["2025-10 is not attributed yet: run `finops attribute --period 2025-10` for teams and runs"]


@given(
    st.lists(
        st.tuples(st.sampled_from(["USD", "EUR"]), st.decimals(min_value=-(10**6), max_value=10**6, places=6)),
        max_size=40,
    )
)
def test_capping_keeps_every_cent(items: list[tuple[str, Decimal]]) -> None:
    source = [{"service": f"s{i}", "currency": c, "cost": v} for i, (c, v) in enumerate(items)]
    kept, folded = report_data.cap_rows(source, "service")
    for currency in ("USD", "EUR"):
        mine = [r for r in kept if r["currency"] == currency]
        assert sum((r["cost"] for r in mine), D(0)) == sum((v for c, v in items if c == currency), D(0))
        assert len(mine) <= report_data.CAP + 1
    assert folded == sum(max(0, sum(1 for c, _ in items if c == cur) - report_data.CAP) for cur in ("USD", "EUR"))


def test_json_in_a_script_element_cannot_close_it() -> None:
    from finops.report.page import script_json

    text = script_json({"label": "</script><script>alert(2)</script>", "amp": "a&b", "line": "x\u2028y"})
    assert text == (
        '{"label":"\\u003c/script\\u003e\\u003cscript\\u003ealert(2)\\u003c/script\\u003e",'
        '"amp":"a\\u0026b","line":"x\\u2028y"}'
    )
    assert json.loads(text)["label"] == "</script><script>alert(2)</script>"
