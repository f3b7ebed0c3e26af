"""The demo's AWS month as AWS delivers it: a CUR 2.0 (Data Exports) report of Parquet files and a manifest.

`write_cur2` turns the AWS rows of the demo's FOCUS files into CUR line items with AWS's own line item
types, so `collect aws-cur` yields the same FOCUS totals and attribution inputs as `collect focus` of
the same rows. The Savings Plan is where the two shapes differ: FOCUS has one Used row per covered
instance-hour and a Purchase plus an Unused row per hour; CUR has SavingsPlanCoveredUsage (billed at
on-demand) with its SavingsPlanNegation, and one SavingsPlanRecurringFee whose unused commitment is
TotalCommitmentToDate - UsedCommitment. So the CUR has one more row (a negation) per covered hour.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

EXPORT = "acme-ml-cur2"
BUCKET = "acme-ml-billing"
_ROWS_PER_FILE = 500_000
_PRODUCT_CODES = {
    "Amazon Elastic Compute Cloud": "AmazonEC2",
    "Amazon SageMaker": "AmazonSageMaker",
    "Amazon Simple Storage Service": "AmazonS3",
    "AWS Data Transfer": "AWSDataTransfer",
    "Savings Plans for AWS Compute usage": "ComputeSavingsPlans",
    "AWS Support (Business)": "AWSSupportBusiness",
}
_STRINGS = (
    "bill_invoice_id",
    "bill_invoicing_entity",
    "bill_billing_entity",
    "bill_payer_account_id",
    "bill_payer_account_name",
    "line_item_usage_account_id",
    "line_item_usage_account_name",
    "line_item_line_item_type",
    "line_item_product_code",
    "line_item_usage_type",
    "line_item_operation",
    "line_item_availability_zone",
    "line_item_resource_id",
    "line_item_currency_code",
    "line_item_unblended_rate",
    "line_item_line_item_description",
    "product_instance_type",
    "product_region_code",
    "pricing_public_on_demand_rate",
    "pricing_term",
    "pricing_unit",
    "savings_plan_savings_plan_a_r_n",
)
_DOUBLES = (
    "line_item_usage_amount",
    "line_item_unblended_cost",
    "pricing_public_on_demand_cost",
    "savings_plan_savings_plan_effective_cost",
    "savings_plan_total_commitment_to_date",
    "savings_plan_used_commitment",
)
_TIMES = (
    "bill_billing_period_start_date",
    "bill_billing_period_end_date",
    "line_item_usage_start_date",
    "line_item_usage_end_date",
)
_MAPS = ("resource_tags", "product", "cost_category")


def export_root(out_dir: Path) -> Path:
    """The report folder `write_cur2` fills under out_dir (what `collect aws-cur` is pointed at)."""
    return out_dir / EXPORT


def write_cur2(focus_files: list[Path], out_dir: Path) -> list[Path]:
    """Write the AWS rows of the FOCUS files as a CUR 2.0 export under out_dir; return the files written."""
    periods: dict[str, list[dict[str, Any]]] = {}
    for row in _cur_rows(focus_files):
        periods.setdefault(f"{row['bill_billing_period_start_date']:%Y-%m}", []).append(row)
    written = []
    for period, rows in sorted(periods.items()):
        data_dir = export_root(out_dir) / "data" / f"BILLING_PERIOD={period}"
        data_dir.mkdir(parents=True, exist_ok=True)
        keys = []
        for n, start in enumerate(range(0, len(rows), _ROWS_PER_FILE), start=1):
            path = data_dir / f"{EXPORT}-{n:05d}.snappy.parquet"
            pq.write_table(_table(rows[start : start + _ROWS_PER_FILE]), path, compression="snappy")
            keys.append(f"s3://{BUCKET}/cur2/{EXPORT}/data/BILLING_PERIOD={period}/{path.name}")
            written.append(path)
        digest = hashlib.sha256(b"".join(p.read_bytes() for p in written[-len(keys) :])).hexdigest()
        start_at = rows[0]["bill_billing_period_start_date"]
        end_at = rows[0]["bill_billing_period_end_date"]
        manifest = {
            "executionId": f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}",
            "billingPeriod": {"start": f"{start_at:%Y-%m-%dT%H:%M:%S}.000Z", "end": f"{end_at:%Y-%m-%dT%H:%M:%S}.000Z"},
            "dataFiles": keys,
            "columns": [{"name": n, "type": "string"} for n in (*_STRINGS, *_DOUBLES, *_TIMES, *_MAPS)],
        }
        path = export_root(out_dir) / "metadata" / f"BILLING_PERIOD={period}" / f"{EXPORT}-Manifest.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written


def _focus_rows(paths: list[Path]) -> Iterator[dict[str, str]]:
    for path in paths:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", newline="", encoding="utf-8") as fh:
            yield from (r for r in csv.DictReader(fh) if r["ProviderName"] == "AWS")


def _cur_rows(paths: list[Path]) -> Iterator[dict[str, Any]]:
    """CUR line items for the AWS FOCUS rows, in file order; unused commitment goes onto its hour's fee."""
    rows = list(_focus_rows(paths))
    unused = {
        (r["CommitmentDiscountId"], r["ChargePeriodStart"]): Decimal(r["EffectiveCost"])
        for r in rows
        if r["CommitmentDiscountStatus"] == "Unused"
    }
    for r in rows:
        if r["CommitmentDiscountStatus"] == "Unused":
            continue
        line = _line(r)
        if r["CommitmentDiscountStatus"] == "Used":
            line.update(
                line_item_line_item_type="SavingsPlanCoveredUsage",
                line_item_unblended_cost=Decimal(r["ListCost"]),
                savings_plan_savings_plan_effective_cost=Decimal(r["EffectiveCost"]),
            )
            yield line
            yield {
                **line,
                "line_item_line_item_type": "SavingsPlanNegation",
                "line_item_unblended_cost": -Decimal(r["ListCost"]),
                "pricing_public_on_demand_cost": Decimal(0),
                "savings_plan_savings_plan_effective_cost": None,
                "line_item_line_item_description": "SavingsPlanNegation for " + r["ChargeDescription"],
            }
        elif r["ChargeCategory"] == "Purchase" and r["CommitmentDiscountId"]:
            fee = Decimal(r["BilledCost"])
            left = unused.get((r["CommitmentDiscountId"], r["ChargePeriodStart"]), Decimal(0))
            line.update(
                line_item_line_item_type="SavingsPlanRecurringFee",
                savings_plan_total_commitment_to_date=fee,
                savings_plan_used_commitment=fee - left,
            )
            yield line
        else:
            kind = {"Purchase": "Fee", "Tax": "Tax", "Credit": "Credit"}.get(r["ChargeCategory"], "Usage")
            line["line_item_line_item_type"] = kind
            yield line


def _line(r: dict[str, str]) -> dict[str, Any]:
    """The columns every CUR line of a FOCUS row shares."""
    tags = json.loads(r["Tags"]) if r["Tags"] else {}
    return {
        "bill_invoice_id": r["InvoiceId"] or None,
        "bill_invoicing_entity": r["InvoiceIssuerName"] or None,
        "bill_billing_entity": "AWS",
        "bill_payer_account_id": r["BillingAccountId"],
        "bill_payer_account_name": r["BillingAccountName"] or None,
        "bill_billing_period_start_date": _instant(r["BillingPeriodStart"]),
        "bill_billing_period_end_date": _instant(r["BillingPeriodEnd"]),
        "line_item_usage_account_id": r["SubAccountId"],
        "line_item_usage_account_name": r["SubAccountName"] or None,
        "line_item_usage_start_date": _instant(r["ChargePeriodStart"]),
        "line_item_usage_end_date": _instant(r["ChargePeriodEnd"]),
        "line_item_product_code": _PRODUCT_CODES.get(r["ServiceName"], re.sub(r"\W", "", r["ServiceName"])),
        "line_item_usage_type": r["x_UsageType"] or None,
        "line_item_operation": r["x_Operation"] or None,
        "line_item_availability_zone": r["AvailabilityZone"] or None,
        "line_item_resource_id": r["ResourceId"] or None,
        "line_item_usage_amount": Decimal(r["PricingQuantity"]) if r["PricingQuantity"] else None,
        "line_item_currency_code": r["BillingCurrency"],
        "line_item_unblended_rate": r["ContractedUnitPrice"] or None,
        "line_item_unblended_cost": Decimal(r["BilledCost"]),
        "line_item_line_item_description": r["ChargeDescription"] or None,
        "product_instance_type": r["x_InstanceType"] or None,
        "product_region_code": r["RegionId"] or None,
        "pricing_public_on_demand_cost": Decimal(r["ListCost"]) if r["ListCost"] else None,
        "pricing_public_on_demand_rate": r["ListUnitPrice"] or None,
        "pricing_term": {"Standard": "OnDemand", "Committed": "OnDemand"}.get(r["PricingCategory"], ""),
        "pricing_unit": r["PricingUnit"] or None,
        "savings_plan_savings_plan_a_r_n": r["CommitmentDiscountId"] or None,
        "resource_tags": [(f"user_{re.sub(r'[^0-9A-Za-z]', '_', k)}", str(v)) for k, v in sorted(tags.items())],
        "product": [
            (key, value)
            for key, value in (("product_name", r["ServiceName"]), ("location", r["RegionName"]), ("sku", r["SkuId"]))
            if value
        ],
        "cost_category": [],
    }


def _instant(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _table(rows: list[dict[str, Any]]) -> pa.Table:
    """CUR 2.0 column types: strings, DOUBLE amounts, TIMESTAMP dates, MAP(string, string) maps."""
    columns: dict[str, pa.Array] = {}
    for name in _STRINGS:
        columns[name] = pa.array([r.get(name) for r in rows], pa.string())
    for name in _DOUBLES:
        columns[name] = pa.array([None if r.get(name) is None else float(r[name]) for r in rows], pa.float64())
    for name in _TIMES:
        columns[name] = pa.array([r[name].replace(tzinfo=None) for r in rows], pa.timestamp("ms"))
    for name in _MAPS:
        columns[name] = pa.array([r[name] for r in rows], pa.map_(pa.string(), pa.string()))
    return pa.table(columns)
