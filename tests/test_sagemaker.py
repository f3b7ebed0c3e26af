"""`collect sagemaker`: training jobs and endpoints from moto, placed on the ARNs the CUR bills, attributed directly."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import duckdb
import pytest
from click.testing import Result
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sagemaker.models import sagemaker_backends

from finops import allocations
from finops.collect import aws_cur, sagemaker
from finops.config import AttributionSettings, AwsSettings
from tests.conftest import one_line_error, query
from tests.test_aws_layouts import cur2_export, line, write_local

UTC = dt.UTC
ROLE = "arn:aws:iam::123456789012:role/sagemaker"


@pytest.fixture
def sm(aws_env: None) -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("sagemaker", region_name="us-east-1")


def training_job(sm: Any, name: str, instance: str, count: int, start: dt.datetime, hours: int, **tags: str) -> str:
    sm.create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={"TrainingImage": "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch:2.3",
                                "TrainingInputMode": "File"},
        RoleArn=ROLE,
        OutputDataConfig={"S3OutputPath": "s3://ml-artifacts/out"},
        ResourceConfig={"InstanceType": instance, "InstanceCount": count, "VolumeSizeInGB": 200},
        StoppingCondition={"MaxRuntimeInSeconds": 86400},
        Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
    )  # fmt: skip
    job = sagemaker_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].training_jobs[name]
    job.training_start_time = start
    job.training_end_time = start + dt.timedelta(hours=hours)
    return str(sm.describe_training_job(TrainingJobName=name)["TrainingJobArn"])


def endpoint(sm: Any, name: str) -> str:
    sm.create_model(ModelName=f"{name}-model", ExecutionRoleArn=ROLE,
                    PrimaryContainer={"Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/tgi:2.0"})  # fmt: skip
    sm.create_endpoint_config(
        EndpointConfigName=f"{name}-config",
        ProductionVariants=[{"VariantName": "main", "ModelName": f"{name}-model", "InitialInstanceCount": 2,
                             "InstanceType": "ml.g4dn.xlarge"}],
    )  # fmt: skip
    return str(sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config", Tags=[
        {"Key": "team", "Value": "platform"}])["EndpointArn"])  # fmt: skip


def test_jobs_and_endpoints_become_workloads_the_bill_joins(
    con: duckdb.DuckDBPyConnection, sm: Any, tmp_path: Path
) -> None:
    start = dt.datetime(2025, 2, 10, 8, tzinfo=UTC)
    job_arn = training_job(sm, "llama-sft-0210", "ml.p4d.24xlarge", 2, start, 2, team="nlp", project="llama")
    endpoint_arn = endpoint(sm, "chat-api")
    report = sagemaker.collect(con, AwsSettings(region="us-east-1"))
    assert (report.new, report.placements) == (2, 2)
    workloads = con.execute(
        "SELECT w.workload_id, w.kind, w.team, w.project, w.status, w.started_at, w.ended_at, p.resource_id, "
        "p.gpu_count, w.attributes FROM workloads w JOIN workload_placements p USING (source, workload_id) ORDER BY 1"
    ).fetchall()
    assert [w[:9] for w in workloads] == [
        ("chat-api", "deployment", "platform", None, "running", workloads[0][5], None, endpoint_arn, Decimal(2)),
        ("llama-sft-0210", "training", "nlp", "llama", "finished", start, start + dt.timedelta(hours=2), job_arn,
         Decimal(16)),
    ]  # fmt: skip
    assert workloads[1][9] == {"arn": job_arn, "instance_type": "ml.p4d.24xlarge", "instance_count": "2"}
    assert workloads[0][9]["variants"] == "main=ml.g4dn.xlarge*2"
    # The bill's SageMaker lines name those ARNs: `attribute` gives them to the job directly.
    hours = [line("Usage", "65.5464", "2025-02", hour=h, line_item_product_code="AmazonSageMaker",
                  line_item_usage_type="USE1-Train:ml.p4d.24xlarge", line_item_resource_id=job_arn,
                  line_item_usage_amount="2") for h in (8, 9)]  # fmt: skip
    write_local(cur2_export(hours, "2025-02", "e-1"), tmp_path)
    aws_cur.collect(con, [str(tmp_path / "cur2" / "ml-export")])
    allocations.attribute_period(con, "2025-02", AttributionSettings())
    got = con.execute(
        "SELECT bucket, workload_id, team, rule, sum(effective_cost) FROM allocations GROUP BY ALL"
    ).fetchall()
    assert got == [("workload", "llama-sft-0210", "nlp", "direct", Decimal("131.0928"))]
    again = sagemaker.collect(con, AwsSettings(region="us-east-1"))
    assert (again.new, again.updated) == (0, 2)


def test_since_limits_the_training_jobs(con: duckdb.DuckDBPyConnection, sm: Any) -> None:
    training_job(sm, "old-job", "ml.g5.xlarge", 1, dt.datetime(2025, 1, 1, tzinfo=UTC), 1)
    later = dt.datetime.now(UTC) + dt.timedelta(days=1)
    notices: list[str] = []
    report = sagemaker.collect(con, AwsSettings(region="us-east-1"), since=later, notice=notices.append)
    assert report.new == 0 and notices and "no SageMaker training jobs or endpoints in us-east-1" in notices[0]


def test_sagemaker_command(run: Callable[..., Result], sm: Any, db: Path) -> None:
    training_job(sm, "llama-sft-0211", "ml.p5.48xlarge", 1, dt.datetime(2025, 2, 11, tzinfo=UTC), 3, team="nlp")
    result = run("collect", "sagemaker", "--region", "us-east-1", "--since", "2025-01-01", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1].startswith("sagemaker,1,0,1,")
    assert query(db, "SELECT workload_id, team FROM workloads") == [("llama-sft-0211", "nlp")]
    assert "--since: 'yesterday' is not a date-time" in one_line_error(
        run("collect", "sagemaker", "--since", "yesterday")
    )
