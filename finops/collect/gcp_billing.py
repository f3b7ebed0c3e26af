"""The GCP Cloud Billing export (standard or detailed) into cost_line_items, from BigQuery or saved files.

Incremental semantics: the unit of replacement is (source "gcp-billing", billing account, invoice
month). The export keeps appending rows for days after a month ends (adjustments later still), so a
load re-reads whole invoice months and replaces each (account, month) it holds in one transaction;
collecting the current and previous month every day is safe. Loading the same rows again changes
nothing. One load holds one currency: billing accounts billed in different currencies are loaded by
separate commands, so no total ever adds two currencies.

Files: NDJSON (BigQuery's JSON export, nested records; .json/.jsonl/.ndjson, optionally .gz),
Parquet (nested, or a flat query result), or a flattened CSV (dotted column names, lists as JSON).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path

import duckdb

from finops import focus, ingest
from finops.collect import gcp_export
from finops.collect.files import Format, SourceFile, fingerprint, kind_of
from finops.collect.files import expand as expand_files
from finops.errors import InputError

SOURCE = "gcp-billing"
MAPPING = Path(__file__).resolve().parent.parent / "sql" / "gcp_billing.sql"
AMORTISE = MAPPING.with_name("gcp_amortise.sql")
# Cloud Catalog usage units and the export's pricing units they price (list_prices.pricing_unit).
_PRICING_UNITS = {"h": "hour", "GiBy.h": "gibibyte hour", "GiBy.mo": "gibibyte month", "GiBy": "gibibyte"}


def collect(
    con: duckdb.DuckDBPyConnection,
    paths: Sequence[str] = (),
    months: Sequence[str] | None = None,
    source_uri: str | None = None,
    notice: Callable[[str], None] = lambda message: None,
) -> ingest.LoadReport:
    """Load saved export files (files, directories or globs); `months` (YYYYMM) keeps only those invoice months."""
    files = expand(paths)
    return load_files(con, files, source_uri or " ".join(paths), months, notice)


def collect_bigquery(
    con: duckdb.DuckDBPyConnection,
    table: str,
    months: Sequence[str],
    project: str | None = None,
    location: str | None = None,
    endpoint: str | None = None,
    notice: Callable[[str], None] = lambda message: None,
) -> ingest.LoadReport:
    """Query the invoice months (YYYYMM) of the export table and replace the (account, month) scopes they hold."""
    import tempfile

    from finops.collect import gcp_bigquery

    gcp_bigquery.check_table(table)
    bq = gcp_bigquery.client(project or table.rsplit(".", 2)[0], location, endpoint)
    with tempfile.TemporaryDirectory(prefix="finops-bigquery-") as tmp:
        spilled = Path(tmp) / f"{table}-{'-'.join(sorted(months))}.parquet"
        if gcp_bigquery.spill(bq, table, months, spilled) == 0:
            raise InputError(
                f"BigQuery table {table}: no rows for invoice month(s) {', '.join(sorted(months))}; "
                "check --period (the export starts on the day it was enabled)"
            )
        files = [dataclasses.replace(fingerprint(spilled), format="parquet", gzipped=False)]
        return load_files(con, files, f"bigquery:{table}", months, notice)


def invoice_months(periods: Sequence[str], today: date | None = None) -> list[str]:
    """YYYY-MM periods as the export's invoice months (YYYYMM); none given: this month and the previous one."""
    from finops.periods import month_bounds

    if periods:
        return sorted({f"{month_bounds(p)[0]:%Y%m}" for p in periods})
    day = today or datetime.now(UTC).date()
    previous = (day.replace(day=1) - timedelta(days=1)).replace(day=1)
    return [f"{previous:%Y%m}", f"{day:%Y%m}"]


def load_files(
    con: duckdb.DuckDBPyConnection,
    files: Sequence[SourceFile],
    source_uri: str,
    months: Sequence[str] | None,
    notice: Callable[[str], None] = lambda message: None,
) -> ingest.LoadReport:
    """Stage each file through the mapping, fill list prices and GPU capacity, and replace the scopes."""
    settings = [f"months:{','.join(sorted(months))}" if months else "months:all"]
    with ingest.Load(con, SOURCE, source_uri, files, settings) as load:
        if load.unchanged:
            return load.report()
        for source in files:
            try:
                rows = load.write_file(source, mapping(_reader(source)), {"path": str(source.path), "months": months})
            except InputError:
                # DuckDB names a byte, not the line: find the first line that does not parse (error path only).
                problem = gcp_export.bad_line(source) if source.format == "json" else None
                if problem:
                    raise InputError(problem) from None
                raise
            if rows == 0:
                notice(f"{source.path}: no rows" + (f" for invoice month(s) {', '.join(months)}" if months else ""))
        _check_currencies(con)
        _fill_list_cost(con, load.batch)
        _fill_gpus(con, load.batch)
        con.execute(AMORTISE.read_text(encoding="utf-8").replace("{batch}", str(load.batch)))
        return load.commit()


def mapping(rows: str) -> str:
    """The mapping query over a table expression of flat export rows, with every store column."""
    produced = _produced_columns()
    columns = [
        name if name in produced else f"CAST(NULL AS {focus.SQL_TYPES[focus.BY_NAME[name].kind]}) AS {name}"
        for name in ingest.STORE_COLUMNS
    ]
    # No place in the file (`_row`): the readers of NDJSON and CSV do not know it, so rows are numbered at commit.
    return f"SELECT {', '.join(columns)}, _problem, NULL::BIGINT AS _row FROM ({_template().replace('{rows}', rows)})"


def expand(arguments: Sequence[str]) -> list[SourceFile]:
    """Export files from files, directories (recursively) and globs, sorted by path."""
    return expand_files(arguments, "export", _format, "*.json, *.ndjson, *.parquet, *.csv")


def _format(path: Path) -> tuple[Format, bool] | None:
    name = path.name.lower()
    if name.endswith(gcp_export.JSON_SUFFIXES):
        return "json", name.endswith(".gz")
    return kind_of(path)


def _reader(source: SourceFile) -> str:
    """The table expression reading one file as flat export rows."""
    if source.format == "json":
        return gcp_export.ndjson_reader(source)
    if source.format == "parquet":
        import pyarrow.parquet as pq

        try:
            schema = pq.read_schema(source.path)
        except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ...
            raise InputError(f"{source.path}: not a readable Parquet file ({exc}); re-export it") from None
        tree = gcp_export.arrow_tree(schema)
        present = {f.dotted for f in gcp_export.FIELDS if _has(tree, f)}
        missing = gcp_export.missing_required(present)
        if missing:
            raise gcp_export.not_an_export(str(source.path), missing)
        return gcp_export.parquet_reader(tree)
    return gcp_export.csv_reader(source)


def _has(tree: dict[str, object], f: gcp_export.Field) -> bool:
    node: object = tree
    for part in f.path:
        if not isinstance(node, dict) or part not in node:
            return f.name in tree or f.dotted in tree
        node = node[part]
    return True


def _check_currencies(con: duckdb.DuckDBPyConnection) -> None:
    """One load, one currency: accounts billed in different currencies are loaded separately."""
    found = con.execute(
        "SELECT BillingCurrency, list(DISTINCT coalesce(BillingAccountId, '') ORDER BY 1) FROM _pending "
        "GROUP BY 1 ORDER BY 1"
    ).fetchall()
    if len(found) > 1:
        by_currency = "; ".join(f"{currency}: {', '.join(accounts)}" for currency, accounts in found)
        raise InputError(
            f"the export mixes currencies across billing accounts ({by_currency}); finops never adds two "
            "currencies, so load each billing account's export with its own command (one table or file set each)"
        )


def _fill_list_cost(con: duckdb.DuckDBPyConnection, batch: int) -> None:
    """ListCost where the export has none: cached Cloud Catalog on-demand price x pricing quantity, else cost."""
    units = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in _PRICING_UNITS.items())
    con.execute(
        "UPDATE cost_line_items AS s SET ListUnitPrice = p.unit_price, "
        "ListCost = CAST(s.PricingQuantity * CAST(p.unit_price AS DECIMAL(20, 9)) AS DECIMAL(38, 18)) "
        "FROM (SELECT sku_id, region, billing_currency, max(unit_price) AS unit_price, "
        f"any_value(CASE pricing_unit {units} END) AS unit FROM list_prices "
        "WHERE provider = 'gcp' GROUP BY ALL) AS p "
        f"WHERE s.x_BatchId = {batch} AND s.ListCost IS NULL AND s.ChargeCategory = 'Usage' "
        "AND p.sku_id = s.SkuId AND p.region = s.RegionId AND p.billing_currency = s.BillingCurrency "
        "AND p.unit = lower(s.PricingUnit) AND s.PricingQuantity IS NOT NULL"
    )
    con.execute(f"UPDATE cost_line_items SET ListCost = ContractedCost WHERE x_BatchId = {batch} AND ListCost IS NULL")


def _fill_gpus(con: duckdb.DuckDBPyConnection, batch: int) -> None:
    """GPU count and model of accelerator-optimised machine types (a2, a3, g2 ...) on lines without them.

    The machine types in the store (`finops collect gcp-machine-types`) win over finops's static table.
    """
    from finops import gpus

    con.register("_gcp_gpu_catalog", gpus.catalog_table(con))
    try:
        con.execute(
            "UPDATE cost_line_items AS s SET x_GpuCount = c.gpus, x_GpuModel = c.gpu_model "
            f"FROM _gcp_gpu_catalog AS c WHERE s.x_BatchId = {batch} AND s.x_InstanceType = c.instance_type "
            "AND s.x_GpuCount IS NULL"
        )
    finally:
        try:
            con.unregister("_gcp_gpu_catalog")
        except duckdb.Error:
            pass  # the load's transaction is aborted: the error above is the one to report


@cache
def _template() -> str:
    return MAPPING.read_text(encoding="utf-8")


@cache
def _produced_columns() -> frozenset[str]:
    """The store columns the mapping sets (the rest are NULL), found by describing it over no rows."""
    empty = ", ".join(f"CAST(NULL AS {gcp_export.SHAPE_TYPES[f.shape]}) AS {f.name}" for f in gcp_export.FIELDS)
    con = duckdb.connect()
    try:
        con.execute((ingest.MACROS).read_text(encoding="utf-8"))
        query = _template().replace("{rows}", f"(SELECT {empty} WHERE false)").replace("$months", "NULL")
        described = con.execute(f"DESCRIBE {query}").fetchall()
    finally:
        con.close()
    return frozenset(str(row[0]) for row in described) & set(ingest.STORE_COLUMNS)
