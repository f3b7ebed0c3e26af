"""`collect aws-cur` as a library: the public legacy sample, amortisation, S3 layouts on moto, restatement, errors."""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws
from moto.core import set_initial_no_auth_action_count

from finops import ingest, store
from finops.collect import aws_cur
from finops.errors import InputError
from tests.test_aws_layouts import BUCKET, cur2_export, legacy_report, line, put, write_local

SP = "arn:aws:savingsplans::111111111111:savingsplan/3f1c0b9e-sp"
RI = "arn:aws:ec2:us-east-1:111111111111:reserved-instances/7d2e-ri"
D = Decimal


@pytest.fixture
def s3(aws_env: None) -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("s3", region_name="us-east-1")


def one(con: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> Any:
    return store.fetch_one(con, sql, params)


def state(con: duckdb.DuckDBPyConnection) -> tuple[Any, ...]:
    """Everything a failed load must leave as it was."""
    return (
        one(con, "SELECT count(*), sum(BilledCost), sum(EffectiveCost) FROM cost_line_items"),
        one(con, "SELECT count(*), max(batch_id) FROM ingest_batches"),
    )


# --- the public legacy sample -------------------------------------------------------------------


def test_public_legacy_sample_loads_to_the_last_digit(con: duckdb.DuckDBPyConnection, shared: Path) -> None:
    sample = shared / "aws-cur-legacy-sample" / "sample-anonymous-aws-export-dataset.csv"
    report = aws_cur.collect(con, [str(sample)])
    assert [(s.action, s.rows) for s in report.scopes] == [("loaded", 1281)]
    totals = one(con, "SELECT sum(BilledCost), sum(ListCost), sum(EffectiveCost) FROM cost_line_items")
    assert totals == (D("1.6823086974"), D("3.3561726949"), D("1.6823086974"))
    by_category = con.execute(
        "SELECT ChargeCategory, count(*), sum(BilledCost) FROM cost_line_items GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert by_category == [("Tax", 12, D("0.08")), ("Usage", 1269, D("1.6023086974"))]
    assert one(con, "SELECT ServiceName, x_ServiceCode FROM cost_line_items WHERE x_LineItemType = 'Tax' LIMIT 1") == (
        "AWS CloudTrail",
        "AWSCloudTrail",
    )
    assert aws_cur.collect(con, [str(sample)]).scopes[0].action == "unchanged"


# --- amortisation ---------------------------------------------------------------------------------

AMORTISATION = [
    # SP covered usage: unblended shows on-demand, amortised is the SP effective cost.
    line("SavingsPlanCoveredUsage", "32.7726", line_item_usage_type="BoxUsage:p4d.24xlarge",
         line_item_resource_id="i-0p4d", line_item_usage_amount="1", pricing_public_on_demand_cost="32.7726",
         savings_plan_savings_plan_a_r_n=SP, savings_plan_savings_plan_effective_cost="8.0", pricing_unit="Hrs"),
    line("SavingsPlanNegation", "-32.7726", line_item_usage_type="BoxUsage:p4d.24xlarge",
         line_item_resource_id="i-0p4d", savings_plan_savings_plan_a_r_n=SP),
    # The hour's $10 commitment, $8 used: $2 unused.
    line("SavingsPlanRecurringFee", "10.0", line_item_resource_id=SP, savings_plan_savings_plan_a_r_n=SP,
         savings_plan_total_commitment_to_date="10.0", savings_plan_used_commitment="8.0",
         line_item_product_code="ComputeSavingsPlans", pricing_public_on_demand_cost="10.0"),
    # Partial-upfront RI: the upfront fee, covered usage at its effective cost, the monthly fee with unused parts.
    line("Fee", "1200.0", reservation_reservation_a_r_n=RI, line_item_usage_type="HeavyUsage:g5.xlarge"),
    line("DiscountedUsage", "0", line_item_usage_type="BoxUsage:g5.xlarge", line_item_resource_id="i-0g5",
         line_item_usage_amount="1", pricing_public_on_demand_cost="1.006", reservation_reservation_a_r_n=RI,
         reservation_effective_cost="0.6"),
    line("RIFee", "144.0", reservation_reservation_a_r_n=RI, line_item_resource_id=RI,
         reservation_unused_amortized_upfront_fee_for_billing_period="12.5",
         reservation_unused_recurring_fee="6.25"),
    line("Usage", "1.5", line_item_usage_type="BoxUsage:m5.large", pricing_public_on_demand_cost="1.5"),
    line("Tax", "2.0", line_item_product_code="AmazonEC2"),
]  # fmt: skip


def test_effective_cost_is_awss_amortised_cost(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    tree, _ = legacy_report(AMORTISATION, "2025-01", "asm-1", chunks=2)
    write_local(tree, tmp_path)
    aws_cur.collect(con, [str(tmp_path)])
    got = con.execute(
        "SELECT x_LineItemType, ChargeCategory, coalesce(CommitmentDiscountStatus, ''), BilledCost, EffectiveCost "
        "FROM cost_line_items ORDER BY x_LineItemType, ChargeCategory"
    ).fetchall()
    assert got == [
        ("DiscountedUsage", "Usage", "Used", D(0), D("0.6")),
        ("Fee", "Purchase", "", D("1200"), D(0)),  # RI upfront: spread over the covered usage instead
        ("RIFee", "Purchase", "", D("144"), D(0)),
        ("RIFee", "Usage", "Unused", D(0), D("18.75")),  # unused amortised upfront + unused recurring
        ("SavingsPlanCoveredUsage", "Usage", "Used", D("32.7726"), D("8")),
        ("SavingsPlanNegation", "Usage", "", D("-32.7726"), D(0)),
        ("SavingsPlanRecurringFee", "Purchase", "", D("10"), D(0)),
        ("SavingsPlanRecurringFee", "Usage", "Unused", D(0), D("2")),  # TotalCommitmentToDate - UsedCommitment
        ("Tax", "Tax", "", D("2"), D("2")),
        ("Usage", "Usage", "", D("1.5"), D("1.5")),
    ]
    assert one(con, "SELECT sum(BilledCost), sum(EffectiveCost) FROM cost_line_items") == (D("1357.5"), D("32.85"))
    commitments = con.execute(
        "SELECT DISTINCT x_LineItemType, CommitmentDiscountId, CommitmentDiscountType, CommitmentDiscountCategory "
        "FROM cost_line_items WHERE CommitmentDiscountId IS NOT NULL ORDER BY 1"
    ).fetchall()
    assert [c[0] for c in commitments] == [
        "DiscountedUsage", "Fee", "RIFee", "SavingsPlanCoveredUsage", "SavingsPlanNegation", "SavingsPlanRecurringFee",
    ]  # fmt: skip
    assert {c[1:] for c in commitments} == {(SP, "Savings Plan", "Spend"), (RI, "Reserved Instance", "Usage")}
    # Unused commitment stays on the commitment, with no quantity or instance of its own.
    assert one(con, "SELECT list(DISTINCT ResourceId ORDER BY ResourceId), max(x_InstanceType), max(PricingQuantity) "
               "FROM cost_line_items WHERE CommitmentDiscountStatus = 'Unused'") == ([RI, SP], None, None)  # fmt: skip


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    hours=st.lists(
        st.tuples(
            st.integers(1, 1_000_000),
            st.lists(st.tuples(st.integers(1, 10**6), st.integers(0, 10**6)), min_size=1, max_size=4),
        ),
        min_size=1,
        max_size=4,
    ),
    ri_hours=st.lists(st.integers(1, 10**6), max_size=3),
)
def test_a_fully_used_commitment_amortises_to_its_bill(
    con: duckdb.DuckDBPyConnection,
    tmp_path_factory: pytest.TempPathFactory,
    hours: list[tuple[int, list[tuple[int, int]]]],
    ri_hours: list[int],
) -> None:
    """Σ EffectiveCost == Σ BilledCost when every hour's Savings Plan and RI commitment is used in full."""
    rows = []
    cent = D("0.0001")
    for hour, (commitment, uses) in enumerate(hours):
        weights = sum(w for w, _ in uses)
        shares = [commitment * w // weights for w, _ in uses]
        shares[-1] += commitment - sum(shares)  # the covered usages use the whole commitment
        for (_, od), share in zip(uses, shares, strict=True):
            on_demand = str((od + share) * cent)
            rows.append(line("SavingsPlanCoveredUsage", on_demand, hour=hour, savings_plan_savings_plan_a_r_n=SP,
                             savings_plan_savings_plan_effective_cost=str(share * cent)))  # fmt: skip
            rows.append(line("SavingsPlanNegation", f"-{on_demand}", hour=hour, savings_plan_savings_plan_a_r_n=SP))
        fee = str(commitment * cent)
        rows.append(line("SavingsPlanRecurringFee", fee, hour=hour, savings_plan_savings_plan_a_r_n=SP,
                         savings_plan_total_commitment_to_date=fee, savings_plan_used_commitment=fee))  # fmt: skip
    for hour, cost in enumerate(ri_hours):
        rate = str(cost * cent)
        rows.append(line("DiscountedUsage", "0", hour=hour, reservation_reservation_a_r_n=RI,
                         reservation_effective_cost=rate))  # fmt: skip
        rows.append(line("RIFee", rate, hour=hour, reservation_reservation_a_r_n=RI,
                         reservation_unused_amortized_upfront_fee_for_billing_period="0",
                         reservation_unused_recurring_fee="0"))  # fmt: skip
    tmp = tmp_path_factory.mktemp("sp")
    write_local(legacy_report(rows, "2025-01", "asm", chunks=1)[0], tmp)
    aws_cur.collect(con, [str(tmp / "cur")])  # replaces the month of the previous example
    billed, effective, unused = one(
        con,
        "SELECT sum(BilledCost), sum(EffectiveCost), count(*) FILTER (WHERE CommitmentDiscountStatus = 'Unused') "
        "FROM cost_line_items",
    )
    assert billed == effective and unused == 0


# --- layouts --------------------------------------------------------------------------------------


def gpu_month(period: str = "2025-02", extra: str = "") -> list[dict[str, Any]]:
    """EC2 and SageMaker GPU lines as a research account bills them."""
    job = "arn:aws:sagemaker:us-east-1:222222222222:training-job/llama-sft-0210"
    endpoint = "arn:aws:sagemaker:us-east-1:222222222222:endpoint/chat-api"
    sm = {"line_item_product_code": "AmazonSageMaker", "product_product_name": "Amazon SageMaker"}
    return [
        line("Usage", "98.32" + extra, period, tags={"team": "nlp", "training-run": "run-7"},
             line_item_usage_type="BoxUsage:p4d.24xlarge", line_item_operation="RunInstances",
             line_item_resource_id="i-0a1", line_item_usage_amount="3", pricing_unit="Hrs",
             pricing_public_on_demand_cost="98.32", pricing_public_on_demand_rate="32.7733333333",
             pricing_term="OnDemand"),
        line("Usage", "0.4021", period, tags={"team": "vision"}, line_item_usage_type="USW2-SpotUsage:g5.xlarge",
             line_item_operation="RunInstances:SV002", line_item_resource_id="i-0b2", line_item_usage_amount="1",
             pricing_public_on_demand_cost="1.006", product_region_code="us-west-2"),
        line("Usage", "55.2", period, tags={"team": "nlp"}, line_item_usage_type="USE1-Train:ml.p5.48xlarge",
             line_item_operation="RunInstance", line_item_resource_id=job, line_item_usage_amount="0.5",
             pricing_public_on_demand_cost="55.2", **sm),
        line("Usage", "1.515", period, line_item_usage_type="USE1-Host:ml.g5.2xlarge", line_item_resource_id=endpoint,
             line_item_usage_amount="1", pricing_public_on_demand_cost="1.515", **sm),
        line("Usage", "0.05", period, line_item_usage_type="USE1-Notebk:ml.t3.medium", line_item_usage_amount="1",
             pricing_public_on_demand_cost="0.05", **sm),
        line("Usage", "0.023", period, line_item_usage_type="TimedStorage-ByteHrs",
             line_item_product_code="AmazonS3", product_product_name="Amazon Simple Storage Service",
             pricing_public_on_demand_cost="0.023"),
    ]  # fmt: skip


def test_cur2_export_from_s3_maps_maps_and_gpu_columns(con: duckdb.DuckDBPyConnection, s3: Any) -> None:
    put(s3, cur2_export(gpu_month(), "2025-02", "exec-1", files=2))
    report = aws_cur.collect(con, s3=f"s3://{BUCKET}/cur2/ml-export")
    assert [(s.action, s.rows, s.billed_cost) for s in report.scopes] == [("loaded", 6, D("155.5101"))]
    assert {f.as_record()["path"] for f in report.scopes[0].files} == {
        f"s3://{BUCKET}/cur2/ml-export/data/BILLING_PERIOD=2025-02/ml-export-0000{n}.snappy.parquet" for n in (1, 2)
    }
    got = con.execute(
        "SELECT x_UsageType, x_InstanceType, x_GpuCount, x_GpuModel, PricingCategory, ServiceName, ServiceCategory, "
        "Tags, ListCost FROM cost_line_items ORDER BY BilledCost DESC"
    ).fetchall()
    assert got == [
        ("BoxUsage:p4d.24xlarge", "p4d.24xlarge", D(8), "A100", "Standard", "Amazon Elastic Compute Cloud", "Compute",
         {"team": "nlp", "training_run": "run-7"}, D("98.32")),
        ("USE1-Train:ml.p5.48xlarge", "ml.p5.48xlarge", D(8), "H100", "Standard", "Amazon SageMaker",
         "AI and Machine Learning", {"team": "nlp"}, D("55.2")),
        ("USE1-Host:ml.g5.2xlarge", "ml.g5.2xlarge", D(1), "A10G", "Standard", "Amazon SageMaker",
         "AI and Machine Learning", None, D("1.515")),
        ("USW2-SpotUsage:g5.xlarge", "g5.xlarge", D(1), "A10G", "Dynamic", "Amazon Elastic Compute Cloud", "Compute",
         {"team": "vision"}, D("1.006")),
        ("USE1-Notebk:ml.t3.medium", "ml.t3.medium", None, None, "Standard", "Amazon SageMaker",
         "AI and Machine Learning", None, D("0.05")),
        ("TimedStorage-ByteHrs", None, None, None, "Standard", "Amazon Simple Storage Service", "Storage", None,
         D("0.023")),
    ]  # fmt: skip
    manifest = one(con, "SELECT source, manifest_id, manifest_at IS NOT NULL FROM ingest_batches")
    assert manifest == ("aws-cur", "exec-1", True)


def test_legacy_parquet_with_athena_names(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = gpu_month()[:2]
    table = {name: [None if r.get(name) is None else str(r[name]) for r in rows] for name in rows[0] if name != "tags"}
    table["resource_tags_user_team"] = [r["tags"].get("team") for r in rows]
    pq.write_table(pa.table(table), tmp_path / "ml-cur-00001.snappy.parquet")
    aws_cur.collect(con, [str(tmp_path / "ml-cur-00001.snappy.parquet")])
    got = con.execute("SELECT Tags, x_InstanceType, BilledCost FROM cost_line_items ORDER BY 3").fetchall()
    assert got == [({"team": "vision"}, "g5.xlarge", D("0.4021")), ({"team": "nlp"}, "p4d.24xlarge", D("98.32"))]


def test_a_legacy_folder_loads_every_chunk_of_the_newest_assembly_and_ragged_rows(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    old, _ = legacy_report(gpu_month("2025-01"), "2025-01", "asm-old", chunks=3)
    new, _ = legacy_report(gpu_month("2025-01", extra="1"), "2025-01", "asm-new", chunks=3)
    write_local(old, tmp_path)
    write_local(new, tmp_path)  # the period-level manifest now names asm-new; asm-old's chunks stay beside it
    # AWS writes rows without their empty trailing fields: cut the last (tag) fields off one row.
    chunk = tmp_path / next(k for k in new if k.endswith("asm-new/ml-cur-1.csv.gz"))
    lines = gzip.decompress(chunk.read_bytes()).decode().splitlines()
    lines[1] = lines[1].rsplit(",", 2)[0]
    chunk.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    report = aws_cur.collect(con, [str(tmp_path)])
    assert [(s.action, s.rows, s.billed_cost) for s in report.scopes] == [("loaded", 6, D("155.5111"))]
    assert one(con, "SELECT manifest_id FROM ingest_batches") == ("asm-new",)
    assert len(report.scopes[0].files) == 3


def test_restated_month_replaces_and_an_older_assembly_never_rolls_back(
    con: duckdb.DuckDBPyConnection, s3: Any
) -> None:
    """Two assemblies of one month in S3; the newer restates the older and adds a late credit."""
    original, _ = legacy_report(gpu_month("2025-01"), "2025-01", "asm-1", chunks=2)
    credit = line("Credit", "-20.0", "2025-01", hour=23, line_item_line_item_description="AWS Activate credit")
    restated, _ = legacy_report([*gpu_month("2025-01", extra="9"), credit], "2025-01", "asm-2", chunks=3)
    put(s3, original)
    first = aws_cur.collect(con, s3=f"s3://{BUCKET}/cur/ml-cur")
    assert [(s.action, s.rows, s.billed_cost) for s in first.scopes] == [("loaded", 6, D("155.5101"))]
    time.sleep(1.05)  # S3 keeps LastModified to the second
    put(s3, restated)
    second = aws_cur.collect(con, s3=f"s3://{BUCKET}/cur/ml-cur")
    assert [(s.action, s.rows, s.billed_cost) for s in second.scopes] == [("replaced", 7, D("135.5191"))]
    assert one(con, "SELECT count(*), sum(BilledCost) FROM cost_line_items") == (7, D("135.5191"))
    assert one(con, "SELECT ChargeCategory, EffectiveCost FROM cost_line_items WHERE x_LineItemType = 'Credit'") == (
        "Credit",
        D(-20),
    )
    before = state(con)
    notices: list[str] = []
    again = aws_cur.collect(con, s3=f"s3://{BUCKET}/cur/ml-cur/20250101-20250201/asm-1", notice=notices.append)
    assert [(s.action, s.rows) for s in again.scopes] == [("kept newer", 7)]
    assert len(notices) == 1 and "kept the newer delivery asm-2" in notices[0] and "asm-1" in notices[0]
    assert state(con) == before
    assert one(con, "SELECT list(DISTINCT manifest_id) FROM current_batches") == (["asm-2"],)


def test_period_option_loads_only_that_period(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    write_local(cur2_export(gpu_month("2025-01"), "2025-01", "e-1"), tmp_path)
    write_local(cur2_export(gpu_month("2025-02"), "2025-02", "e-2"), tmp_path)
    report = aws_cur.collect(con, [str(tmp_path / "cur2" / "ml-export")], period="2025-02")
    assert [f"{s.billing_period_start:%Y-%m}" for s in report.scopes] == ["2025-02"]
    everything = aws_cur.collect(con, [str(tmp_path / "cur2" / "ml-export")])
    assert [(f"{s.billing_period_start:%Y-%m}", s.action) for s in everything.scopes] == [
        ("2025-01", "loaded"),
        ("2025-02", "unchanged"),
    ]
    with pytest.raises(InputError, match=r"no delivery for billing period 2024-12; periods here: 2025-01, 2025-02"):
        aws_cur.collect(con, [str(tmp_path / "cur2" / "ml-export")], period="2024-12")


def test_the_aws_focus_export_goes_through_the_focus_path(
    con: duckdb.DuckDBPyConnection, sample: Path, tmp_path: Path
) -> None:
    data = tmp_path / "focus" / "ml-focus" / "data" / "BILLING_PERIOD=2024-09" / "ml-focus-00001.csv"
    data.parent.mkdir(parents=True)
    data.write_bytes(sample.read_bytes())
    manifest = tmp_path / "focus" / "ml-focus" / "metadata" / "BILLING_PERIOD=2024-09" / "ml-focus-Manifest.json"
    manifest.parent.mkdir(parents=True)
    uri = f"s3://{BUCKET}/focus/ml-focus/data/BILLING_PERIOD=2024-09/ml-focus-00001.csv"
    manifest.write_text(
        json.dumps({"executionId": "f-1", "billingPeriod": {"start": "2024-09-01"}, "dataFiles": [uri]})
    )
    report = aws_cur.collect(con, [str(tmp_path / "focus" / "ml-focus")])
    assert report.source == "focus"
    assert one(con, "SELECT sum(BilledCost) FROM cost_line_items") == (D("20.520226728990"),)


# --- bad input: one line, store unchanged --------------------------------------------------------


@pytest.fixture
def loaded(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> duckdb.DuckDBPyConnection:
    write_local(legacy_report(AMORTISATION, "2025-01", "asm-1")[0], tmp_path / "good")
    aws_cur.collect(con, [str(tmp_path / "good")])
    return con


def test_missing_manifest(loaded: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    tree, _ = legacy_report(gpu_month(), "2025-02", "asm-1")
    write_local({k: v for k, v in tree.items() if not k.endswith("Manifest.json")}, tmp_path / "r")
    before = state(loaded)
    with pytest.raises(InputError, match=r"/r: no CUR manifest \(\*-Manifest.json\) here; point at the report"):
        aws_cur.collect(loaded, [str(tmp_path / "r")])
    assert state(loaded) == before


def test_manifest_naming_a_missing_chunk(loaded: duckdb.DuckDBPyConnection, s3: Any) -> None:
    tree, _ = legacy_report(gpu_month(), "2025-02", "asm-1", chunks=3)
    put(s3, {k: v for k, v in tree.items() if not k.endswith("ml-cur-2.csv.gz")})
    before = state(loaded)
    with pytest.raises(InputError) as error:
        aws_cur.collect(loaded, s3=f"s3://{BUCKET}/cur/ml-cur")
    assert str(error.value).startswith(f"s3://{BUCKET}/cur/ml-cur/20250201-20250301/")
    assert "names data file cur/ml-cur/20250201-20250301/asm-1/ml-cur-2.csv.gz, which is not under" in str(error.value)
    assert state(loaded) == before


def test_empty_bucket(loaded: duckdb.DuckDBPyConnection, s3: Any) -> None:
    s3.create_bucket(Bucket=BUCKET)
    with pytest.raises(InputError, match=rf"^s3://{BUCKET}/cur/ml-cur: empty: nothing is delivered here"):
        aws_cur.collect(loaded, s3=f"s3://{BUCKET}/cur/ml-cur")
    with pytest.raises(InputError, match="the bucket does not exist"):
        aws_cur.collect(loaded, s3="s3://no-such-bucket/cur/ml-cur")


def test_access_denied(loaded: duckdb.DuckDBPyConnection, s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    put(s3, legacy_report(gpu_month(), "2025-02", "asm-1")[0])
    iam = boto3.client("iam", region_name="us-east-1")
    iam.create_user(UserName="reader")
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]}
    iam.put_user_policy(UserName="reader", PolicyName="no-s3", PolicyDocument=json.dumps(policy))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    before = state(loaded)

    @set_initial_no_auth_action_count(0)
    def denied() -> None:
        aws_cur.collect(loaded, s3=f"s3://{BUCKET}/cur/ml-cur")

    with pytest.raises(InputError) as error:
        denied()
    message = str(error.value)
    assert message.startswith(f"s3://{BUCKET}/cur/ml-cur: access denied (AccessDenied on ListObjectsV2)")
    assert key["SecretAccessKey"] not in message and key["AccessKeyId"] not in message
    assert state(loaded) == before


def test_unknown_column_layout(loaded: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    tree, _ = legacy_report(gpu_month(), "2025-02", "asm-1", chunks=1)
    chunk = next(k for k in tree if k.endswith(".csv.gz"))
    tree[chunk] = gzip.compress(b"date,amount,what\n2025-02-01,3.5,coffee\n")
    write_local(tree, tmp_path / "r")
    before = state(loaded)
    with pytest.raises(InputError, match=r"ml-cur-1.csv.gz: unknown column layout: no line_item_line_item_type, "):
        aws_cur.collect(loaded, [str(tmp_path / "r")])
    assert state(loaded) == before


def test_a_bad_cost_names_file_row_and_legacy_column(loaded: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    rows = gpu_month()
    rows[2]["line_item_unblended_cost"] = "12,5"
    write_local(legacy_report(rows, "2025-02", "asm-1", chunks=1)[0], tmp_path / "r")
    before = state(loaded)
    with pytest.raises(InputError, match=r"ml-cur-1.csv.gz row 3: lineItem/UnblendedCost: '12,5' is not a number"):
        aws_cur.collect(loaded, [str(tmp_path / "r")])
    assert state(loaded) == before


@pytest.mark.parametrize("kind", ["legacy", "cur2"])
def test_an_empty_cost_names_file_row_and_column(loaded: duckdb.DuckDBPyConnection, tmp_path: Path, kind: str) -> None:
    """A row with no cost at all is refused by name (the store needs a cost on every row), in CSV and Parquet."""
    rows = gpu_month()
    rows[4]["line_item_unblended_cost"] = None
    if kind == "legacy":
        tree, name, column = (
            legacy_report(rows, "2025-02", "asm-1", chunks=1)[0],
            "ml-cur-1.csv.gz",
            "lineItem/UnblendedCost",
        )
    else:
        tree, name, column = (
            cur2_export(rows, "2025-02", "exec-1", files=1),
            "ml-export-00001.snappy.parquet",
            "line_item_unblended_cost",
        )
    write_local(tree, tmp_path / "r")
    before = state(loaded)
    with pytest.raises(InputError, match=rf"{name} row 5: {column} is empty; every CUR row has a cost"):
        aws_cur.collect(loaded, [str(tmp_path / "r")])
    assert state(loaded) == before


def test_cur2_as_gzip_csv_with_maps_as_json(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    """Data Exports can deliver CSV: the MAP columns then arrive as JSON object text."""
    write_local(cur2_export(gpu_month(), "2025-02", "e-1", files=1), tmp_path)
    data = next((tmp_path / "cur2").rglob("*.parquet"))
    csv_file = data.with_name("ml-export-00001.csv.gz")
    duckdb.execute(
        f"COPY (SELECT * REPLACE (to_json(resource_tags) AS resource_tags, to_json(product) AS product, "
        f"to_json(cost_category) AS cost_category) FROM read_parquet('{data}')) TO '{csv_file}' (HEADER, COMPRESSION gzip)"
    )
    aws_cur.collect(con, [str(csv_file)])
    got = con.execute(
        "SELECT Tags, ServiceName, BilledCost FROM cost_line_items ORDER BY BilledCost DESC LIMIT 2"
    ).fetchall()
    assert got == [
        ({"team": "nlp", "training_run": "run-7"}, "Amazon Elastic Compute Cloud", D("98.32")),
        ({"team": "nlp"}, "Amazon SageMaker", D("55.2")),
    ]


def test_a_bad_value_after_unused_commitment_names_its_file_row(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    """Unused commitment rows are written after their fee rows, yet a bad row is named by its row in the file
    (past 2,048 rows too)."""
    rows = [*AMORTISATION * 300, line("Usage", "1.2.3", line_item_usage_type="BoxUsage:m5.large")]
    write_local(legacy_report(rows, "2025-01", "asm-1", chunks=1)[0], tmp_path)
    with pytest.raises(InputError, match=r"ml-cur-1.csv.gz row 2401: lineItem/UnblendedCost: '1.2.3' is not a number"):
        aws_cur.collect(con, [str(tmp_path)])


def test_explicit_files_take_no_period(con: duckdb.DuckDBPyConnection, shared: Path) -> None:
    sample = shared / "aws-cur-legacy-sample" / "sample-anonymous-aws-export-dataset.csv"
    with pytest.raises(InputError, match="--period 2023-11 picks a delivery from a report folder or --s3"):
        aws_cur.collect(con, [str(sample)], period="2023-11")
    with pytest.raises(InputError, match="give either a local report folder / CUR files, or --s3"):
        aws_cur.collect(con)


def test_parquet_rows_keep_their_file_rows_and_unused_commitment_comes_after(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    """Parquet rows are numbered as written: the rows written before their file plus their row in it; the
    unused-commitment rows a CUR adds have no place in a file and are numbered after, in the order written."""
    write_local(cur2_export(AMORTISATION, "2025-01", "exec-1", files=2), tmp_path)
    aws_cur.collect(con, [str(tmp_path)])
    got = con.execute(
        f"SELECT x_LineItemId % {ingest.ROW_ID_FACTOR}, x_LineItemType, coalesce(CommitmentDiscountStatus, '') "
        "FROM cost_line_items ORDER BY 1"
    ).fetchall()
    first, second = AMORTISATION[0::2], AMORTISATION[1::2]
    # The second file's rows follow every row written before it: the first file's 4 and its unused SP row.
    numbers = [(n + 1, r["line_item_line_item_type"]) for n, r in enumerate(first)]
    numbers += [(len(first) + 1 + n + 1, r["line_item_line_item_type"]) for n, r in enumerate(second)]
    assert [(row, kind) for row, kind, _ in got[:8]] == numbers
    assert [(kind, status) for _, kind, status in got[8:]] == [
        ("SavingsPlanRecurringFee", "Unused"),
        ("RIFee", "Unused"),
    ]
    assert got[8][0] > numbers[-1][0]
