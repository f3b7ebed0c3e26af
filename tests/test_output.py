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
