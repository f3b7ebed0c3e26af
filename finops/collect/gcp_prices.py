"""Cloud Catalog list prices of Compute Engine GPUs and accelerator-optimised machines into `list_prices`.

Through google-cloud-billing's CloudCatalogClient (application default credentials). The store keeps
one on-demand-or-other price per (SKU, service region): the first tier of the SKU's latest pricing.
A collection replaces every GCP price of that service in one transaction. `gcp-billing` loads use
these prices for ListCost where the export has no `cost_at_list`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import duckdb

from finops.errors import InputError
from finops.store import transaction

COMPUTE_ENGINE = "6F81-5844-456A"
# Accelerator-optimised machine families, whose GPUs are billed inside the machine's core/RAM SKUs.
_MACHINE_SKU = re.compile(r"^(?:spot preemptible |preemptible )?(?:a2|a3|a4|a4x|g2|g4)\b", re.IGNORECASE)
_GPU_MODEL = re.compile(r"\b(A100 80GB|RTX PRO 6000|H200|H100|GB200|B200|A100|L4|T4|V100|P100|P4|K80)\b", re.IGNORECASE)
_NANOS = Decimal(10) ** 9


@dataclass(frozen=True)
class PricesReport:
    """What a price collection stored."""

    service_id: str
    skus_seen: int
    skus_kept: int
    prices: int
    currency: str

    def as_row(self) -> dict[str, Any]:
        return {
            "service_id": self.service_id,
            "skus_seen": self.skus_seen,
            "skus_kept": self.skus_kept,
            "prices": self.prices,
            "currency": self.currency,
        }


def catalog_client(endpoint: str | None) -> Any:
    """A REST CloudCatalogClient: application default credentials, or anonymous against an explicit endpoint."""
    from google.api_core.client_options import ClientOptions
    from google.auth.exceptions import DefaultCredentialsError
    from google.cloud import billing_v1

    try:
        if endpoint:
            from google.auth.credentials import AnonymousCredentials

            return billing_v1.CloudCatalogClient(
                credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
                transport="rest",
                client_options=ClientOptions(api_endpoint=endpoint),
            )
        return billing_v1.CloudCatalogClient(transport="rest")
    except DefaultCredentialsError:
        raise InputError(
            "no Google application default credentials: run `gcloud auth application-default login` "
            "or set GOOGLE_APPLICATION_CREDENTIALS to a service account key file"
        ) from None


def collect(
    con: duckdb.DuckDBPyConnection,
    client: Any,
    service_id: str = COMPUTE_ENGINE,
    currency: str = "USD",
) -> PricesReport:
    """Fetch the service's GPU and accelerator-optimised machine SKUs and replace its cached prices."""
    if not re.fullmatch(r"[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}", service_id):
        raise InputError(f"--service {service_id!r}: a Cloud Billing service id looks like 6F81-5844-456A")
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise InputError(f"--currency {currency!r}: use an ISO 4217 code such as USD")
    rows: list[dict[str, Any]] = []
    seen = kept = 0
    with _api_errors():
        for sku in client.list_skus(request={"parent": f"services/{service_id}", "currency_code": currency}):
            seen += 1
            if sku.category.resource_group != "GPU" and not _MACHINE_SKU.match(sku.description):
                continue
            price = _price(sku)
            if price is None:
                continue
            kept += 1
            rows.extend({**price, "region": region, **_sku_fields(sku, service_id)} for region in sku.service_regions)
    _replace(con, service_id, rows, currency)
    return PricesReport(service_id, seen, kept, len(rows), currency)


def _sku_fields(sku: Any, service_id: str) -> dict[str, Any]:
    model = _GPU_MODEL.search(sku.description)
    return {
        "service_id": service_id,
        "sku_id": sku.sku_id,
        "description": sku.description,
        "usage_type": sku.category.usage_type or None,
        "resource_group": sku.category.resource_group or None,
        "gpu_model": model.group(1).upper() if model else None,
    }


def _price(sku: Any) -> dict[str, Any] | None:
    """The first tier of the latest pricing: units + nanos / 1e9, exactly."""
    if not sku.pricing_info:
        return None
    info = sku.pricing_info[-1]
    expression = info.pricing_expression
    if not expression.tiered_rates:
        return None
    money = expression.tiered_rates[0].unit_price
    effective = info.effective_time
    return {
        "pricing_unit": expression.usage_unit or None,
        "billing_currency": money.currency_code,
        "unit_price": Decimal(int(money.units)) + Decimal(int(money.nanos)) / _NANOS,
        "effective_time": datetime.fromtimestamp(effective.timestamp(), UTC) if effective else None,
    }


def _replace(con: duckdb.DuckDBPyConnection, service_id: str, rows: list[dict[str, Any]], currency: str) -> None:
    import pyarrow as pa

    columns = ["service_id", "sku_id", "description", "region", "usage_type", "resource_group", "gpu_model"]
    columns += ["pricing_unit", "billing_currency", "effective_time"]
    table = pa.table(
        {
            **{
                c: pa.array([r[c] for r in rows], pa.timestamp("us", "UTC") if c == "effective_time" else pa.string())
                for c in columns
            },
            "unit_price": pa.array([r["unit_price"] for r in rows], pa.decimal128(38, 18)),
        }
    )
    con.register("_gcp_prices", table)
    try:
        with transaction(con):
            con.execute(
                "DELETE FROM list_prices WHERE provider = 'gcp' AND service_id = ? AND billing_currency = ?",
                [service_id, currency],
            )
            con.execute(
                f"INSERT INTO list_prices (provider, {', '.join(columns)}, unit_price, fetched_at) "
                f"SELECT 'gcp', {', '.join(columns)}, unit_price, current_timestamp FROM _gcp_prices"
            )
    finally:
        con.unregister("_gcp_prices")


@contextmanager
def _api_errors() -> Iterator[None]:
    """Cloud Catalog errors as one line saying what to do."""
    import requests
    from google.api_core import exceptions as api
    from google.auth.exceptions import GoogleAuthError

    from finops.collect.gcp_bigquery import api_message

    try:
        yield
    except api.GoogleAPIError as exc:
        message = api_message(exc)
        if isinstance(exc, api.Forbidden | api.Unauthorized):
            raise InputError(
                f"Cloud Catalog: permission denied ({message}); enable the Cloud Billing API "
                "(cloudbilling.googleapis.com) on the credentials' project"
            ) from None
        raise InputError(f"Cloud Catalog: {type(exc).__name__}: {message}") from None
    except GoogleAuthError as exc:
        raise InputError(
            f"Cloud Catalog: Google credentials were refused or could not be refreshed ({type(exc).__name__}); "
            "run `gcloud auth application-default login` or check GOOGLE_APPLICATION_CREDENTIALS"
        ) from None
    except requests.RequestException as exc:
        raise InputError(f"Cloud Catalog: cannot reach the API ({type(exc).__name__})") from None
