"""Reading invoice months of the billing export table from BigQuery, streamed as Arrow into a Parquet spill.

The query selects only the asked invoice months (a bound parameter), and only the export fields finops
maps (`gcp_export.FIELDS`, flattened; fields the table lacks come back NULL). Pages arrive as Arrow
record batches (`RowIterator.to_arrow_iterable`) and are written straight to a Parquet file, so memory
stays bounded by a page; the load then reads that file like a saved export.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from finops.collect import gcp_export
from finops.errors import InputError

_TABLE = re.compile(r"^[A-Za-z0-9_.:-]+\.[A-Za-z0-9_]+\.[A-Za-z0-9_$-]+$")
# BigQuery types of the flat result, per field shape (FLOAT money stays a double: no text round trip).
_SUBFIELDS = {"pairs": ("key", "value"), "credits": ("name", "amount", "full_name", "id", "type")}
_SUBTYPES = {"amount": "FLOAT64"}


def client(project: str, location: str | None, endpoint: str | None) -> Any:
    """A BigQuery client: application default credentials, or anonymous against an explicit endpoint."""
    from google.auth.exceptions import DefaultCredentialsError
    from google.cloud import bigquery

    try:
        if endpoint:
            from google.auth.credentials import AnonymousCredentials

            return bigquery.Client(
                project=project,
                location=location,
                credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
                client_options={"api_endpoint": endpoint},
            )
        return bigquery.Client(project=project, location=location)
    except DefaultCredentialsError:
        raise InputError(
            "no Google application default credentials: run `gcloud auth application-default login` "
            "or set GOOGLE_APPLICATION_CREDENTIALS to a service account key file"
        ) from None


def check_table(table: str) -> str:
    """PROJECT.DATASET.TABLE as given, or an error saying how to write it."""
    if not _TABLE.match(table):
        raise InputError(
            f"--bigquery {table!r}: write the export table as PROJECT.DATASET.TABLE, e.g. "
            "my-project.billing.gcp_billing_export_resource_v1_XXXXXX_XXXXXX_XXXXXX"
        )
    return table


def spill(bq: Any, table: str, months: Sequence[str], out: Path) -> int:
    """Query the months into a Parquet file at `out`; returns the rows written."""
    import pyarrow.parquet as pq

    with _api_errors(table):
        schema = bq.get_table(table)
        query, params = build_query(table, schema.schema, getattr(schema, "time_partitioning", None), months)
        rows = bq.query_and_wait(query, job_config=_job_config(params), page_size=50_000)
        written = 0
        writer = None
        try:
            for batch in rows.to_arrow_iterable(bqstorage_client=None):
                if writer is None:
                    writer = pq.ParquetWriter(out, batch.schema)
                writer.write_batch(batch)
                written += batch.num_rows
        finally:
            if writer is not None:
                writer.close()
    return written


def build_query(
    table: str, fields: Sequence[Any], partitioning: Any, months: Sequence[str]
) -> tuple[str, dict[str, Any]]:
    """The SELECT of the export fields the table has, for the months; parameters by name."""
    tree = _schema_tree(fields)
    present = {f.dotted for f in gcp_export.FIELDS if _find(tree, f.path) is not None}
    missing = gcp_export.missing_required(present)
    if missing:
        raise gcp_export.not_an_export(f"BigQuery table {table}", missing)
    columns = [f"{_select(tree, f)} AS {f.name}" for f in gcp_export.FIELDS]
    where = "invoice.month IN UNNEST(@months)"
    params: dict[str, Any] = {"months": list(months)}
    if partitioning is not None and getattr(partitioning, "field", None) is None:
        # Ingestion-time partitions: rows of a month are exported from the month before it on.
        # Rows still in the streaming buffer have no partition yet.
        where += " AND (_PARTITIONTIME IS NULL OR _PARTITIONTIME >= @since)"
        first = min(months)
        year, month = int(first[:4]), int(first[4:])
        params["since"] = datetime(year - (month == 1), 12 if month == 1 else month - 1, 1, tzinfo=UTC)
    return f"SELECT {', '.join(columns)} FROM `{table}` WHERE {where}", params


def _job_config(params: dict[str, Any]) -> Any:
    from google.cloud import bigquery

    values: list[Any] = [bigquery.ArrayQueryParameter("months", "STRING", params["months"])]
    if "since" in params:
        values.append(bigquery.ScalarQueryParameter("since", "TIMESTAMP", params["since"]))
    return bigquery.QueryJobConfig(query_parameters=values)


def _schema_tree(fields: Sequence[Any]) -> dict[str, Any]:
    """BigQuery SchemaFields as {name: (field_type, subtree)}."""
    return {f.name: (f.field_type, _schema_tree(f.fields or ())) for f in fields}


def _find(tree: dict[str, Any], path: Sequence[str]) -> tuple[str, dict[str, Any]] | None:
    node: tuple[str, dict[str, Any]] | None = None
    level = tree
    for part in path:
        if part not in level:
            return None
        node = level[part]
        level = node[1]
    return node


def _select(tree: dict[str, Any], f: gcp_export.Field) -> str:
    """One flat result column: the field, a rebuilt repeated record, or a typed NULL."""
    found = _find(tree, f.path)
    expr = ".".join(f"`{p}`" for p in f.path)
    if f.shape in _SUBFIELDS:
        parts = _SUBFIELDS[f.shape]
        have = found[1] if found else {}
        inner = ", ".join(
            f"x.`{p}` AS `{p}`" if p in have else f"CAST(NULL AS {_SUBTYPES.get(p, 'STRING')}) AS `{p}`" for p in parts
        )
        if found is None:
            typed = ", ".join(f"`{p}` {_SUBTYPES.get(p, 'STRING')}" for p in parts)
            return f"ARRAY<STRUCT<{typed}>>[]"
        return f"ARRAY(SELECT AS STRUCT {inner} FROM UNNEST({expr}) AS x)"
    if found is None:
        return {"number": "CAST(NULL AS FLOAT64)", "timestamp": "CAST(NULL AS TIMESTAMP)"}.get(
            f.shape, "CAST(NULL AS STRING)"
        )
    if f.shape == "text" and found[0] not in ("STRING",):
        return f"CAST({expr} AS STRING)"
    return expr


def api_message(exc: BaseException) -> str:
    """A Google API error's own message on one line, without the request line that precedes it."""
    text = " ".join(str(getattr(exc, "message", exc)).split())
    return re.sub(r"^(?:GET|POST|PUT|PATCH|DELETE) \S+: ", "", text)[:400]


@contextmanager
def _api_errors(table: str) -> Iterator[None]:
    """Google API errors as one-line InputErrors naming the table and what to do."""
    import requests
    from google.api_core import exceptions as api
    from google.auth.exceptions import GoogleAuthError

    try:
        yield
    except api.GoogleAPIError as exc:
        message = api_message(exc)
        if isinstance(exc, api.Forbidden):
            raise InputError(
                f"BigQuery table {table}: permission denied ({message}); grant the caller "
                "roles/bigquery.dataViewer on the dataset and roles/bigquery.jobUser on the query project"
            ) from None
        if isinstance(exc, api.NotFound):
            raise InputError(f"BigQuery table {table}: not found ({message}); check --bigquery") from None
        raise InputError(f"BigQuery table {table}: {type(exc).__name__}: {message}") from None
    except GoogleAuthError as exc:
        raise InputError(
            f"BigQuery table {table}: Google credentials were refused or could not be refreshed "
            f"({type(exc).__name__}); "
            "run `gcloud auth application-default login` or check GOOGLE_APPLICATION_CREDENTIALS"
        ) from None
    except requests.RequestException as exc:
        raise InputError(f"BigQuery table {table}: cannot reach BigQuery ({type(exc).__name__})") from None
