"""`finops collect aws-cur | aws-instances | sagemaker`: AWS billing, GPU inventory and SageMaker workloads."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from finops.cli.common import FORMAT, OUTPUT, App, notice, pass_app, progress, run_collector
from finops.config import AwsSettings
from finops.errors import FinopsError

F = TypeVar("F", bound=Callable[..., Any])


def aws_options(command: F) -> F:
    """--profile, --region and --endpoint-url, each overriding [aws] in finops.toml."""
    for option in (
        click.option("--endpoint-url", help="S3/AWS endpoint (default: AWS_ENDPOINT_URL or [aws] endpoint_url)."),
        click.option("--region", help="AWS region (default: [aws] region, AWS_DEFAULT_REGION, the profile's)."),
        click.option("--profile", help="Profile from ~/.aws/config (default: [aws] profile or AWS_PROFILE)."),
    ):
        command = option(command)
    return command


def _aws(app: App, profile: str | None, region: str | None, endpoint_url: str | None) -> AwsSettings:
    base = app.settings.aws
    return dataclasses.replace(
        base,
        profile=profile or base.profile,
        region=region or base.region,
        endpoint_url=endpoint_url or base.endpoint_url,
    )


@click.command("aws-cur")
@click.argument("paths", nargs=-1)
@click.option("--s3", "s3_uri", metavar="URI", help="s3://bucket/prefix/report-name (default: [aws] s3).")
@click.option("--period", help="Only this billing month (YYYY-MM); default every period delivered.")
@aws_options
@FORMAT
@OUTPUT
@pass_app
def collect_aws_cur(
    app: App,
    paths: tuple[str, ...],
    s3_uri: str | None,
    period: str | None,
    profile: str | None,
    region: str | None,
    endpoint_url: str | None,
    fmt: str | None,
    out: Path | None,
) -> None:
    """Load AWS Cost and Usage Reports: legacy CUR (CSV.gz, Parquet), CUR 2.0 or the AWS FOCUS export.

    PATHS is a report folder (as synced from S3) or data files; --s3 reads the report from S3 with boto3's
    credential chain. Each period's newest delivery (assembly / execution) replaces the store's copy of
    that period in one transaction; an older delivery never replaces a newer one.
    """
    from finops.collect import aws_cur
    from finops.periods import month_bounds

    if period:
        month_bounds(period, "--period")
    if paths and s3_uri:
        raise FinopsError("give a report folder or files, or --s3, not both")
    aws = _aws(app, profile, region, endpoint_url)
    s3 = s3_uri or (None if paths else aws.s3)
    if not paths and not s3:
        raise FinopsError("give a report folder or files, or --s3 s3://bucket/prefix/report-name ([aws] s3)")
    progress(f"loading AWS billing from {s3 or ' '.join(paths)} into {app.settings.database}")
    run_collector(
        app, fmt, out, lambda con: aws_cur.collect(con, paths, s3=s3, period=period, aws=aws, notice=notice), True
    )


@click.command("aws-instances")
@click.option("--type", "types", multiple=True, help="Instance type to look up besides those billed (repeatable).")
@aws_options
@FORMAT
@OUTPUT
@pass_app
def collect_aws_instances(
    app: App,
    types: tuple[str, ...],
    profile: str | None,
    region: str | None,
    endpoint_url: str | None,
    fmt: str | None,
    out: Path | None,
) -> None:
    """GPU count, model and memory of the EC2/SageMaker instance types on the bill (EC2 DescribeInstanceTypes).

    Fills the instance_types catalogue (which attribution prefers over finops's static table) and one
    resources row per billed instance, training job or endpoint.
    """
    from finops.collect import aws_instances

    aws = _aws(app, profile, region, endpoint_url)
    run_collector(app, fmt, out, lambda con: aws_instances.collect(con, aws, extra_types=types, notice=notice))


@click.command("sagemaker")
@click.option("--since", help="Only training jobs created at or after this instant (ISO 8601; no zone means UTC).")
@aws_options
@FORMAT
@OUTPUT
@pass_app
def collect_sagemaker(
    app: App,
    since: str | None,
    profile: str | None,
    region: str | None,
    endpoint_url: str | None,
    fmt: str | None,
    out: Path | None,
) -> None:
    """SageMaker training jobs and endpoints of one region as workloads, placed on their ARNs.

    The bill's SageMaker lines carry those ARNs as ResourceId, so `finops attribute` gives each line to
    its job or endpoint. Collecting again updates the records in place.
    """
    from datetime import UTC

    from finops.collect import sagemaker, times

    start = times.instant(since, "--since", UTC) if since else None
    aws = _aws(app, profile, region, endpoint_url)
    run_collector(app, fmt, out, lambda con: sagemaker.collect(con, aws, since=start, notice=notice))
