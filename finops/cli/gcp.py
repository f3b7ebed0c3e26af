"""`finops collect gcp-billing | gcp-prices | gcp-machine-types`: GCP billing export, list prices, GPU machines."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import click

from finops.cli.common import (
    FORMAT,
    OUTPUT,
    App,
    notice,
    pass_app,
    progress,
    run_collector,
    show_rows,
    writer,
)
from finops.errors import FinopsError

ENDPOINT_HELP = (
    "Talk to this API endpoint (http://host:port) with anonymous credentials instead of Google with "
    "application default credentials: for emulators and local stand-ins only."
)


@click.command("gcp-billing")
@click.option(
    "--bigquery",
    "table",
    metavar="PROJECT.DATASET.TABLE",
    help="The billing export table (default: [gcp] bigquery_table in finops.toml).",
)
@click.option(
    "--path",
    "paths",
    multiple=True,
    help="Saved export files instead: NDJSON (nested), Parquet, or flattened CSV; files, directories or globs.",
)
@click.option(
    "--period",
    "periods",
    multiple=True,
    metavar="YYYY-MM",
    help="Invoice month to load (repeatable). Default for --bigquery: this month and the previous one; "
    "for --path: every month in the files.",
)
@click.option("--project", help="Project that runs the query jobs (default: [gcp] project, else the table's).")
@click.option("--location", help="BigQuery location of the dataset, e.g. US or EU (default: [gcp] location).")
@click.option("--endpoint", envvar="FINOPS_BIGQUERY_ENDPOINT", help=ENDPOINT_HELP + " Env FINOPS_BIGQUERY_ENDPOINT.")
@FORMAT
@OUTPUT
@pass_app
def collect_gcp_billing(
    app: App,
    table: str | None,
    paths: tuple[str, ...],
    periods: tuple[str, ...],
    project: str | None,
    location: str | None,
    endpoint: str | None,
    fmt: str | None,
    out: Path | None,
) -> None:
    """Load the Cloud Billing export (standard or detailed): from BigQuery, or saved files with --path.

    Each invoice month of each billing account replaces what the store held for it, in one transaction
    (the export keeps adding rows for days after a month ends, so re-collecting recent months is safe);
    loading the same rows again changes nothing. BilledCost = cost + credits; credit totals by type are
    kept in x_Extras.
    """
    from finops.collect import gcp_billing

    settings = app.settings.gcp
    if paths and table:
        raise FinopsError("give either --bigquery TABLE or --path FILES, not both")
    table = None if paths else table or settings.bigquery_table
    if not paths and not table:
        raise FinopsError("give --bigquery PROJECT.DATASET.TABLE (or [gcp] bigquery_table in finops.toml) or --path")
    if table:
        months = gcp_billing.invoice_months(periods)
        progress(f"querying invoice month(s) {', '.join(months)} of {table}")
        work = partial(
            gcp_billing.collect_bigquery,
            table=table,
            months=months,
            project=project or settings.project,
            location=location or settings.location,
            endpoint=endpoint,
            notice=notice,
        )
    else:
        chosen = gcp_billing.invoice_months(periods) if periods else None
        work = partial(gcp_billing.collect, paths=paths, months=chosen, notice=notice)
    run_collector(app, fmt, out, work, billing=True)


@click.command("gcp-prices")
@click.option("--service", default="6F81-5844-456A", show_default=True, help="Cloud Billing service id.")
@click.option("--currency", default="USD", show_default=True, help="Currency of the prices.")
@click.option(
    "--endpoint", envvar="FINOPS_CLOUD_BILLING_ENDPOINT", help=ENDPOINT_HELP + " Env FINOPS_CLOUD_BILLING_ENDPOINT."
)
@FORMAT
@OUTPUT
@pass_app
def collect_gcp_prices(
    app: App, service: str, currency: str, endpoint: str | None, fmt: str | None, out: Path | None
) -> None:
    """Cache Cloud Catalog list prices of GPUs and accelerator-optimised machines (A2, A3, G2 ...).

    gcp-billing loads then price ListCost from them where the export has no cost_at_list.
    """
    from finops.collect import gcp_prices

    client = gcp_prices.catalog_client(endpoint)
    run_collector(app, fmt, out, lambda con: gcp_prices.collect(con, client, service, currency.upper()))


@click.command("gcp-machine-types")
@click.option("--project", help="Also look up the machine types with GPUs in this project's zones (Compute API).")
@click.option("--endpoint", envvar="FINOPS_COMPUTE_ENDPOINT", help=ENDPOINT_HELP + " Env FINOPS_COMPUTE_ENDPOINT.")
@FORMAT
@OUTPUT
@pass_app
def collect_gcp_machine_types(
    app: App, project: str | None, endpoint: str | None, fmt: str | None, out: Path | None
) -> None:
    """Store GPU counts of GCE machine types: the static a2/a3/a4/g2/g4 table, and with --project the live list."""
    from finops.collect import gcp_machines

    found = {gcp_machines.STATIC: gcp_machines.static_machine_types()}
    if project:  # fetched before the store is opened: a failed lookup writes nothing
        found[gcp_machines.LIVE] = gcp_machines.live_machine_types(project, endpoint)
    con = writer(app)
    try:
        gcp_machines.replace(con, found)
    finally:
        con.close()
    show_rows([{"provider": "gcp", "source": s, "machine_types": len(rows)} for s, rows in found.items()], fmt, out)
