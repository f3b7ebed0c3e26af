"""What finops writes cannot do harm: CSV cells a spreadsheet would run, SQL that reaches past the store,
secrets in messages."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from finops import output
from tests.conftest import FIXTURES, one_line_error, query

FORMULAS = ["=1+1", "+1+1", "-2+3", "@SUM(A1:A2)", "\t=1", "\r=1", '=HYPERLINK("http://x","y")']


@pytest.mark.parametrize("text", FORMULAS)
def test_text_that_a_spreadsheet_would_run_gets_a_quote(text):
    assert output.csv_cell(text) == "'" + text


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (Decimal("-22.70"), "-22.7"),
        (Decimal("-0.000000000000000001"), "-0.000000000000000001"),
        (-5, "-5"),
        (-1.5, "-1.5"),
        ("plain team", "plain team"),
        ("a=b", "a=b"),
        ("", ""),
        (None, ""),
    ],
)
def test_numbers_and_harmless_text_are_untouched(value, cell):
    assert output.csv_cell(value) == cell


def test_csv_output_quotes_formulas_and_keeps_negative_money():
    table = pa.table(
        {
            "name": pa.array(["=cmd|' /C calc'!A0", "ok", "-bad", "@x"]),
            "cost": pa.array([Decimal("-22.70"), Decimal("1"), Decimal("-0.5"), Decimal("2")], pa.decimal128(38, 18)),
            "n": pa.array([-1, 2, 3, 4]),
        }
    )
    out = io.StringIO()
    output.write(table.to_reader(), "csv", None, out)
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [
        ["name", "cost", "n"],
        ["'=cmd|' /C calc'!A0", "-22.7", "-1"],
        ["ok", "1", "2"],
        ["'-bad", "-0.5", "3"],
        ["'@x", "2", "4"],
    ]


def test_finops_sql_and_report_csv_are_safe_for_spreadsheets(run: Any, db: Path, tmp_path: Path):
    bill = (FIXTURES / "report" / "bill.csv").read_text().replace("ml-platform", '=HYPERLINK("http://evil")')
    (tmp_path / "bill.csv").write_text(bill)
    assert run("collect", "focus", str(tmp_path / "bill.csv")).exit_code == 0
    result = run("sql", "--format", "csv", "SELECT '@SUM(1)' AS a, '+1' AS b, -12.5::DECIMAL(38, 18) AS cost, -3 AS n")
    assert result.stdout == "a,b,cost,n\n'@SUM(1),'+1,-12.5,-3\n"
    names = run("sql", "--format", "csv", "SELECT DISTINCT SubAccountName FROM cost_line_items ORDER BY 1").stdout
    assert '\'=HYPERLINK(""http://evil"")' in names
    assert run("report", "--period", "2025-10", "--format", "csv", "-o", str(tmp_path / "r.csv")).exit_code == 0
    cells = list(csv.DictReader(io.StringIO((tmp_path / "r.csv").read_text())))
    values = [c["value"] for c in cells]
    assert '\'=HYPERLINK("http://evil")' in values and '=HYPERLINK("http://evil")' not in values
    assert "-22.7" in values  # month-over-month change: negative money keeps its sign
    assert not any(v.startswith(("=", "+", "@")) for v in values)


REFUSED = {
    "COPY TO": "COPY cost_line_items TO '{tmp}/leak.csv'",
    "COPY TO parquet": "COPY (SELECT 1) TO '{tmp}/leak.parquet' (FORMAT parquet)",
    "COPY FROM": "COPY cost_line_items FROM '/etc/passwd'",
    "EXPORT DATABASE": "EXPORT DATABASE '{tmp}/export'",
    "ATTACH file": "ATTACH '{tmp}/other.duckdb' AS other",
    "ATTACH memory": "ATTACH ':memory:' AS scratch",
    "INSTALL": "INSTALL httpfs",
    "FORCE INSTALL": "FORCE INSTALL json",
    "LOAD": "LOAD httpfs",
    "read_csv": "SELECT * FROM read_csv('/etc/passwd')",
    "read_text": "SELECT * FROM read_text('/etc/passwd')",
    "read_blob": "SELECT * FROM read_blob('/etc/hostname')",
    "read_json": "SELECT * FROM read_json_auto('/etc/passwd')",
    "read_parquet s3": "SELECT * FROM read_parquet('s3://bucket/x.parquet')",
    "glob": "SELECT * FROM glob('/etc/*')",
    "sniff_csv": "SELECT * FROM sniff_csv('/etc/passwd')",
    "file replacement scan": "SELECT * FROM '/etc/passwd'",
    "secrets": "CREATE SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b')",
    "re-enable access": "SET enable_external_access = true",
    "unlock": "SET lock_configuration = false",
    "profiling file": "SET profiling_output = '{tmp}/profile.txt'",
    "temp directory": "SET temp_directory = '{tmp}/spill'",
    "write": "DELETE FROM cost_line_items",
    "second statement": "SELECT 1; DROP TABLE cost_line_items",
    "create": "CREATE TABLE x AS SELECT 1",
}


def test_finops_sql_refuses_everything_past_reading_the_store(run: Any, db: Path, tmp_path: Path):
    assert run("collect", "focus", str(FIXTURES / "report" / "bill.csv")).exit_code == 0
    before = query(db, "SELECT count(*), sum(BilledCost) FROM cost_line_items")
    for name, statement in REFUSED.items():
        message = one_line_error(run("sql", statement.format(tmp=tmp_path)))
        assert any(w in message for w in ("refused", "read-only", "cannot change", "does not exist")), (name, message)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store.duckdb"]
    assert query(db, "SELECT count(*), sum(BilledCost) FROM cost_line_items") == before


def test_cloud_credentials_from_the_environment_are_never_printed(run: Any, monkeypatch: pytest.MonkeyPatch):
    secret, token = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY", "FQoGZXIvYXdzEBoaDTOKEN"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    monkeypatch.setenv("AWS_SESSION_TOKEN", token)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens: the call fails
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    result = run("--debug", "collect", "aws-cur", "--s3", "s3://bucket/prefix/report", use_db=True)
    assert result.exit_code != 0
    assert secret not in result.output and token not in result.output
