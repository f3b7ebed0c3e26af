"""GCP billing export straight from BigQuery: the real client against a local REST stand-in."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from finops import config, store
from finops.collect import gcp_billing, gcp_export
from finops.errors import InputError
from tests import gcpfake
from tests.conftest import FIXTURES, one_line_error, query, snapshot

EXPORT = FIXTURES / "gcp" / "billing-export-detailed.ndjson"
CONTENT = (
    "SELECT * EXCLUDE (x_BatchId, x_LineItemId) FROM cost_line_items "
    "ORDER BY BillingPeriodStart, ChargePeriodStart, SkuId, BilledCost, ChargeCategory"
)


def test_bigquery_rows_load_like_the_ndjson_export(tmp_path: Path) -> None:
    contents = []
    with gcpfake.bigquery(gcpfake.export_rows(EXPORT), page_size=4) as server:
        con = store.connect(config.Settings(database=tmp_path / "bq.duckdb"))
        try:
            report = gcp_billing.collect_bigquery(con, gcpfake.TABLE, ["202412", "202501"], endpoint=server.url)
            contents.append(con.execute(CONTENT).fetchall())
            source = con.execute("SELECT DISTINCT source, source_uri FROM ingest_batches").fetchall()
        finally:
            con.close()
    con = store.connect(config.Settings(database=tmp_path / "files.duckdb"))
    try:
        gcp_billing.collect(con, [str(EXPORT)])
        contents.append(con.execute(CONTENT).fetchall())
    finally:
        con.close()
    assert contents[0] == contents[1] and len(contents[0]) == 11
    assert [(f"{s.billing_period_start:%Y-%m}", s.rows, s.billed_cost) for s in report.scopes] == [
        ("2024-12", 1, Decimal(1)),
        ("2025-01", 10, Decimal("4.066641")),
    ]
    assert source == [("gcp-billing", f"bigquery:{gcpfake.TABLE}")]
    calls = [(r.method, r.path.rsplit("/", 2)[-2:], r.query.get("pageToken")) for r in server.requests]
    assert [c[2] for c in calls if c[1] == ["queries", "job_finops_1"]] == [["page-1"], ["page-2"]]  # 4 + 4 + 3 rows
    posted = next(r for r in server.requests if r.method == "POST").json()
    assert (
        "WHERE invoice.month IN UNNEST(@months) AND (_PARTITIONTIME IS NULL OR _PARTITIONTIME >= @since)"
        in (posted["query"])
    )
    params = {p["name"]: p["parameterValue"] for p in posted["queryParameters"]}
    assert [v["value"] for v in params["months"]["arrayValues"]] == ["202412", "202501"]
    assert params["since"]["value"].startswith("2024-11-01")
    assert all("authorization" not in r.headers for r in server.requests)


def test_only_the_asked_invoice_months_are_queried(con: duckdb.DuckDBPyConnection) -> None:
    with gcpfake.bigquery(gcpfake.export_rows(EXPORT)) as server:
        report = gcp_billing.collect_bigquery(con, gcpfake.TABLE, ["202412"], endpoint=server.url)
    assert [(f"{s.billing_period_start:%Y-%m}", s.rows) for s in report.scopes] == [("2024-12", 1)]
    assert con.execute("SELECT count(*) FROM cost_line_items").fetchall() == [(1,)]


def test_standard_export_table_without_resource_fields(con: duckdb.DuckDBPyConnection) -> None:
    fields = tuple(f for f in gcp_export.FIELDS if f.path[0] != "resource")
    rows = [{k: v for k, v in r.items() if k != "resource"} for r in gcpfake.export_rows(EXPORT)]
    with gcpfake.bigquery(rows, schema=gcpfake.table_schema(fields)) as server:
        gcp_billing.collect_bigquery(con, gcpfake.TABLE, ["202501"], endpoint=server.url)
        posted = next(r for r in server.requests if r.method == "POST").json()["query"]
    assert "CAST(NULL AS STRING) AS resource_global_name" in posted
    assert con.execute("SELECT count(*), count(ResourceId), sum(BilledCost) FROM cost_line_items").fetchall() == [
        (10, 0, Decimal("4.066641"))
    ]


def test_table_without_billing_columns(con: duckdb.DuckDBPyConnection) -> None:
    fields = tuple(f for f in gcp_export.FIELDS if f.path not in (("cost",), ("invoice", "month")))
    with (
        gcpfake.bigquery([], schema=gcpfake.table_schema(fields)) as server,
        pytest.raises(
            InputError,
            match=f"BigQuery table {gcpfake.TABLE}: not a Cloud Billing export "
            r"\(no cost, invoice.month\)",
        ),
    ):
        gcp_billing.collect_bigquery(con, gcpfake.TABLE, ["202501"], endpoint=server.url)
    assert not any(r.method == "POST" for r in server.requests)


def test_month_without_rows_is_an_error(con: duckdb.DuckDBPyConnection) -> None:
    with (
        gcpfake.bigquery(gcpfake.export_rows(EXPORT)) as server,
        pytest.raises(InputError, match=r"no rows for invoice month\(s\) 202402; check --period"),
    ):
        gcp_billing.collect_bigquery(con, gcpfake.TABLE, ["202402"], endpoint=server.url)


def test_cli_collects_from_bigquery(run: Any, db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with gcpfake.bigquery(gcpfake.export_rows(EXPORT)) as server:
        monkeypatch.setenv("FINOPS_BIGQUERY_ENDPOINT", server.url)
        result = run("collect", "gcp-billing", "--bigquery", gcpfake.TABLE, "--period", "2025-01", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1].startswith("loaded,gcp,012345-6789AB-CDEF01,2025-01,USD,10,4.066641,")
    assert query(db, "SELECT count(*) FROM cost_line_items") == [(10,)]


def test_cli_permission_denied_is_one_line_and_store_unchanged(run: Any, db: Path) -> None:
    assert run("collect", "gcp-billing", "--path", str(EXPORT), "--format", "csv").exit_code == 0
    before = snapshot(db)
    with gcpfake.bigquery(gcpfake.export_rows(EXPORT), deny=True) as server:
        result = run("collect", "gcp-billing", "--bigquery", gcpfake.TABLE, "--endpoint", server.url)
    message = one_line_error(result)
    assert message.startswith(f"Error: BigQuery table {gcpfake.TABLE}: permission denied (Access Denied: Table ")
    assert message.endswith(
        "grant the caller roles/bigquery.dataViewer on the dataset and roles/bigquery.jobUser on the query project"
    )
    assert snapshot(db) == before


def test_cli_rejects_a_malformed_table_name(run: Any) -> None:
    message = one_line_error(run("collect", "gcp-billing", "--bigquery", "just-a-table", "--endpoint", "http://x"))
    assert "write the export table as PROJECT.DATASET.TABLE" in message


def test_cli_without_application_default_credentials(
    run: Any, db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    monkeypatch.setenv("NO_GCE_CHECK", "True")  # no metadata server probe: loopback only
    for command in (["gcp-billing", "--bigquery", gcpfake.TABLE], ["gcp-prices"]):
        message = one_line_error(run("collect", *command))
        assert message == (
            "Error: no Google application default credentials: run `gcloud auth application-default login` or set "
            "GOOGLE_APPLICATION_CREDENTIALS to a service account key file"
        )
