"""The Cloud Billing export's columns, and table expressions reading any saved copy of it row for row.

Every reader yields the same flat relation (`FIELDS`, in order) whatever the source looked like:
BigQuery's nested records (NDJSON export, Parquet/Avro-derived Parquet, a query result), or a
flattened CSV with dotted (`service.description`) or underscore (`service_description`) names.
Money and quantities come out as text, so the mapping parses them exactly: a JSON number as written,
a FLOAT (double) as its shortest round-trip decimal.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from finops.collect.files import SourceFile
from finops.errors import InputError
from finops.store import ident

Shape = Literal["text", "timestamp", "number", "pairs", "credits"]
PAIRS = "STRUCT(key VARCHAR, value VARCHAR)[]"
CREDITS = "STRUCT(name VARCHAR, amount VARCHAR, full_name VARCHAR, id VARCHAR, type VARCHAR)[]"
CREDIT_PARTS = ("name", "amount", "full_name", "id", "type")


@dataclass(frozen=True)
class Field:
    """One export field: its path in the nested export, its flat name, and what kind of value it holds."""

    path: tuple[str, ...]
    shape: Shape = "text"

    @property
    def name(self) -> str:
        return "_".join(self.path)

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


_F = Field
# The export fields finops reads (standard export; resource.* only in the detailed one).
FIELDS: tuple[Field, ...] = (
    _F(("billing_account_id",)),
    _F(("service", "id")),
    _F(("service", "description")),
    _F(("sku", "id")),
    _F(("sku", "description")),
    _F(("usage_start_time",), "timestamp"),
    _F(("usage_end_time",), "timestamp"),
    _F(("project", "id")),
    _F(("project", "number")),
    _F(("project", "name")),
    _F(("project", "labels"), "pairs"),
    _F(("labels",), "pairs"),
    _F(("system_labels",), "pairs"),
    _F(("location", "location")),
    _F(("location", "region")),
    _F(("location", "zone")),
    _F(("cost",), "number"),
    _F(("cost_at_list",), "number"),
    _F(("currency",)),
    _F(("usage", "amount"), "number"),
    _F(("usage", "unit")),
    _F(("usage", "amount_in_pricing_units"), "number"),
    _F(("usage", "pricing_unit")),
    _F(("credits",), "credits"),
    _F(("invoice", "month")),
    _F(("cost_type",)),
    _F(("adjustment_info", "id")),
    _F(("adjustment_info", "description")),
    _F(("adjustment_info", "type")),
    _F(("resource", "name")),
    _F(("resource", "global_name")),
    _F(("seller_name",)),
)
# Without these a table is not a billing export.
REQUIRED = ("billing_account_id", "cost", "currency", "invoice.month", "usage_start_time")
SHAPE_TYPES: dict[Shape, str] = {
    "text": "VARCHAR",
    "timestamp": "VARCHAR",
    "number": "VARCHAR",
    "pairs": PAIRS,
    "credits": CREDITS,
}
JSON_SUFFIXES = (".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz", ".ndjson.gz")


def missing_required(present: set[str]) -> list[str]:
    """The required fields (dotted) absent from a set of dotted field names."""
    return [name for name in REQUIRED if name not in present]


def not_an_export(where: str, missing: Sequence[str]) -> InputError:
    """The error for a table or file that lacks the export's billing columns."""
    return InputError(
        f"{where}: not a Cloud Billing export (no {', '.join(missing)}); point finops at the "
        "gcp_billing_export_v1_… (standard) or gcp_billing_export_resource_v1_… (detailed) table or a copy of it"
    )


def ndjson_reader(source: SourceFile) -> str:
    """read_json of an NDJSON export (path bound as $path): nested records, money read as written."""
    first = _first_record(source)
    keys = {".".join(p) for p in _paths(first)}
    missing = missing_required(keys)
    if missing:
        raise not_an_export(str(source.path), missing)
    tops: dict[str, dict[str, str] | str] = {}
    for f in FIELDS:
        if len(f.path) == 1:
            tops[f.path[0]] = SHAPE_TYPES[f.shape]
        else:
            inner = tops.setdefault(f.path[0], {})
            assert isinstance(inner, dict)
            inner[f.path[1]] = SHAPE_TYPES[f.shape]
    columns = ", ".join(
        f"'{name}': '" + (kind if isinstance(kind, str) else _struct(kind)) + "'" for name, kind in tops.items()
    )
    select = ", ".join(f"{_nested(f, f.path)} AS {f.name}" for f in FIELDS)
    return (
        f"(SELECT {select} FROM read_json($path, format = 'newline_delimited', columns = {{{columns}}}, "
        "maximum_object_size = 16777216))"
    )


def parquet_reader(schema: dict[str, object]) -> str:
    """read_parquet (path bound as $path) of a nested export or a flat copy, given its Arrow schema as a tree."""
    parts = []
    for f in FIELDS:
        expr = _resolve(schema, f)
        parts.append(f"{expr} AS {f.name}")
    return f"(SELECT {', '.join(parts)} FROM read_parquet($path))"


def csv_reader(source: SourceFile) -> str:
    """A flattened CSV export (path bound as $path): dotted or underscore names, lists as JSON text."""
    from finops.collect import readers
    from finops.collect.files import csv_header

    header, delimiter = csv_header(source)
    names = {h.lower(): h for h in header}
    found = {f.dotted for f in FIELDS if f.dotted in names or f.name in names}
    missing = missing_required(found)
    if missing:
        raise not_an_export(str(source.path), missing)
    parts = []
    for f in FIELDS:
        column = names.get(f.dotted) or names.get(f.name)
        if column is None:
            parts.append(f"CAST(NULL AS {SHAPE_TYPES[f.shape]}) AS {f.name}")
        elif f.shape in ("pairs", "credits"):
            parts.append(f"{_json_list(ident(column), f.shape)} AS {f.name}")
        else:
            parts.append(f"{ident(column)} AS {f.name}")
    return f"(SELECT {', '.join(parts)} FROM {readers.csv_reader(header, delimiter)})"


def arrow_tree(schema: object) -> dict[str, object]:
    """An Arrow schema as {name: subtree or None}: structs nest, lists of structs keep their item fields."""
    import pyarrow as pa

    def walk(arrow_type: pa.DataType) -> dict[str, object] | None:
        if pa.types.is_struct(arrow_type):
            return {arrow_type.field(i).name: walk(arrow_type.field(i).type) for i in range(arrow_type.num_fields)}
        if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
            inner = walk(arrow_type.value_type)
            return {"[]": inner}
        return None

    assert isinstance(schema, pa.Schema)
    return {f.name: walk(f.type) for f in schema}


def _resolve(tree: dict[str, object], f: Field) -> str:
    """The expression for one field in a Parquet file: nested path, flat name, or NULL."""
    node: object = tree
    for part in f.path:
        if not isinstance(node, dict) or part not in node:
            node = None
            break
        node = node[part]
    else:
        return _nested(f, f.path, node)
    for flat in (f.name, f.dotted):
        if flat in tree:
            return _nested(f, (flat,), tree[flat])
    return f"CAST(NULL AS {SHAPE_TYPES[f.shape]})"


def _nested(f: Field, path: Sequence[str], node: object = None) -> str:
    """The expression reading a field at `path`, as the field's flat shape."""
    expr = ".".join(ident(p) for p in path)
    if f.shape in ("text", "timestamp", "number"):
        return f"CAST({expr} AS VARCHAR)"
    if f.shape == "pairs":
        return f"CAST({expr} AS {PAIRS})"
    item = node.get("[]") if isinstance(node, dict) else None
    have = set(item) if isinstance(item, dict) else set(CREDIT_PARTS)
    parts = ", ".join(f"'{p}': CAST({'c.' + ident(p) if p in have else 'NULL'} AS VARCHAR)" for p in CREDIT_PARTS)
    return f"list_transform({expr}, lambda c: {{{parts}}})"


def _json_list(column: str, shape: Shape) -> str:
    """A JSON (or Python-repr, as koku writes it) list of records in a CSV cell, as the field's list type."""
    python = (
        "replace(replace(replace(replace("
        + column
        + ", '''', '\"'), 'None', 'null'), 'True', 'true'), 'False', 'false')"
    )
    text = f"CASE WHEN json_valid({column}) THEN {column} ELSE {python} END"
    if shape == "pairs":
        return f'from_json({text}, \'[{{"key": "VARCHAR", "value": "VARCHAR"}}]\')'
    spec = ", ".join(f'"{p}": "VARCHAR"' for p in CREDIT_PARTS)
    return f"from_json({text}, '[{{{spec}}}]')"


def _struct(fields: dict[str, str]) -> str:
    return "STRUCT(" + ", ".join(f"{name} {kind}" for name, kind in fields.items()) + ")"


def _paths(record: dict[str, object], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for key, value in record.items():
        found.append((*prefix, key))
        if isinstance(value, dict):
            found.extend(_paths(value, (*prefix, key)))
    return found


def _first_record(source: SourceFile) -> dict[str, object]:
    """The first object of an NDJSON file; a malformed line is named by its number."""
    for number, line in enumerate(_lines(source), start=1):
        if line.strip():
            return _parse_line(source, number, line)
    raise InputError(f"{source.path}: no records; re-export the table as newline-delimited JSON")


def bad_line(source: SourceFile) -> str | None:
    """The first malformed line of an NDJSON file (not JSON, or a field of the wrong shape), or None."""
    for number, line in enumerate(_lines(source), start=1):
        if line.strip():
            try:
                record = _parse_line(source, number, line)
            except InputError as exc:
                return str(exc)
            wrong = _wrong_shape(record)
            if wrong:
                return f"{source.path} line {number}: {wrong}; fix the line or re-export the table"
    return None


def _wrong_shape(record: dict[str, object]) -> str | None:
    """What is wrong with a record's nesting, as the export's schema has it, or None."""
    for f in FIELDS:
        parent = record.get(f.path[0]) if len(f.path) > 1 else record
        if parent is not None and not isinstance(parent, dict):
            return f"{f.path[0]} must be a record (JSON object), not {type(parent).__name__}"
        value = parent.get(f.path[-1]) if isinstance(parent, dict) else None
        if f.shape in ("pairs", "credits") and value is not None:
            if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
                return f"{f.dotted} must be a list of records (JSON objects), not {json.dumps(value)[:60]}"
    return None


def _parse_line(source: SourceFile, number: int, line: str) -> dict[str, object]:
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{source.path} line {number}: not valid JSON ({exc.msg} at column {exc.colno}); "
            "fix the line or re-export the table as newline-delimited JSON"
        ) from None
    if not isinstance(value, dict):
        raise InputError(f"{source.path} line {number}: expected a JSON object per line (newline-delimited JSON)")
    return value


MAX_LINE = 16 << 20  # characters; an export record is a few KB (DuckDB's read_json stops at 16 MB too)


def _lines(source: SourceFile) -> Iterator[str]:
    """The file's lines, streamed; a line longer than MAX_LINE (a decompression bomb, a binary file) stops it."""
    try:
        with (
            gzip.open(source.path, "rt", encoding="utf-8")
            if source.gzipped
            else source.path.open(encoding="utf-8") as fh
        ):
            number = 0
            while line := fh.readline(MAX_LINE + 1):
                number += 1
                if len(line) > MAX_LINE:
                    raise InputError(
                        f"{source.path} line {number}: longer than {MAX_LINE >> 20} MiB; not an export record "
                        "(a corrupt or hostile file?)"
                    )
                yield line
    except UnicodeDecodeError:
        raise InputError(f"{source.path}: not UTF-8 text; re-export the table as newline-delimited JSON") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"{source.path}: cannot read: {exc}") from None
