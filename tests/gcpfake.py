"""Local stand-ins for the Google APIs finops calls, speaking their REST wire formats.

BigQuery: tables.get (the export's nested schema), jobs.query (first page), jobs.get and
jobs.getQueryResults (later pages by pageToken), applying the query's @months parameter the way the
real WHERE clause would. Cloud Catalog: services.skus.list with pageToken. Both through tests/httpfake.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from finops.collect import gcp_export
from tests.httpfake import FakeServer, Request, serve

PROJECT = "billing-admin"
TABLE = f"{PROJECT}.billing_export.gcp_billing_export_resource_v1_012345_6789AB_CDEF01"
_BQ_TYPES = {"text": "STRING", "number": "FLOAT", "timestamp": "TIMESTAMP"}


def export_rows(path: Path) -> list[dict[str, Any]]:
    """The records of an NDJSON export."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def table_schema(fields: tuple[gcp_export.Field, ...] = gcp_export.FIELDS) -> list[dict[str, Any]]:
    """The export table's nested BigQuery schema (tables.get JSON) for the given fields."""
    tops: dict[str, dict[str, Any]] = {}
    for f in fields:
        leaf = _schema_field(f.path[-1], f)
        if len(f.path) == 1:
            tops[f.path[0]] = leaf
        else:
            parent = tops.setdefault(f.path[0], {"name": f.path[0], "type": "RECORD", "mode": "NULLABLE", "fields": []})
            parent["fields"].append(leaf)
    return list(tops.values())


def _schema_field(name: str, f: gcp_export.Field) -> dict[str, Any]:
    if f.shape == "pairs":
        subs = [{"name": "key", "type": "STRING"}, {"name": "value", "type": "STRING"}]
        return {"name": name, "type": "RECORD", "mode": "REPEATED", "fields": subs}
    if f.shape == "credits":
        subs = [{"name": p, "type": "FLOAT" if p == "amount" else "STRING"} for p in gcp_export.CREDIT_PARTS]
        return {"name": name, "type": "RECORD", "mode": "REPEATED", "fields": subs}
    return {"name": name, "type": _BQ_TYPES[f.shape], "mode": "NULLABLE"}


def _result_schema() -> list[dict[str, Any]]:
    """The flat result of finops's query: one column per export field."""
    return [_schema_field(f.name, f) for f in gcp_export.FIELDS]


def _value(record: dict[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = record
    for part in path:
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _cell(f: gcp_export.Field, value: Any) -> dict[str, Any]:
    """A jobs.query cell: numbers and int64 microsecond timestamps as strings, records as f/v."""
    if f.shape == "pairs":
        return {"v": [{"v": {"f": [{"v": p.get("key")}, {"v": p.get("value")}]}} for p in value or []]}
    if f.shape == "credits":
        items = []
        for c in value or []:
            items.append(
                {"v": {"f": [{"v": None if c.get(p) is None else str(c[p])} for p in gcp_export.CREDIT_PARTS]}}
            )
        return {"v": items}
    if value is None:
        return {"v": None}
    if f.shape == "timestamp":
        instant = datetime.fromisoformat(str(value).replace(" UTC", "+00:00"))
        return {"v": str(int(instant.timestamp() * 1_000_000))}
    if f.shape == "number":
        return {"v": repr(float(value))}
    return {"v": str(value)}


@contextmanager
def bigquery(
    rows: list[dict[str, Any]],
    page_size: int = 4,
    schema: list[dict[str, Any]] | None = None,
    deny: bool = False,
) -> Iterator[FakeServer]:
    """A BigQuery REST API serving one export table; `deny` answers 403 as IAM does without access."""
    project, dataset, table = TABLE.split(".")
    pages: list[list[dict[str, Any]]] = []
    job = {"projectId": PROJECT, "jobId": "job_finops_1", "location": "US"}

    def denied(_: Request) -> tuple[int, Any]:
        message = f"Access Denied: Table {TABLE}: User does not have permission to query table {TABLE}."
        return 403, {
            "error": {
                "code": 403,
                "message": message,
                "status": "PERMISSION_DENIED",
                "errors": [{"message": message, "domain": "global", "reason": "accessDenied"}],
            }
        }

    def get_table(request: Request) -> tuple[int, Any]:
        if deny:
            return denied(request)
        return 200, {
            "kind": "bigquery#table",
            "id": TABLE.replace(".", ":", 1),
            "tableReference": {"projectId": project, "datasetId": dataset, "tableId": table},
            "schema": {"fields": schema if schema is not None else table_schema()},
            "timePartitioning": {"type": "DAY"},
        }

    def page(number: int) -> dict[str, Any]:
        body: dict[str, Any] = {
            "jobComplete": True,
            "jobReference": job,
            "schema": {"fields": _result_schema()},
            "totalRows": str(sum(len(p) for p in pages)),
            "rows": [{"f": [_cell(f, _value(r, f.path)) for f in gcp_export.FIELDS]} for r in pages[number]]
            if pages
            else [],
        }
        if number + 1 < len(pages):
            body["pageToken"] = f"page-{number + 1}"
        return body

    def query(request: Request) -> tuple[int, Any]:
        body = request.json()
        params = {p["name"]: p["parameterValue"] for p in body.get("queryParameters", [])}
        months = {v["value"] for v in params["months"]["arrayValues"]}
        chosen = [r for r in rows if _value(r, ("invoice", "month")) in months]
        pages[:] = [chosen[i : i + page_size] for i in range(0, len(chosen), page_size)]
        return 200, {"kind": "bigquery#queryResponse", **page(0)}

    def get_job(_: Request) -> tuple[int, Any]:
        return 200, {
            "kind": "bigquery#job",
            "jobReference": job,
            "status": {"state": "DONE"},
            "configuration": {"query": {"query": "SELECT ..."}},
            "statistics": {},
        }

    def results(request: Request) -> tuple[int, Any]:
        token = request.query.get("pageToken", ["page-0"])[0]
        return 200, {"kind": "bigquery#getQueryResultsResponse", **page(int(token.split("-")[1]))}

    base = f"/bigquery/v2/projects/{PROJECT}"
    routes = {
        ("GET", f"{base}/datasets/{dataset}/tables/{table}"): get_table,
        ("POST", f"{base}/queries"): query,
        ("GET", f"{base}/jobs/{job['jobId']}"): get_job,
        ("GET", f"{base}/queries/{job['jobId']}"): results,
    }
    with serve(routes) as server:
        yield server


def to_parquet(ndjson: Path, out: Path) -> Path:
    """The NDJSON export as BigQuery writes it to Parquet: nested records, FLOAT as double, TIMESTAMP in UTC."""
    kinds = {
        "text": "VARCHAR",
        "number": "DOUBLE",
        "timestamp": "TIMESTAMPTZ",
        "pairs": gcp_export.PAIRS,
        "credits": gcp_export.CREDITS.replace("amount VARCHAR", "amount DOUBLE"),
    }
    tops: dict[str, Any] = {}
    for f in gcp_export.FIELDS:
        if len(f.path) == 1:
            tops[f.path[0]] = kinds[f.shape]
        else:
            tops.setdefault(f.path[0], {})[f.path[1]] = kinds[f.shape]
    columns = ", ".join(
        f"'{name}': '"
        + (kind if isinstance(kind, str) else "STRUCT(" + ", ".join(f"{k} {v}" for k, v in kind.items()) + ")")
        + "'"
        for name, kind in tops.items()
    )
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(
            f"COPY (SELECT * FROM read_json(?, format = 'newline_delimited', columns = {{{columns}}})) "
            f"TO '{out}' (FORMAT parquet)",
            [str(ndjson)],
        )
    finally:
        con.close()
    return out


def sku(sku_id: str, description: str, price: str, regions: list[str], group: str = "GPU") -> dict[str, Any]:
    """A Cloud Catalog Sku in proto3 JSON: an hourly on-demand price `units.nanos` in USD."""
    units, _, frac = price.partition(".")
    return {
        "name": f"services/6F81-5844-456A/skus/{sku_id}",
        "skuId": sku_id,
        "description": description,
        "category": {
            "serviceDisplayName": "Compute Engine",
            "resourceFamily": "Compute",
            "resourceGroup": group,
            "usageType": "OnDemand",
        },
        "serviceRegions": regions,
        "pricingInfo": [
            {
                "effectiveTime": "2025-01-01T08:00:00Z",
                "pricingExpression": {
                    "usageUnit": "h",
                    "usageUnitDescription": "hour",
                    "baseUnit": "s",
                    "baseUnitConversionFactor": 3600,
                    "displayQuantity": 1,
                    "tieredRates": [
                        {
                            "startUsageAmount": 0,
                            "unitPrice": {
                                "currencyCode": "USD",
                                "units": units,
                                "nanos": int((frac + "000000000")[:9]),
                            },
                        }
                    ],
                },
                "currencyConversionRate": 1,
            }
        ],
        "serviceProviderName": "Google",
    }


@contextmanager
def catalog(pages: list[list[dict[str, Any]]], deny: bool = False) -> Iterator[FakeServer]:
    """The Cloud Catalog API serving Compute Engine SKUs, one list per page."""

    def skus(request: Request) -> tuple[int, Any]:
        if deny:
            return 403, {
                "error": {"code": 403, "message": "The caller does not have permission", "status": "PERMISSION_DENIED"}
            }
        token = request.query.get("pageToken", ["0"])[0]
        number = int(token or 0)
        body: dict[str, Any] = {"skus": pages[number]}
        if number + 1 < len(pages):
            body["nextPageToken"] = str(number + 1)
        return 200, body

    with serve({("GET", "/v1/services/6F81-5844-456A/skus"): skus}) as server:
        yield server
