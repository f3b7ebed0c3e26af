"""SageMaker training jobs and endpoints as workloads, placed on the ARNs the bill uses as ResourceId.

Identity and replacement as for every workload source (finops/workloads.py): a workload is
(source "sagemaker", job or endpoint name); collecting again updates it and its placement in place.
A training job is placed on its training-job ARN for [start, end) with instance count × GPUs per
instance; an endpoint on its endpoint ARN from creation until now (or its failure). `since` limits
the training jobs listed (CreationTimeAfter); every endpoint that still exists is listed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import duckdb

from finops import gpus
from finops import workloads as wl
from finops.collect import aws_session
from finops.config import AwsSettings

SOURCE = "sagemaker"
_STATUS = {
    "inprogress": "running",
    "stopping": "running",
    "stopped": "cancelled",
    "inservice": "running",
    "creating": "pending",
    "updating": "running",
    "systemupdating": "running",
    "rollingback": "running",
    "deleting": "finished",
    "outofservice": "failed",
}
_ENDED = {"Completed", "Failed", "Stopped"}


def collect(
    con: duckdb.DuckDBPyConnection,
    aws: AwsSettings,
    since: datetime | None = None,
    notice: Callable[[str], None] = lambda message: None,
) -> wl.CollectReport:
    """List training jobs (created since `since`) and endpoints of the region; write them as workloads."""
    sm = aws_session.client("sagemaker", aws)
    capacity = _catalog(con)
    region = sm.meta.region_name
    with aws_session.errors(f"SageMaker ({region})"):
        found = [*_training_jobs(sm, since, capacity), *_endpoints(sm, capacity)]
    if not found:
        notice(f"no SageMaker training jobs or endpoints in {region}" + (f" since {since:%Y-%m-%d}" if since else ""))
    return wl.write(con, SOURCE, f"sagemaker:{region}", found)


def _catalog(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    table = gpus.catalog_table(con)
    return dict(zip(table.column("instance_type").to_pylist(), table.column("gpus").to_pylist(), strict=True))


def _gpus(capacity: dict[str, int], instance_type: str | None, count: int) -> Decimal | None:
    per_instance = capacity.get((instance_type or "").lower().removeprefix("ml."))
    return Decimal(per_instance * count) if per_instance else None


def _tags(sm: Any, arn: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    for page in sm.get_paginator("list_tags").paginate(ResourceArn=arn):
        tags.update({t["Key"]: t["Value"] for t in page.get("Tags", [])})
    return tags


def _status(word: str) -> str:
    return _STATUS.get(word.lower(), word.lower())


def _training_jobs(sm: Any, since: datetime | None, capacity: dict[str, int]) -> Iterator[wl.Workload]:
    arguments = {"CreationTimeAfter": since} if since else {}
    for page in sm.get_paginator("list_training_jobs").paginate(**arguments):
        for summary in page.get("TrainingJobSummaries", []):
            job = sm.describe_training_job(TrainingJobName=summary["TrainingJobName"])
            arn, status = job["TrainingJobArn"], job["TrainingJobStatus"]
            config = job.get("ResourceConfig", {})
            instance_type, count = config.get("InstanceType"), int(config.get("InstanceCount", 1))
            started = job.get("TrainingStartTime") or job["CreationTime"]
            ended = job.get("TrainingEndTime") or (job.get("LastModifiedTime") if status in _ENDED else None)
            tags = _tags(sm, arn)
            attributes = {"arn": arn, "instance_type": instance_type or "", "instance_count": str(count)}
            if job.get("FailureReason"):
                attributes["failure_reason"] = job["FailureReason"]
            yield wl.Workload(
                workload_id=job["TrainingJobName"],
                kind="training",
                started_at=started,
                ended_at=max(ended, started) if ended else None,
                name=job["TrainingJobName"],
                team=tags.get("team"),
                project=tags.get("project"),
                owner=tags.get("owner"),
                status=_status(status),
                attributes=attributes,
                placements=(wl.Placement(arn, gpu_count=_gpus(capacity, instance_type, count)),),
            )


def _endpoints(sm: Any, capacity: dict[str, int]) -> Iterator[wl.Workload]:
    for page in sm.get_paginator("list_endpoints").paginate():
        for summary in page.get("Endpoints", []):
            endpoint = sm.describe_endpoint(EndpointName=summary["EndpointName"])
            config = sm.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
            counts = {v["VariantName"]: v.get("CurrentInstanceCount") for v in endpoint.get("ProductionVariants", [])}
            total: Decimal | None = None
            types = []
            for variant in config.get("ProductionVariants", []):
                count = counts.get(variant["VariantName"]) or variant.get("InitialInstanceCount") or 0
                types.append(f"{variant['VariantName']}={variant.get('InstanceType', 'serverless')}*{count}")
                gpus_ = _gpus(capacity, variant.get("InstanceType"), int(count))
                total = gpus_ if total is None else total + (gpus_ or 0)
            arn, status = endpoint["EndpointArn"], endpoint["EndpointStatus"]
            started = endpoint["CreationTime"]
            ended = max(endpoint["LastModifiedTime"], started) if status in ("Failed", "Deleting") else None
            tags = _tags(sm, arn)
            yield wl.Workload(
                workload_id=endpoint["EndpointName"],
                kind="deployment",
                started_at=started,
                ended_at=ended,
                name=endpoint["EndpointName"],
                team=tags.get("team"),
                project=tags.get("project"),
                owner=tags.get("owner"),
                status=_status(status),
                attributes={"arn": arn, "endpoint_config": endpoint["EndpointConfigName"], "variants": " ".join(types)},
                placements=(wl.Placement(arn, gpu_count=total),),
            )
