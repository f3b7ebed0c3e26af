"""`finops query list|run`: the library from the command line, formats, user folders, and errors."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from typing import Any

import pyarrow.parquet as pq

from tests.conftest import one_line_error
from tests.test_report import REPORT, load_fixture


def test_list_shows_name_description_and_params(run: Any) -> None:
    result = run("query", "list", "--format", "csv")
    assert result.exit_code == 0, result.output
    listed = {r["name"]: r for r in csv.DictReader(io.StringIO(result.stdout))}
    assert listed["cost_by_tag"]["params"] == "tag, period, basis"
    assert listed["cost_by_tag"]["description"].startswith("Cost per value of one bill tag")
    assert "gpu_cost_by_instance_family" in listed and "cost_by_pricing_category" in listed


def test_run_binds_params_in_every_format(run: Any, tmp_path: Any) -> None:
    load_fixture(run)
    result = run("query", "run", "cost_by_tag", "-p", "tag=team", "-p", "period=2025-10", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert list(csv.reader(io.StringIO(result.stdout))) == [
        ["tag", "value", "currency", "cost", "line_items"],
        ["team", "<img src=x onerror=alert(1)>", "EUR", "10", "1"],
        ["team", "nlp", "USD", "52.43", "2"],
        ["team", "", "USD", "21.84", "4"],  # unused commitment 5.34, S3 12.50, tax 4.00, SP fee 0
        ["team", "serving", "USD", "3.03", "1"],
    ]
    data = json.loads(
        run("query", "run", "total_cost_by_currency", "-p", "period=2025-10", "--format", "json").stdout,
        parse_float=Decimal,
    )
    assert data[1] == {
        "currency": "USD",
        "cost": Decimal("77.3"),
        "line_items": 7,
        "previous_cost": Decimal("100"),
        "change": Decimal("-22.7"),
        "change_pct": Decimal("-22.7"),
    }
    table = run("query", "run", "cost_by_resource", "-p", "top=1", "-p", "period=2025-10", "--format", "table").stdout
    lines = table.splitlines()
    assert lines[0].split()[:2] == ["resource_id", "currency"] and lines[-1] == "(2 rows)"
    assert "52.43 USD" in table and "10.00 EUR" in table  # money with its currency on a table
    out = tmp_path / "spot.parquet"
    assert run("query", "run", "cost_by_pricing_category", "-p", "period=2025-10", "-o", str(out)).exit_code == 0
    spot = pq.read_table(out).to_pylist()
    assert [(r["capacity"], r["currency"], r["cost"]) for r in spot][:1] == [("spot", "EUR", Decimal("10"))]


def test_run_errors(run: Any) -> None:
    assert "no query named 'nope'" in one_line_error(run("query", "run", "nope"))
    assert "has no parameter 'month'" in one_line_error(run("query", "run", "cost_by_team", "-p", "month=1"))
    assert "give a parameter as KEY=VALUE" in one_line_error(run("query", "run", "cost_by_team", "-p", "period"))
    assert "no store at" in one_line_error(run("query", "run", "cost_by_team"))
    load_fixture(run)
    assert "basis must be effective, billed or list" in one_line_error(
        run("query", "run", "cost_by_service", "-p", "basis=net")
    )
    assert "give the tag key" in one_line_error(run("query", "run", "cost_by_tag"))


def test_user_query_folders(run: Any, tmp_path: Any) -> None:
    mine = tmp_path / "team-queries"
    mine.mkdir()
    (mine / "cost_by_team.sql").write_text(
        "-- description: Our own cost per team\n-- param period: YYYY-MM\n"
        "SELECT team, sum(effective_cost) AS cost FROM allocations\n"
        "WHERE strftime(billing_period_start, '%Y-%m') = $period AND team = 'nlp' GROUP BY team\n"
    )
    (tmp_path / "finops.toml").write_text('[queries]\npaths = ["team-queries"]\n')
    listed = run("--config", "finops.toml", "query", "list", "--format", "json").stdout
    entry = next(q for q in json.loads(listed) if q["name"] == "cost_by_team")
    assert entry["description"] == "Our own cost per team" and entry["path"].endswith("team-queries/cost_by_team.sql")
    load_fixture(run)
    result = run("--config", "finops.toml", "query", "run", "cost_by_team", "-p", "period=2025-10", "--format", "csv")
    assert result.stdout == "team,cost\nnlp,36.686465770953294946\n"
    (tmp_path / "finops.toml").write_text('[queries]\npaths = ["gone"]\n')
    assert "is not a folder" in one_line_error(run("--config", "finops.toml", "query", "list"))
    assert REPORT.is_dir()
