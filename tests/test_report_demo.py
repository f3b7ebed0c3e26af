"""The demo month's report: every amount it shows equals the `finops sql` sum over the store, to the cent."""

from __future__ import annotations

import csv
import html
import io
import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

from finops import config, store
from finops.demo.load import load_demo

MONTH = "2026-10"


@pytest.fixture
def demo_db(db: Path, tmp_path: Path) -> Path:
    con = store.connect(config.Settings(database=db))
    try:
        load_demo(con, tmp_path / "demo-data", 20_000, 7, MONTH)
    finally:
        con.close()
    return db


def sql(run: Any, query: str) -> list[dict[str, str]]:
    """Rows of `finops sql` as CSV dicts: the user's own way to check the report."""
    result = run("sql", "--format", "csv", query)
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout)))


def cents(text: str, currency: str = "USD") -> str:
    """A `finops sql` decimal as the report prints money."""
    return f"{Decimal(text).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,.2f} {currency}"


def section_rows(page: str, key: str) -> list[list[str]]:
    """The text cells of the table in <section id=key>."""
    block = re.search(rf'<section id="{key}">(.*?)</section>', page, re.S)
    assert block, key
    return [
        [html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", block.group(1), re.S)
        if "<td" in row
    ]


def test_demo_report_equals_sql_sums(run: Any, demo_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "demo.html"
    assert run("report", "--period", MONTH, "-o", str(out)).exit_code == 0
    page = out.read_text(encoding="utf-8")

    total = sql(run, "SELECT sum(EffectiveCost) AS s FROM cost_line_items")[0]["s"]
    assert total == "176675.8376453462"  # the demo month's bill (AWS 129866.8034302062 + GCP 46809.03421514)
    assert f'<div class="total">{cents(total)}</div>' in page
    assert section_rows(page, "totals")[0][:2] == ["USD", cents(total)]

    teams = sql(run, "SELECT coalesce(team, '') AS team, sum(effective_cost) AS s FROM allocations GROUP BY 1")
    shown = {r[0]: r[-1] for r in section_rows(page, "teams")}
    assert shown == {r["team"]: cents(r["s"]) for r in teams}

    accounts = sql(run, "SELECT SubAccountId AS a, sum(EffectiveCost) AS s FROM cost_line_items GROUP BY 1")
    shown = {r[1]: r[3] for r in section_rows(page, "accounts")}
    assert shown == {r["a"]: cents(r["s"]) for r in accounts}

    services = sql(
        run, "SELECT ProviderName AS p, ServiceName AS n, sum(EffectiveCost) AS s FROM cost_line_items GROUP BY 1, 2"
    )
    shown = {(r[0], r[1]): r[3] for r in section_rows(page, "services")}
    assert shown == {(r["p"], r["n"]): cents(r["s"]) for r in services}

    runs = sql(
        run,
        "SELECT workload_id AS w, sum(effective_cost) AS s FROM allocations WHERE bucket = 'workload' "
        "AND workload_kind = 'training' AND workload_id = 'reward-model-r1' GROUP BY 1",
    )
    assert [r[5] for r in section_rows(page, "runs") if r[0] == "reward-model-r1"] == [cents(runs[0]["s"])]

    unattributed = sql(
        run, "SELECT reason AS r, sum(effective_cost) AS s FROM allocations WHERE bucket = 'unattributed' GROUP BY 1"
    )
    shown = {r[0]: r[1] for r in section_rows(page, "unattributed")}
    assert shown == {r["r"]: cents(r["s"]) for r in unattributed}
