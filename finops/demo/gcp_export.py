"""The demo's GCP FOCUS rows rewritten as a detailed Cloud Billing export in NDJSON (BigQuery's JSON export).

So `make demo` can load the GCP half of the organisation through `finops collect gcp-billing`. The
rewrite keeps what the collector maps back: cost = BilledCost and cost_at_list = ListCost on usage,
tax and commitment rows; a FOCUS Credit row becomes a regular row of cost 0 carrying the credit in
`credits`; Tags become `labels`, x_InstanceType the `compute.googleapis.com/machine_spec` system label,
ResourceId / ResourceName `resource.global_name` / `.name`, SubAccountId the project. Hourly usage is
metered in seconds as the export does (PricingQuantity stays in `usage.amount_in_pricing_units`).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

PROVIDER = "Google Cloud"
MACHINE_SPEC = "compute.googleapis.com/machine_spec"
# Service ids of the Cloud Billing catalog (Compute Engine's is public; the rest are stable stand-ins).
SERVICE_IDS = {"Compute Engine": "6F81-5844-456A", "Cloud Storage": "95FF-2EF5-5EA1", "Vertex AI": "C7E2-9256-1C43"}
# FOCUS PricingUnit -> (export usage unit, seconds per pricing unit or None, export pricing unit).
_UNITS: dict[str, tuple[str, int | None, str]] = {
    "Hours": ("seconds", 3600, "hour"),
    "GB-Hours": ("gibibyte hour", None, "gibibyte hour"),
    "GB-Months": ("gibibyte month", None, "gibibyte month"),
    "GB": ("gibibyte", None, "gibibyte"),
}
_COST_TYPES = {"Usage": "regular", "Tax": "tax", "Adjustment": "adjustment", "Credit": "regular"}


def write_gcp_export(focus_files: list[Path], out_dir: Path) -> list[Path]:
    """Write the GCP rows of the demo's FOCUS CSV files as NDJSON exports (one per file with GCP rows)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for source in focus_files:
        name = source.name.split(".")[0].replace("focus", "billing-export")
        target = out_dir / f"{name}.ndjson"
        rows = 0
        with target.open("w", encoding="utf-8") as out:
            for row in _rows(source):
                if row.get("ProviderName") == PROVIDER:
                    out.write(json.dumps(export_record(row), separators=(",", ":")) + "\n")
                    rows += 1
        if rows:
            written.append(target)
        else:
            target.unlink()
    return written


def export_record(row: dict[str, str]) -> dict[str, Any]:
    """One FOCUS row as one export record."""
    category = row["ChargeCategory"]
    if row["EffectiveCost"] != row["BilledCost"]:
        raise ValueError(f"{row['ChargeDescription']}: EffectiveCost differs from BilledCost; an export row cannot")
    if category not in _COST_TYPES:
        raise ValueError(f"{row['ChargeDescription']}: a {category} row has no Cloud Billing export form")
    billed = _money(row["BilledCost"])
    credit = category == "Credit"
    unit, seconds, pricing_unit = _UNITS.get(row["PricingUnit"], (row["ConsumedUnit"], None, row["PricingUnit"]))
    quantity = Decimal(row["PricingQuantity"]) if row["PricingQuantity"] else None
    amount = quantity * seconds if quantity is not None and seconds else quantity
    tags = json.loads(row["Tags"]) if row["Tags"] else {}
    record: dict[str, Any] = {
        "billing_account_id": row["BillingAccountId"],
        "service": {"id": _service_id(row["ServiceName"]), "description": row["ServiceName"]},
        "sku": {"id": row["SkuId"] or None, "description": row["ChargeDescription"]},
        "usage_start_time": _time(row["ChargePeriodStart"]),
        "usage_end_time": _time(row["ChargePeriodEnd"]),
        "project": {"id": row["SubAccountId"], "number": None, "name": row["SubAccountName"], "labels": []}
        if row["SubAccountId"]
        else None,
        "labels": [{"key": k, "value": v} for k, v in sorted(tags.items())],
        "system_labels": [{"key": MACHINE_SPEC, "value": row["x_InstanceType"]}] if row.get("x_InstanceType") else [],
        "location": {
            "location": row["AvailabilityZone"] or row["RegionId"] or None,
            "country": None,
            "region": row["RegionId"] or None,
            "zone": row["AvailabilityZone"] or None,
        },
        "export_time": _time(row["ChargePeriodEnd"]),
        "cost": 0.0 if credit else billed,
        "cost_at_list": None if credit else _money(row["ListCost"] or row["BilledCost"]),
        "currency": row["BillingCurrency"],
        "currency_conversion_rate": 1.0,
        "usage": {
            "amount": None if amount is None else float(amount),
            "unit": unit or None,
            "amount_in_pricing_units": None if quantity is None else float(quantity),
            "pricing_unit": pricing_unit or None,
        },
        "credits": [
            {
                "name": row["ChargeDescription"],
                "amount": billed,
                "full_name": row["ChargeDescription"],
                "id": "promotion-" + _digest(row["ChargeDescription"]),
                "type": "PROMOTION",
            }
        ]
        if credit
        else [],
        "invoice": {"month": row["BillingPeriodStart"][:7].replace("-", "")},
        "cost_type": _COST_TYPES[category],
        "resource": {"name": row["ResourceName"] or None, "global_name": row["ResourceId"] or None},
    }
    return record


def _money(text: str) -> float:
    """A cost as the FLOAT the export holds; refuses amounts a double cannot carry exactly."""
    value = Decimal(text)
    number = float(value)
    if Decimal(repr(number)) != value:
        raise ValueError(f"{text} has more significant digits than a BigQuery FLOAT keeps")
    return number


def _time(text: str) -> str:
    """An ISO instant as BigQuery's JSON export writes TIMESTAMPs."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M:%S UTC")


def _service_id(name: str) -> str:
    return SERVICE_IDS.get(name) or "-".join(_digest(name)[i : i + 4] for i in (0, 4, 8)).upper()


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _rows(path: Path) -> Iterator[dict[str, str]]:
    """The rows of a (possibly gzipped) FOCUS CSV as dicts of text."""
    with path.open("rb") as raw:
        stream = gzip.GzipFile(fileobj=raw) if path.name.endswith(".gz") else raw
        with io.TextIOWrapper(stream, "utf-8", newline="") as text:
            yield from csv.DictReader(text)
