"""Build AWS billing deliveries as AWS lays them out: legacy CUR assemblies and CUR 2.0 Data Exports.

Rows are given with CUR 2.0 (snake_case) names; `legacy_report` renames them to `lineItem/…` CSV names
and splits them into gzip chunks with per-assembly and period-level manifests, `cur2_export` writes
Parquet with MAP columns (`resource_tags`, `product`) and a Data Exports manifest.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

BUCKET = "cur-bucket"
PAYER = "111111111111"
RESEARCH = "222222222222"
LEGACY = {  # CUR 2.0 name -> legacy CSV name, in the order a legacy report writes them
    "identity_line_item_id": "identity/LineItemId",
    "bill_invoice_id": "bill/InvoiceId",
    "bill_billing_entity": "bill/BillingEntity",
    "bill_payer_account_id": "bill/PayerAccountId",
    "bill_billing_period_start_date": "bill/BillingPeriodStartDate",
    "bill_billing_period_end_date": "bill/BillingPeriodEndDate",
    "line_item_usage_account_id": "lineItem/UsageAccountId",
    "line_item_line_item_type": "lineItem/LineItemType",
    "line_item_usage_start_date": "lineItem/UsageStartDate",
    "line_item_usage_end_date": "lineItem/UsageEndDate",
    "line_item_product_code": "lineItem/ProductCode",
    "line_item_usage_type": "lineItem/UsageType",
    "line_item_operation": "lineItem/Operation",
    "line_item_resource_id": "lineItem/ResourceId",
    "line_item_usage_amount": "lineItem/UsageAmount",
    "line_item_currency_code": "lineItem/CurrencyCode",
    "line_item_unblended_rate": "lineItem/UnblendedRate",
    "line_item_unblended_cost": "lineItem/UnblendedCost",
    "line_item_line_item_description": "lineItem/LineItemDescription",
    "product_product_name": "product/ProductName",
    "product_instance_type": "product/instanceType",
    "product_region_code": "product/regionCode",
    "pricing_public_on_demand_cost": "pricing/publicOnDemandCost",
    "pricing_public_on_demand_rate": "pricing/publicOnDemandRate",
    "pricing_term": "pricing/term",
    "pricing_unit": "pricing/unit",
    "reservation_reservation_a_r_n": "reservation/ReservationARN",
    "reservation_effective_cost": "reservation/EffectiveCost",
    "reservation_unused_amortized_upfront_fee_for_billing_period": (
        "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod"
    ),
    "reservation_unused_recurring_fee": "reservation/UnusedRecurringFee",
    "savings_plan_savings_plan_a_r_n": "savingsPlan/SavingsPlanARN",
    "savings_plan_savings_plan_effective_cost": "savingsPlan/SavingsPlanEffectiveCost",
    "savings_plan_total_commitment_to_date": "savingsPlan/TotalCommitmentToDate",
    "savings_plan_used_commitment": "savingsPlan/UsedCommitment",
}
MONEY = {
    "line_item_unblended_cost",
    "line_item_usage_amount",
    "pricing_public_on_demand_cost",
    "reservation_effective_cost",
    "reservation_unused_amortized_upfront_fee_for_billing_period",
    "reservation_unused_recurring_fee",
    "savings_plan_savings_plan_effective_cost",
    "savings_plan_total_commitment_to_date",
    "savings_plan_used_commitment",
}
TIMES = {
    "bill_billing_period_start_date",
    "bill_billing_period_end_date",
    "line_item_usage_start_date",
    "line_item_usage_end_date",
}
Tree = dict[str, bytes]


def month(period: str) -> tuple[datetime, datetime]:
    start = datetime.strptime(period, "%Y-%m").replace(tzinfo=UTC)
    return start, (start + timedelta(days=32)).replace(day=1)


def line(
    kind: str,
    cost: str,
    period: str = "2025-01",
    hour: int = 8,
    tags: dict[str, str] | None = None,
    **fields: str,
) -> dict[str, Any]:
    """One CUR line of `period` (an hour on its 10th day), with the columns a line of `kind` carries."""
    start, end = month(period)
    at = start + timedelta(days=9, hours=hour)
    row: dict[str, Any] = {
        "identity_line_item_id": f"li-{kind}-{hour}-{cost}",
        "bill_billing_entity": "AWS",
        "bill_payer_account_id": PAYER,
        "bill_billing_period_start_date": start,
        "bill_billing_period_end_date": end,
        "line_item_usage_account_id": RESEARCH,
        "line_item_line_item_type": kind,
        "line_item_usage_start_date": at,
        "line_item_usage_end_date": at + timedelta(hours=1),
        "line_item_product_code": "AmazonEC2",
        "line_item_currency_code": "USD",
        "line_item_unblended_cost": cost,
        "product_product_name": "Amazon Elastic Compute Cloud",
        "product_region_code": "us-east-1",
        "tags": tags or {},
    }
    row.update(fields)
    return row


def legacy_report(
    rows: list[dict[str, Any]], period: str, assembly: str, chunks: int = 3, report: str = "ml-cur"
) -> tuple[Tree, str]:
    """The objects of one legacy CUR assembly (gzip CSV chunks + its manifest) and its period-level manifest key."""
    start, end = month(period)
    folder = f"cur/{report}/{start:%Y%m%d}-{end:%Y%m%d}"
    tag_keys = sorted({k for r in rows for k in r["tags"]})
    header = list(LEGACY.values()) + [f"resourceTags/user:{k}" for k in tag_keys]
    tree: Tree = {}
    keys = []
    for n in range(chunks):
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(header)
        for row in rows[n::chunks]:
            values = [_text(row.get(name)) for name in LEGACY] + [row["tags"].get(k, "") for k in tag_keys]
            writer.writerow(values)
        key = f"{folder}/{assembly}/{report}-{n + 1}.csv.gz"
        tree[key] = gzip.compress(text.getvalue().encode(), mtime=0)
        keys.append(key)
    manifest = {
        "assemblyId": assembly,
        "account": PAYER,
        "columns": [{"category": h.split("/")[0], "name": h.split("/")[1], "type": "String"} for h in header],
        "charset": "UTF-8",
        "compression": "GZIP",
        "contentType": "text/csv",
        "reportId": "0f3e",
        "reportName": report,
        "billingPeriod": {"start": f"{start:%Y%m%d}T000000.000Z", "end": f"{end:%Y%m%d}T000000.000Z"},
        "bucket": BUCKET,
        "reportKeys": keys,
        "additionalArtifactKeys": [],
    }
    body = json.dumps(manifest).encode()
    tree[f"{folder}/{assembly}/{report}-Manifest.json"] = body
    tree[f"{folder}/{report}-Manifest.json"] = body
    return tree, f"{folder}/{report}-Manifest.json"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def cur2_export(
    rows: list[dict[str, Any]], period: str, execution: str, files: int = 2, export: str = "ml-export"
) -> Tree:
    """The objects of one CUR 2.0 delivery: Parquet data files with MAP columns and the metadata manifest."""
    tree: Tree = {}
    uris = []
    for n in range(files):
        part = rows[n::files]
        key = f"cur2/{export}/data/BILLING_PERIOD={period}/{export}-{n + 1:05d}.snappy.parquet"
        tree[key] = _parquet(part)
        uris.append(f"s3://{BUCKET}/{key}")
    start, end = month(period)
    manifest = {
        "executionId": execution,
        "billingPeriod": {"start": f"{start:%Y-%m-%dT%H:%M:%S}.000Z", "end": f"{end:%Y-%m-%dT%H:%M:%S}.000Z"},
        "dataFiles": uris,
        "columns": [{"name": n, "type": "string"} for n in LEGACY],
    }
    tree[f"cur2/{export}/metadata/BILLING_PERIOD={period}/{export}-Manifest.json"] = json.dumps(manifest).encode()
    return tree


def _parquet(rows: list[dict[str, Any]]) -> bytes:
    """CUR 2.0 types: costs and amounts DOUBLE, dates TIMESTAMP, rates and ids VARCHAR, tags and product MAPs."""
    columns: dict[str, pa.Array] = {}
    for name in LEGACY:
        if name.startswith("product_") and name not in ("product_instance_type", "product_region_code"):
            continue
        values = [r.get(name) for r in rows]
        if name in MONEY:
            columns[name] = pa.array([None if v in (None, "") else float(Decimal(v)) for v in values], pa.float64())
        elif name in TIMES:
            columns[name] = pa.array([v.replace(tzinfo=None) for v in values], pa.timestamp("ms"))
        else:
            columns[name] = pa.array([None if v is None else str(v) for v in values], pa.string())
    mapping = pa.map_(pa.string(), pa.string())
    columns["resource_tags"] = pa.array(
        [[(f"user_{k.replace('-', '_')}", v) for k, v in r["tags"].items()] for r in rows], mapping
    )
    columns["product"] = pa.array(
        [
            [("product_name", r.get("product_product_name") or ""), ("servicecode", r["line_item_product_code"])]
            for r in rows
        ],
        mapping,
    )
    columns["cost_category"] = pa.array([[] for _ in rows], mapping)
    sink = io.BytesIO()
    pq.write_table(pa.table(columns), sink)
    return sink.getvalue()


def write_local(tree: Tree, root: Path, at: datetime | None = None) -> None:
    """Save objects under root as `aws s3 sync` would, with their delivery time as mtime."""
    for key, body in tree.items():
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        if at is not None:
            os.utime(path, (at.timestamp(), at.timestamp()))


def put(s3: Any, tree: Tree, only: Iterable[str] | None = None) -> None:
    """Upload objects to the test bucket (creating it when missing)."""
    if BUCKET not in [b["Name"] for b in s3.list_buckets().get("Buckets", [])]:
        s3.create_bucket(Bucket=BUCKET)
    for key, body in tree.items():
        if only is None or key in only:
            s3.put_object(Bucket=BUCKET, Key=key, Body=body)


def test_legacy_names_normalise_to_cur2_names() -> None:
    from finops.collect.aws_columns import snake

    assert {legacy: snake(legacy) for legacy in LEGACY.values()} == {v: k for k, v in LEGACY.items()}
    assert snake("resourceTags/user:training-run") == "resource_tags_user_training_run"
    assert snake("savingsPlan/SavingsPlanArn") == "savings_plan_savings_plan_a_r_n"
