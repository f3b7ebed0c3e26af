"""Writing query results as an aligned table, CSV, JSON or Parquet, streaming record batches."""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import IO, Any

import pyarrow as pa

from finops.errors import FinopsError

FORMATS = ("table", "csv", "json", "parquet")
_SUFFIX_FORMATS = {".csv": "csv", ".json": "json", ".parquet": "parquet", ".pq": "parquet", ".txt": "table"}


def choose_format(fmt: str | None, out: Path | None, stream: IO[str]) -> str:
    """The explicit --format, else the output file's suffix, else table on a terminal and CSV in a pipe."""
    if fmt:
        return fmt
    if out is not None:
        return _SUFFIX_FORMATS.get(out.suffix.lower(), "csv")
    return "table" if stream.isatty() else "csv"


def write(reader: pa.RecordBatchReader, fmt: str, out: Path | None, stream: IO[str]) -> int:
    """Write every batch of `reader` in `fmt` to `out` (atomically) or `stream`; return the row count."""
    if fmt == "parquet":
        if out is None:
            raise FinopsError("--format parquet writes a file: give it with -o FILE.parquet")
        with atomic_path(out) as tmp:
            return _write_parquet(reader, tmp)
    if out is None:
        return _write_text(reader, fmt, stream)
    with atomic_path(out) as tmp, tmp.open("w", encoding="utf-8", newline="") as fh:
        return _write_text(reader, fmt, fh)


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A temporary path beside `target` that replaces it only when the block succeeds; the file gets the
    permissions any new file would (mkstemp's are owner-only, too strict for a report to share)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write_parquet(reader: pa.RecordBatchReader, path: Path) -> int:
    import pyarrow.parquet as pq

    count = 0
    with pq.ParquetWriter(str(path), reader.schema) as writer:
        for batch in reader:
            writer.write_batch(batch)
            count += batch.num_rows
    return count


def _write_text(reader: pa.RecordBatchReader, fmt: str, stream: IO[str]) -> int:
    names = list(reader.schema.names)
    if fmt == "csv":
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(names)
        count = 0
        for row in _rows(reader):
            writer.writerow([csv_cell(v) for v in row])
            count += 1
        return count
    if fmt == "json":
        count = 0
        stream.write("[")
        for row in _rows(reader):
            stream.write(",\n " if count else "\n ")
            stream.write(
                "{" + ", ".join(f"{json.dumps(k)}: {json_value(v)}" for k, v in zip(names, row, strict=False)) + "}"
            )
            count += 1
        stream.write("\n]\n" if count else "]\n")
        return count
    if fmt == "table":
        terminal = stream.isatty()
        rows = [table_cells(names, row, terminal) for row in _rows(reader)]
        numeric = [_is_numeric(reader.schema.field(i).type) for i in range(len(names))]
        stream.write(table(names, rows, numeric))
        return len(rows)
    raise FinopsError(f"unknown output format {fmt!r}; use one of {', '.join(FORMATS)}")


def table_cells(names: list[str], row: tuple[Any, ...], terminal: bool) -> list[str]:
    """One row's cells for people: money with its row's currency, shares as %, long cells cut on a terminal.

    Money is rounded to cents only where the row names its currency; CSV, JSON and Parquet keep
    every digit.
    """
    currency = next((row[i] for i, n in enumerate(names) if n in CURRENCY_COLUMNS), None)
    cells = []
    for name, value in zip(names, row, strict=False):
        if isinstance(value, Decimal) and value.is_finite() and currency and is_money(name):
            cell = money_text(value, str(currency))
        elif isinstance(value, (Decimal, float)) and value == value and (is_share(name) or is_percent(name)):
            cell = share_text(value, is_percent(name))
        else:
            cell = text(value)
        cells.append(shorten(cell) if terminal else cell)
    return cells


def _rows(reader: pa.RecordBatchReader) -> Iterator[tuple[Any, ...]]:
    for batch in reader:
        columns = [column.to_pylist() for column in batch.columns]
        yield from zip(*columns, strict=False)


def _is_numeric(kind: pa.DataType) -> bool:
    return bool(pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind))


def table(names: list[str], rows: list[list[str]], numeric: list[bool]) -> str:
    """An aligned plain-text table; numbers right-aligned."""
    widths = [max([len(n)] + [len(r[i]) for r in rows]) for i, n in enumerate(names)]

    def line(cells: Iterable[str]) -> str:
        parts = [c.rjust(w) if num else c.ljust(w) for c, w, num in zip(cells, widths, numeric, strict=False)]
        return "  ".join(parts).rstrip() + "\n"

    rule = "  ".join("-" * w for w in widths) + "\n"
    return line(names) + rule + "".join(line(r) for r in rows) + f"({len(rows)} row{'s' if len(rows) != 1 else ''})\n"


MONEY_SUFFIXES = ("cost", "_amount", "change", "savings", "cost_per_gpu_hour", "cost_per_1k_requests")
SHARE_SUFFIXES = ("_share", "utilization", "coverage")
CURRENCY_COLUMNS = ("currency", "billing_currency", "BillingCurrency")
CELL_WIDTH = 48  # a terminal table cuts longer cells in the middle


def is_money(column: str) -> bool:
    """A money column by its name (the library's and FOCUS's conventions: *cost, *_amount, change, savings)."""
    return column.lower().endswith(MONEY_SUFFIXES) or column in ("amount", "actual", "forecast", "expected", "delta")


def is_share(column: str) -> bool:
    """A ratio column (0..1) by its name: *_share, share_of_*, utilization, coverage."""
    name = column.lower()
    return name.endswith(SHARE_SUFFIXES) or name.startswith("share_")


def is_percent(column: str) -> bool:
    """A column already in percent (0..100) by its name: *_pct."""
    return column.lower().endswith("_pct")


def money_text(value: Decimal, currency: str | None) -> str:
    """Money for people: thousands separators, cents (half away from zero), and the currency code."""
    cents = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    amount = f"{cents:,.2f}"
    return f"{amount} {currency}" if currency else amount


def share_text(value: Decimal | float, percent: bool = False) -> str:
    """A 0..1 ratio (or a value already in percent) as a percentage with one decimal."""
    return f"{Decimal(str(value)) * (1 if percent else 100):,.1f} %"


def shorten(cell: str, width: int = CELL_WIDTH) -> str:
    """A cell cut in the middle to `width` characters, keeping both ends (ids differ at their ends)."""
    if len(cell) <= width:
        return cell
    head = (width - 1) // 2
    return cell[:head] + "…" + cell[len(cell) - (width - 1 - head) :]


def decimal_text(value: Decimal) -> str:
    """Exact decimal text without trailing zeros and without exponent notation."""
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


def instant_text(value: datetime) -> str:
    """UTC ISO 8601 with Z; naive values are taken as UTC."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    fraction = f".{value.microsecond:06d}".rstrip("0") if value.microsecond else ""
    return value.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"


def text(value: Any) -> str:
    """One value as text for CSV and tables."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, datetime):
        return instant_text(value)
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, (list, dict)):
        return json_value(value)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """One value for a CSV cell: text a spreadsheet would run as a formula gets a leading `'` (OWASP CSV
    injection); numbers, negative money included, are written as they are."""
    cell = text(value)
    if isinstance(value, str) and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


def json_value(value: Any) -> str:
    """One value as JSON text; decimals stay exact numbers, MAP values become objects."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return decimal_text(value) if value.is_finite() else "null"
    if isinstance(value, float):
        return json.dumps(value) if value == value and abs(value) != float("inf") else "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (datetime, date, time)):
        return json.dumps(text(value))
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))}: {json_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        if value and all(isinstance(item, tuple) and len(item) == 2 for item in value):
            return json_value(dict(value))  # an Arrow MAP arrives as a list of (key, value) pairs
        return "[" + ", ".join(json_value(v) for v in value) + "]"
    if isinstance(value, bytes):
        return json.dumps(value.hex())
    return json.dumps(str(value))
