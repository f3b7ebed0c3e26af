"""Output formats keep money exact and write files atomically."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from decimal import Decimal

import pyarrow as pa
import pytest

from finops import output
from finops.errors import FinopsError


def reader():
    return pa.table(
        {
            "name": ["a", "b<script>"],
            "cost": pa.array(
                [Decimal("0.000000000000000001"), Decimal("-12345678901234567890.5")], pa.decimal128(38, 18)
            ),
            "at": pa.array([datetime(2024, 9, 1, tzinfo=UTC), None], pa.timestamp("us", tz="UTC")),
            "tags": pa.array([[("team", "nlp")], None], pa.map_(pa.string(), pa.string())),
        }
    ).to_reader()


def test_csv_is_exact():
    out = io.StringIO()
    assert output.write(reader(), "csv", None, out) == 2
    assert out.getvalue().splitlines() == [
        "name,cost,at,tags",
        'a,0.000000000000000001,2024-09-01T00:00:00Z,"{""team"": ""nlp""}"',
        "b<script>,-12345678901234567890.5,,",
    ]


def test_json_keeps_decimal_digits():
    out = io.StringIO()
    output.write(reader(), "json", None, out)
    assert '"cost": 0.000000000000000001' in out.getvalue()
    data = json.loads(out.getvalue(), parse_float=Decimal)
    assert data[1]["cost"] == Decimal("-12345678901234567890.5")
    assert data[0]["tags"] == {"team": "nlp"} and data[1]["at"] is None


def test_table_aligns_numbers_right():
    out = io.StringIO()
    output.write(reader(), "table", None, out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("name") and lines[-1] == "(2 rows)"
    end = lines[3].index("-12345678901234567890.5") + len("-12345678901234567890.5")
    assert lines[2][end - 1] == "1" and lines[2][end] == " "  # 0.000…001 ends where the long number ends
    assert lines[0][end - 4 : end] == "cost"


def test_files_are_written_atomically(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old")

    def failing():
        yield from reader()
        raise RuntimeError("stream broke")

    broken = pa.RecordBatchReader.from_batches(reader().schema, failing())
    with pytest.raises(RuntimeError):
        output.write(broken, "csv", target, io.StringIO())
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_format_choice():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    assert output.choose_format(None, None, Tty()) == "table"
    assert output.choose_format(None, None, io.StringIO()) == "csv"
    from pathlib import Path

    assert output.choose_format(None, Path("x.parquet"), io.StringIO()) == "parquet"
    assert output.choose_format("json", Path("x.parquet"), io.StringIO()) == "json"
    with pytest.raises(FinopsError, match="give it with -o"):
        output.write(reader(), "parquet", None, io.StringIO())


class Tty(io.StringIO):
    def isatty(self):
        return True


def money_reader():
    long_id = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/" + "x" * 40 + "-prod"
    return pa.table(
        {
            "resource_id": [long_id, "i-1"],
            "currency": ["USD", "EUR"],
            "cost": pa.array([Decimal("1234567.005"), Decimal("-0.004")], pa.decimal128(38, 18)),
            "idle_share": pa.array([Decimal("0.153294"), None], pa.decimal128(38, 6)),
            "change_pct": pa.array([Decimal("-22.70"), Decimal("5")], pa.decimal128(38, 2)),
            "gpu_hours": pa.array([Decimal("10.934982"), Decimal("0")], pa.decimal128(38, 18)),
        }
    ).to_reader()


def test_table_shows_money_with_its_currency_and_cuts_long_cells_on_a_terminal():
    out = Tty()
    output.write(money_reader(), "table", None, out)
    lines = out.getvalue().splitlines()
    assert lines[2].split("  ")[0] == "arn:aws:sagemaker:us-ea…" + "x" * 19 + "-prod"
    assert len(lines[2].split("  ")[0]) == output.CELL_WIDTH
    assert "1,234,567.01 USD" in lines[2] and "-0.00 EUR" in lines[3]  # cents, half away from zero
    assert "15.3 %" in lines[2] and "-22.7 %" in lines[2] and "5.0 %" in lines[3]
    assert "10.934982" in lines[2]  # not money: exact


def test_files_keep_every_digit_and_whole_cells():
    out = io.StringIO()
    output.write(money_reader(), "table", None, out)
    assert "x" * 40 + "-prod" in out.getvalue()  # not a terminal: nothing cut
    csv_out = io.StringIO()
    output.write(money_reader(), "csv", None, csv_out)
    assert csv_out.getvalue().splitlines()[1].split(",")[2:] == ["1234567.005", "0.153294", "-22.7", "10.934982"]


def test_money_and_share_text():
    assert output.money_text(Decimal("0.005"), "USD") == "0.01 USD"
    assert output.money_text(Decimal("-1000.5"), None) == "-1,000.50"
    assert (
        output.share_text(Decimal("0.5")) == "50.0 %" and output.share_text(Decimal("12.34"), percent=True) == "12.3 %"
    )
    assert output.shorten("abcdef", 5) == "ab…ef" and output.shorten("abc", 5) == "abc"


def test_written_files_get_the_usual_permissions_not_mkstemps(tmp_path):
    import os

    from finops.output import atomic_path

    target = tmp_path / "report.html"
    umask = os.umask(0o022)
    try:
        with atomic_path(target) as tmp:
            tmp.write_text("x")
    finally:
        os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o644
