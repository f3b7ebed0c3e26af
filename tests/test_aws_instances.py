"""`collect aws-instances`: GPU capacity of the billed types from EC2 DescribeInstanceTypes (moto), offline fallback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import Result
from moto import mock_aws

from finops import gpus
from finops.collect import aws_cur, aws_instances
from finops.config import AwsSettings
from tests.conftest import one_line_error, query
from tests.test_aws_cur import gpu_month
from tests.test_aws_layouts import cur2_export, write_local


@pytest.fixture
def ec2(aws_env: None) -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def billed(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> duckdb.DuckDBPyConnection:
    write_local(cur2_export(gpu_month(), "2025-02", "e-1"), tmp_path)
    aws_cur.collect(con, [str(tmp_path / "cur2" / "ml-export")])
    return con


def test_billed_types_are_described_and_resources_filled(billed: duckdb.DuckDBPyConnection, ec2: None) -> None:
    report = aws_instances.collect(billed, AwsSettings(region="us-east-1"), extra_types=["ml.p5e.48xlarge", "zz9.huge"])
    assert report.as_row() == {
        "source": "aws-instances", "types_described": 6, "gpu_types": 5, "unknown_types": 1, "resources": 4,
    }  # fmt: skip
    catalog = billed.execute(
        "SELECT instance_type, gpu_count, gpu_model, gpu_memory_mib, vcpus FROM instance_types ORDER BY 1"
    ).fetchall()
    assert catalog == [
        ("g5.2xlarge", 1, "A10G", 22888, 8),
        ("g5.xlarge", 1, "A10G", 22888, 4),
        ("p4d.24xlarge", 8, "A100", 40960, 96),
        ("p5.48xlarge", 8, "H100", 81920, 192),
        ("p5e.48xlarge", 8, "H200", catalog[4][3], 192),
        ("t3.medium", None, None, None, 2),
    ]
    resources = billed.execute(
        "SELECT resource_id, instance_type, gpu_count, gpu_model, region FROM resources ORDER BY 1"
    ).fetchall()
    assert resources == [
        ("arn:aws:sagemaker:us-east-1:222222222222:endpoint/chat-api", "ml.g5.2xlarge", Decimal(1), "A10G", "us-east-1"),
        ("arn:aws:sagemaker:us-east-1:222222222222:training-job/llama-sft-0210", "ml.p5.48xlarge", Decimal(8), "H100",
         "us-east-1"),
        ("i-0a1", "p4d.24xlarge", Decimal(8), "A100", "us-east-1"),
        ("i-0b2", "g5.xlarge", Decimal(1), "A10G", "us-west-2"),
    ]  # fmt: skip
    again = aws_instances.collect(billed, AwsSettings(region="us-east-1"))
    assert again.resources == 4 and query_count(billed) == (6, 4)


def query_count(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    row = con.execute("SELECT (SELECT count(*) FROM instance_types), (SELECT count(*) FROM resources)").fetchall()
    return int(row[0][0]), int(row[0][1])


def test_collected_types_win_over_the_static_table(con: duckdb.DuckDBPyConnection) -> None:
    assert gpus.CATALOG["g6e.xlarge"] == (1, "L40S")
    con.execute(
        "INSERT INTO instance_types VALUES ('aws', 'g6e.xlarge', 2, 'L40S-test', 46068, 4, 32768, "
        "'describe_instance_types', current_timestamp)"
    )
    table = gpus.catalog_table(con).to_pylist()
    assert {"instance_type": "g6e.xlarge", "gpus": 2, "gpu_model": "L40S-test"} in table
    assert {"instance_type": "g6e.xlarge", "gpus": 1, "gpu_model": "L40S"} in gpus.catalog_table().to_pylist()


def test_aws_instances_command(run: Callable[..., Result], ec2: None, db: Path) -> None:
    assert "no AWS instance types on the bill" in one_line_error(run("collect", "aws-instances"))
    result = run("collect", "aws-instances", "--type", "p4d.24xlarge", "--region", "us-east-1", "--format", "json")
    assert result.exit_code == 0, result.output
    assert '"gpu_types": 1' in result.stdout.replace('":1', '": 1')
    assert query(db, "SELECT instance_type, gpu_count FROM instance_types") == [("p4d.24xlarge", 8)]


def test_unknown_profile_is_a_config_error(
    run: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    error = one_line_error(run("collect", "aws-instances", "--type", "p5.48xlarge", "--profile", "billing"))
    assert "AWS profile 'billing' is not in ~/.aws/config" in error
