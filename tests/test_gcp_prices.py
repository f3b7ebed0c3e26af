"""Cloud Catalog GPU prices: the real CloudCatalogClient over REST against a local stand-in."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from finops.collect import gcp_billing, gcp_prices
from tests import gcpfake
from tests.conftest import FIXTURES, one_line_error, query, snapshot

EXPORT = FIXTURES / "gcp" / "billing-export-detailed.ndjson"
PAGES = [
    [
        gcpfake.sku("039F-D0DA-4055", "Nvidia Tesla A100 GPU running in Americas", "3.1", ["us-central1", "us-east1"]),
        gcpfake.sku(
            "2E27-4F75-95CD",
            "N1 Predefined Instance Core running in Americas",
            "0.031611",
            ["us-central1"],
            group="CPU",
        ),
    ],
    [
        gcpfake.sku("A71E-E9F8-9F08", "A2 Instance Core running in Americas", "0.031611", ["us-central1"], group="CPU"),
        gcpfake.sku("9A8B-1C2D-3E4F", "Spot Preemptible Nvidia L4 GPU running in Belgium", "0.2", ["europe-west1"]),
    ],
]


def test_prices_of_gpu_and_accelerator_machine_skus_across_pages(con: duckdb.DuckDBPyConnection) -> None:
    with gcpfake.catalog(PAGES) as server:
        report = gcp_prices.collect(con, gcp_prices.catalog_client(server.url))
    assert report.as_row() == {
        "service_id": "6F81-5844-456A",
        "skus_seen": 4,
        "skus_kept": 3,
        "prices": 4,
        "currency": "USD",
    }
    assert [r.query.get("pageToken") for r in server.requests] == [None, ["1"]]
    assert server.requests[0].query["currencyCode"] == ["USD"]
    assert con.execute(
        "SELECT sku_id, region, resource_group, gpu_model, pricing_unit, billing_currency, unit_price, "
        "strftime(effective_time, '%Y-%m-%d') FROM list_prices ORDER BY sku_id, region"
    ).fetchall() == [
        ("039F-D0DA-4055", "us-central1", "GPU", "A100", "h", "USD", Decimal("3.1"), "2025-01-01"),
        ("039F-D0DA-4055", "us-east1", "GPU", "A100", "h", "USD", Decimal("3.1"), "2025-01-01"),
        ("9A8B-1C2D-3E4F", "europe-west1", "GPU", "L4", "h", "USD", Decimal("0.2"), "2025-01-01"),
        ("A71E-E9F8-9F08", "us-central1", "CPU", None, "h", "USD", Decimal("0.031611"), "2025-01-01"),
    ]
    with gcpfake.catalog(PAGES[:1]) as server:
        gcp_prices.collect(con, gcp_prices.catalog_client(server.url))
    assert con.execute("SELECT count(*) FROM list_prices").fetchall() == [(2,)]  # replaced, not appended


def test_cached_prices_give_list_cost_where_the_export_has_none(con: duckdb.DuckDBPyConnection) -> None:
    with gcpfake.catalog(PAGES) as server:
        gcp_prices.collect(con, gcp_prices.catalog_client(server.url))
    gcp_billing.collect(con, [str(EXPORT)])
    rows = con.execute(
        "SELECT ChargeDescription, BilledCost, ListUnitPrice, ListCost FROM cost_line_items "
        "WHERE BillingPeriodStart = '2025-01-01' AND ChargeCategory = 'Usage' AND ServiceName = 'Compute Engine' "
        "ORDER BY ChargeDescription"
    ).fetchall()
    assert rows == [
        ("A2 Instance Core running in Americas", Decimal("0.606931"), None, Decimal("0.758664")),  # cost_at_list
        ("A2 Instance Ram running in Americas", Decimal("0.576232"), None, Decimal("0.72029")),  # no price: cost
        ("Nvidia Tesla A100 GPU running in Americas", Decimal("2.347126"), Decimal("3.1"), Decimal("6.2")),  # 2 h
    ]
    assert con.execute(
        "SELECT sum(ListCost) FROM cost_line_items WHERE BillingPeriodStart = '2025-01-01'"
    ).fetchall() == [(Decimal("9.548806"),)]  # 9.216622 - 5.867816 + 6.2


def test_cli_prices_and_permission_denied(run: Any, db: Path) -> None:
    with gcpfake.catalog(PAGES) as server:
        ok = run("collect", "gcp-prices", "--endpoint", server.url, "--format", "csv")
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.splitlines()[1] == "6F81-5844-456A,4,3,4,USD"
    before = snapshot(db)
    with gcpfake.catalog(PAGES, deny=True) as server:
        message = one_line_error(run("collect", "gcp-prices", "--endpoint", server.url))
    assert message == (
        "Error: Cloud Catalog: permission denied (The caller does not have permission); enable the Cloud Billing "
        "API (cloudbilling.googleapis.com) on the credentials' project"
    )
    assert snapshot(db) == before
    assert query(db, "SELECT count(*) FROM list_prices") == [(4,)]


def test_cli_prices_rejects_a_bad_service_id(run: Any) -> None:
    message = one_line_error(run("collect", "gcp-prices", "--service", "compute", "--endpoint", "http://127.0.0.1:9"))
    assert "a Cloud Billing service id looks like 6F81-5844-456A" in message
