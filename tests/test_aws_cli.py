"""The AWS commands as a user runs them: `python -m finops` subprocesses against moto's server via AWS_ENDPOINT_URL."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from tests.test_aws_cur import gpu_month
from tests.test_aws_layouts import BUCKET, legacy_report, put


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws(endpoint: str) -> Iterator[dict[str, str]]:
    """The child's environment: dummy credentials, the server as endpoint, nothing from the user's setup."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "FINOPS_"))}
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
    )
    yield env
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")).close()


def s3(endpoint: str) -> Any:
    return boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="t"
    )


def finops(env: dict[str, str], db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "finops", "--db", str(db), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=db.parent,
    )


def test_aws_cur_and_aws_instances_from_the_server(aws: dict[str, str], endpoint: str, tmp_path: Path) -> None:
    put(s3(endpoint), legacy_report(gpu_month("2025-02"), "2025-02", "asm-1", chunks=2)[0])
    put(s3(endpoint), legacy_report(gpu_month("2025-03"), "2025-03", "asm-1", chunks=2)[0])
    db = tmp_path / "store.duckdb"
    loaded = finops(aws, db, "collect", "aws-cur", "--s3", f"s3://{BUCKET}/cur/ml-cur", "--period", "2025-03",
                    "--format", "csv")  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr
    rows = list(csv.DictReader(io.StringIO(loaded.stdout)))
    assert [(r["action"], r["billing_period"], r["rows"], r["billed_cost"]) for r in rows] == [
        ("loaded", "2025-03", "6", "155.5101")
    ]
    inventory = finops(aws, db, "collect", "aws-instances", "--format", "csv")
    assert inventory.returncode == 0, inventory.stderr
    counts = next(csv.DictReader(io.StringIO(inventory.stdout)))
    assert (counts["types_described"], counts["gpu_types"], counts["resources"]) == ("5", "4", "4")


def test_aws_cur_errors_are_one_line_with_exit_2(aws: dict[str, str], endpoint: str, tmp_path: Path) -> None:
    s3(endpoint).create_bucket(Bucket=BUCKET)
    db = tmp_path / "store.duckdb"
    empty = finops(aws, db, "collect", "aws-cur", "--s3", f"s3://{BUCKET}/cur/ml-cur")
    assert empty.returncode == 2
    assert empty.stderr.strip().splitlines() == [
        f"Error: s3://{BUCKET}/cur/ml-cur: empty: nothing is delivered here; check the bucket and report prefix"
    ]
    missing = finops(aws, db, "collect", "aws-cur", "--s3", "s3://not-there/cur")
    assert missing.returncode == 2 and "the bucket does not exist" in missing.stderr
    assert "Traceback" not in missing.stderr and len(missing.stderr.strip().splitlines()) == 1
    neither = finops(aws, db, "collect", "aws-cur")
    assert neither.returncode == 2 and "--s3 s3://bucket/prefix/report-name" in neither.stderr


def moto_auth(endpoint: str, free_requests: float) -> None:
    """Make moto's server check IAM after `free_requests` more requests (inf: never)."""
    request = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth", str(free_requests).encode(), {"Content-Type": "text/plain"}, method="POST"
    )
    urllib.request.urlopen(request).close()


def test_access_denied_is_one_line_and_names_no_secret(aws: dict[str, str], endpoint: str, tmp_path: Path) -> None:
    put(s3(endpoint), legacy_report(gpu_month("2025-02"), "2025-02", "asm-1")[0])
    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                       aws_secret_access_key="testing")  # fmt: skip
    iam.create_user(UserName="ec2-only")
    key = iam.create_access_key(UserName="ec2-only")["AccessKey"]
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]}
    iam.put_user_policy(UserName="ec2-only", PolicyName="ec2", PolicyDocument=json.dumps(policy))
    env = {**aws, "AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}
    moto_auth(endpoint, 0)
    try:
        denied = finops(env, tmp_path / "store.duckdb", "collect", "aws-cur", "--s3", f"s3://{BUCKET}/cur/ml-cur")
    finally:
        moto_auth(endpoint, float("inf"))
    assert denied.returncode == 2
    assert denied.stderr.strip().splitlines() == [
        f"Error: s3://{BUCKET}/cur/ml-cur: access denied (AccessDenied on ListObjectsV2); the credentials boto3 "
        "found need permission for it (check AWS_PROFILE / --profile and the IAM policy)"
    ]
    assert key["SecretAccessKey"] not in denied.stderr + denied.stdout


def test_sagemaker_from_the_server(aws: dict[str, str], endpoint: str, tmp_path: Path) -> None:
    sm = boto3.client("sagemaker", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                      aws_secret_access_key="testing")  # fmt: skip
    sm.create_training_job(
        TrainingJobName="bert-base-ft",
        AlgorithmSpecification={"TrainingImage": "pytorch-training:2.3", "TrainingInputMode": "File"},
        RoleArn="arn:aws:iam::123456789012:role/sagemaker",
        OutputDataConfig={"S3OutputPath": "s3://ml-artifacts/out"},
        ResourceConfig={"InstanceType": "ml.g5.12xlarge", "InstanceCount": 1, "VolumeSizeInGB": 50},
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
        Tags=[{"Key": "team", "Value": "vision"}],
    )
    db = tmp_path / "store.duckdb"
    result = finops(aws, db, "collect", "sagemaker", "--format", "csv")
    assert result.returncode == 0, result.stderr
    assert next(csv.DictReader(io.StringIO(result.stdout)))["workloads_new"] == "1"
    bad = finops(aws, db, "collect", "sagemaker", "--since", "last week")
    assert bad.returncode == 2 and bad.stderr.startswith("Error: --since: 'last week' is not a date-time")
