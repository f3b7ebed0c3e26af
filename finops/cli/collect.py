"""`finops collect …`: one command per source, each calling its collector."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from finops.cli.common import (
    FORMAT,
    OUTPUT,
    App,
    FinopsGroup,
    key_values,
    notice,
    pass_app,
    progress,
    run_collector,
    show_load,
    writer,
)
from finops.errors import FinopsError


@click.group(cls=FinopsGroup)
def collect() -> None:
    """Load billing exports, telemetry and workload records into the store."""


@collect.command("focus")
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--fill",
    "fills",
    multiple=True,
    metavar="COLUMN=VALUE",
    help="Constant for a FOCUS column the files lack (e.g. BillingCurrency=USD); repeatable.",
)
@FORMAT
@OUTPUT
@pass_app
def collect_focus(app: App, paths: tuple[str, ...], fills: tuple[str, ...], fmt: str | None, out: Path | None) -> None:
    """Load FOCUS 1.0-1.4 exports (CSV, CSV.gz, Parquet; files, directories or globs).

    Each (billing account, billing period) in the files replaces what the store held for it, in one
    transaction; loading the same files again changes nothing.
    """
    from finops.collect import focus

    fill = key_values(fills, "--fill", "write it as COLUMN=VALUE, e.g. --fill BillingCurrency=USD")
    con = writer(app)
    try:
        progress(f"loading {len(paths)} path(s) into {app.settings.database}")
        report = focus.collect(con, paths, fill, notice=notice)
    finally:
        con.close()
    show_load(report, fmt, out)


TIMEZONE = click.option(
    "--timezone", help="IANA zone of the file's local times, e.g. Europe/Berlin (default: [collect] timezone)."
)


@collect.command("workloads")
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False))
@TIMEZONE
@click.option("--source", default="manifest", show_default=True, help="Name under which these workloads are kept.")
@FORMAT
@OUTPUT
@pass_app
def collect_workloads(
    app: App, paths: tuple[str, ...], timezone: str | None, source: str, fmt: str | None, out: Path | None
) -> None:
    """Load a workload manifest (CSV or JSON): runs, deployments, batch jobs and notebooks.

    CSV: one row per placement with columns workload_id, kind (training|deployment|batch|notebook), name,
    team, project, owner, status, start, end, request_count, resource_id, gpus, gpu_uuids (;-separated),
    placement_start, placement_end; other columns become attributes. JSON: a list of objects with the same
    keys and optional "placements" [{resource_id, gpus, gpu_uuids, start, end}] and "attributes" {}.
    Collecting a workload again updates it in place.
    """
    from finops.collect import manifest

    run_collector(
        app,
        fmt,
        out,
        lambda con: manifest.collect(con, paths, timezone or app.settings.collect.timezone, source, notice=notice),
    )


@collect.command("dcgm")
@click.argument("paths", nargs=-1)
@click.option("--prometheus", metavar="URL", help="Prometheus server to query (token: FINOPS_PROMETHEUS_TOKEN).")
@click.option("--start", help="Window start for --prometheus (ISO 8601; no zone means UTC).")
@click.option("--end", help="Window end (exclusive; default now).")
@click.option("--period", help="Window = this calendar month (YYYY-MM), instead of --start/--end.")
@click.option("--step", default=60, show_default=True, help="Seconds between samples.")
@click.option(
    "--source",
    default="dcgm",
    show_default=True,
    help="Name of this telemetry stream; give each Prometheus server (cluster) its own.",
)
@FORMAT
@OUTPUT
@pass_app
def collect_dcgm(
    app: App,
    paths: tuple[str, ...],
    prometheus: str | None,
    start: str | None,
    end: str | None,
    period: str | None,
    step: int,
    source: str,
    fmt: str | None,
    out: Path | None,
) -> None:
    """GPU utilisation, memory and power from the DCGM exporter: a Prometheus server's range queries
    (--prometheus URL with a window), or saved scrape files / query_range JSON (PATHS)."""
    import os

    from finops.collect import dcgm

    if bool(prometheus) == bool(paths):
        raise FinopsError("give either --prometheus URL (with --start/--end or --period) or saved files, not both")
    window = _window(start, end, period) if prometheus else None
    run_collector(
        app,
        fmt,
        out,
        lambda con: dcgm.collect(
            con,
            prometheus=prometheus,
            paths=paths,
            start=window[0] if window else None,
            end=window[1] if window else None,
            step=step,
            token=os.environ.get("FINOPS_PROMETHEUS_TOKEN"),
            source=source,
            notice=notice,
        ),
    )


@collect.command("nvidia-smi")
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False))
@TIMEZONE
@click.option("--host", help="Host the logs come from (default: the file name without its suffix).")
@FORMAT
@OUTPUT
@pass_app
def collect_nvidia_smi(
    app: App, paths: tuple[str, ...], timezone: str | None, host: str | None, fmt: str | None, out: Path | None
) -> None:
    """Per-GPU samples from `nvidia-smi --query-gpu=... --format=csv` logs (local times need --timezone)."""
    from finops.collect import nvidia_smi

    run_collector(
        app,
        fmt,
        out,
        lambda con: nvidia_smi.collect(con, paths, timezone or app.settings.collect.timezone, host, notice=notice),
    )


@collect.command("slurm")
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False))
@TIMEZONE
@click.option("--cluster", help="Cluster name, kept with each job (and in its workload id).")
@FORMAT
@OUTPUT
@pass_app
def collect_slurm(
    app: App, paths: tuple[str, ...], timezone: str | None, cluster: str | None, fmt: str | None, out: Path | None
) -> None:
    """Jobs from `sacct --parsable2` output: start/end, nodes, GPUs (AllocTRES), account as team, user as owner."""
    from finops.collect import slurm

    run_collector(
        app,
        fmt,
        out,
        lambda con: slurm.collect(con, paths, timezone or app.settings.collect.timezone, cluster, notice=notice),
    )


@collect.command("mlflow")
@click.option("--tracking-uri", help="MLflow server (http://…); token or user/password from MLFLOW_TRACKING_* env.")
@click.option("--path", "store_path", type=click.Path(file_okay=False), help="A local mlruns/ file store instead.")
@click.option("--experiment", "experiments", multiple=True, help="Experiment id or name (repeatable; default all).")
@FORMAT
@OUTPUT
@pass_app
def collect_mlflow(
    app: App,
    tracking_uri: str | None,
    store_path: str | None,
    experiments: tuple[str, ...],
    fmt: str | None,
    out: Path | None,
) -> None:
    """Runs from MLflow (REST API or mlruns/): id, experiment, name, status, start/end, tags, GPU system metrics.

    Which tags name the team, owner, host or cloud resource is set in [collect.mlflow] of finops.toml.
    """
    import os

    from finops.collect import mlflow

    if bool(tracking_uri) == bool(store_path):
        raise FinopsError("give either --tracking-uri URL or --path mlruns/, not both")
    run_collector(
        app,
        fmt,
        out,
        lambda con: mlflow.collect(
            con,
            tracking_uri=tracking_uri,
            path=store_path,
            experiments=experiments,
            settings=app.settings.collect.mlflow,
            token=os.environ.get("MLFLOW_TRACKING_TOKEN"),
            username=os.environ.get("MLFLOW_TRACKING_USERNAME"),
            password=os.environ.get("MLFLOW_TRACKING_PASSWORD"),
            notice=notice,
        ),
    )


def _window(start: str | None, end: str | None, period: str | None) -> tuple[Any, Any]:
    """[start, end) in UTC from --period, or --start/--end (naive means UTC; end defaults to now)."""
    from datetime import UTC, datetime

    from finops.collect import times
    from finops.periods import month_bounds

    if period:
        if start or end:
            raise FinopsError("give --period or --start/--end, not both")
        return month_bounds(period)
    if not start:
        raise FinopsError("--prometheus needs a window: --start (and --end) or --period YYYY-MM")
    begin = times.instant(start, "--start", UTC)
    finish = times.instant(end, "--end", UTC) if end else datetime.now(UTC)
    if finish <= begin:
        raise FinopsError(f"--end {finish:%Y-%m-%dT%H:%M:%SZ} is not after --start {begin:%Y-%m-%dT%H:%M:%SZ}")
    return begin, finish
