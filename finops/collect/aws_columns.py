"""The column layouts of AWS billing files, and a reader giving every CUR field as text under one name.

Legacy CUR CSV names columns `lineItem/UnblendedCost`, legacy Parquet (Athena) and CUR 2.0
`line_item_unblended_cost`; CUR 2.0 keeps tags and most product attributes in MAP columns
(`resource_tags['user_team']`, `product['product_name']`). The mapping SQL reads the snake_case
names below whatever the layout, so one query maps all three.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import duckdb

from finops.collect import readers
from finops.collect.files import SourceFile, csv_header
from finops.errors import InputError
from finops.store import ident

Layout = Literal["cur", "focus"]

_CATEGORIES = {
    "lineItem": "line_item",
    "savingsPlan": "savings_plan",
    "resourceTags": "resource_tags",
    "costCategory": "cost_category",
    "splitLineItem": "split_line_item",
}
_ARNS = {
    "reservation/reservationarn": "reservation_reservation_a_r_n",
    "savingsplan/savingsplanarn": "savings_plan_savings_plan_a_r_n",
}
# The CUR fields the mapping reads; a file lacking one reads it as NULL.
FIELDS = (
    "bill_invoice_id",
    "bill_invoicing_entity",
    "bill_billing_entity",
    "bill_payer_account_id",
    "bill_payer_account_name",
    "bill_billing_period_start_date",
    "bill_billing_period_end_date",
    "line_item_usage_account_id",
    "line_item_usage_account_name",
    "line_item_line_item_type",
    "line_item_usage_start_date",
    "line_item_usage_end_date",
    "line_item_product_code",
    "line_item_usage_type",
    "line_item_operation",
    "line_item_availability_zone",
    "line_item_resource_id",
    "line_item_usage_amount",
    "line_item_currency_code",
    "line_item_unblended_rate",
    "line_item_unblended_cost",
    "line_item_net_unblended_cost",
    "line_item_line_item_description",
    "product_product_name",
    "product_instance_type",
    "product_region_code",
    "product_location",
    "product_sku",
    "product_gpu",
    "pricing_public_on_demand_cost",
    "pricing_public_on_demand_rate",
    "pricing_term",
    "pricing_unit",
    "reservation_reservation_a_r_n",
    "reservation_effective_cost",
    "reservation_net_effective_cost",
    "reservation_unused_amortized_upfront_fee_for_billing_period",
    "reservation_net_unused_amortized_upfront_fee_for_billing_period",
    "reservation_unused_recurring_fee",
    "reservation_net_unused_recurring_fee",
    "savings_plan_savings_plan_a_r_n",
    "savings_plan_savings_plan_effective_cost",
    "savings_plan_net_savings_plan_effective_cost",
    "savings_plan_total_commitment_to_date",
    "savings_plan_used_commitment",
)
# Without these a file is not a CUR the mapping can read.
REQUIRED = (
    "line_item_line_item_type",
    "line_item_unblended_cost",
    "line_item_usage_start_date",
    "bill_billing_period_start_date",
)


def snake(column: str) -> str:
    """The CUR 2.0 / Athena name of a legacy CSV column (`lineItem/UsageAccountId` -> `line_item_usage_account_id`)."""
    if column.lower() in _ARNS:
        return _ARNS[column.lower()]
    if "/" not in column:
        return column.lower()
    category, name = column.split("/", 1)
    name = re.sub(r"[^0-9a-zA-Z]+", "_", re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)).lower().strip("_")
    return f"{_CATEGORIES.get(category, category)}_{name}"


@dataclass(frozen=True)
class CurReader:
    """A table expression over one file (path bound as $path; `_row` its place in the file, NULL for CSV) and the
    file's own name of each field."""

    layout: Layout
    query: str
    names: dict[str, str]  # snake field -> the file's column name, for error messages


def reader(con: duckdb.DuckDBPyConnection, source: SourceFile) -> CurReader:
    """How to read this file: its layout, and for a CUR every field as text plus `_tags` as a MAP."""
    if source.format == "parquet":
        described = dict(readers.describe_parquet(con, source))
        header = list(described)
        inner = "read_parquet($path)"
        refs = {name: ident(name) for name in header}
        row = "file_row_number + 1"
    elif source.format == "csv":
        header, delimiter = csv_header(source)
        described = dict.fromkeys(header, "VARCHAR")
        columns = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(header)))
        inner = (
            f"read_csv($path, auto_detect = false, header = true, delim = '{delimiter}', quote = '\"', "
            f"escape = '\"', columns = {{{columns}}}, nullstr = [''], null_padding = true, strict_mode = true)"
        )
        refs = {name: f"c{i}" for i, name in enumerate(header)}
        row = "NULL::BIGINT"  # the CSV reader does not say a row's line
    else:
        raise InputError(f"{source.path}: not a CUR data file; AWS delivers .csv.gz, .csv or .parquet")
    fields: dict[str, str] = {}
    for name in header:
        fields.setdefault(snake(name), name)
    if {"billedcost", "chargecategory"} <= {name.lower() for name in header}:
        return CurReader("focus", "", {})
    missing = [f for f in REQUIRED if f not in fields]
    if missing:
        raise InputError(
            f"{source.path}: unknown column layout: no {', '.join(missing)} column; finops reads legacy CUR "
            "(lineItem/UnblendedCost …), CUR 2.0 / Athena (line_item_unblended_cost …) and FOCUS exports"
        )
    product = _as_map(refs["product"], described["product"]) if "product" in described else None
    select = []
    for field in FIELDS:
        if field in fields:
            select.append(f"CAST({refs[fields[field]]} AS VARCHAR) AS {field}")
        elif product and field.startswith("product_"):
            key = field.removeprefix("product_").replace("'", "''")
            select.append(f"element_at({product}, '{key}')[1] AS {field}")
        else:
            select.append(f"CAST(NULL AS VARCHAR) AS {field}")
    select.append(f"{_tags(header, described, refs)} AS _tags")
    select.append(f"{row} AS _row")
    query = f"(SELECT {', '.join(select)} FROM {inner})"
    return CurReader("cur", query, {f: fields[f] for f in FIELDS if f in fields})


def _as_map(ref: str, kind: str) -> str:
    """A CUR 2.0 map column as MAP(VARCHAR, VARCHAR): Parquet has a MAP, CSV the map as JSON object text."""
    if kind.startswith("MAP"):
        return f"CAST({ref} AS MAP(VARCHAR, VARCHAR))"
    text = f"CAST({ref} AS VARCHAR)"
    return (
        f"CASE WHEN json_valid({text}) AND json_type({text}) = 'OBJECT' "
        f"THEN json_transform({text}, '\"MAP(VARCHAR, VARCHAR)\"') END"
    )


def _tags(header: Sequence[str], described: dict[str, str], refs: dict[str, str]) -> str:
    """User and AWS tags as one MAP: `user:`/`user_` prefixes dropped, empty values left out."""
    if "resource_tags" in described:
        entries = f"map_entries({_as_map(refs['resource_tags'], described['resource_tags'])})"
        kept = (
            f"list_transform(list_filter({entries}, lambda e: coalesce(e.value, '') <> ''), "
            "lambda e: {'k': regexp_replace(e.key, '^user_', ''), 'v': e.value})"
        )
        return f"map_from_entries({kept})"
    pairs = []
    for name in header:
        if name.startswith("resourceTags/"):
            key = name.split("/", 1)[1].removeprefix("user:")
        elif name.startswith("resource_tags_"):
            key = name.removeprefix("resource_tags_").removeprefix("user_")
        else:
            continue
        pairs.append("{'k': '" + key.replace("'", "''") + "', 'v': CAST(" + refs[name] + " AS VARCHAR)}")
    if not pairs:
        return "CAST(NULL AS MAP(VARCHAR, VARCHAR))"
    return f"map_from_entries(list_filter([{', '.join(pairs)}], lambda e: coalesce(e.v, '') <> ''))"
