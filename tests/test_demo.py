"""The demo month: deterministic, exactly sized, FOCUS-valid, and telling the story attribution needs."""

from __future__ import annotations

import csv
import gzip
import json
import re
import tempfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finops import demo, focus

Row = dict[str, str]
STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:00:00Z$")
UNITS = {"Hours", "GB-Hours", "GB-Months", "GB", "Requests", "1000 Requests"}
MONEY = ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost")


def read(path: Path) -> Iterator[Row]:
    """The data rows of a generated file."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="", encoding="utf-8") as f:
        yield from csv.DictReader(f)


def dec(text: str) -> Decimal:
    """A decimal field; an exponent or float-looking text fails the test."""
    assert re.fullmatch(r"-?\d+(\.\d+)?", text), text
    return Decimal(text)


def all_rows(paths: list[Path]) -> Iterator[Row]:
    for path in paths:
        yield from read(path)


def commitment_totals(paths: list[Path]) -> dict[str, Decimal]:
    """Per cost kind, the Savings Plan's purchase, used and unused sums."""
    totals = dict.fromkeys(("purchase_billed", "purchase_effective", "used", "unused"), Decimal(0))
    for row in all_rows(paths):
        if not row["CommitmentDiscountId"]:
            continue
        if row["ChargeCategory"] == "Purchase":
            totals["purchase_billed"] += dec(row["BilledCost"])
            totals["purchase_effective"] += dec(row["EffectiveCost"])
        else:
            totals[row["CommitmentDiscountStatus"].lower()] += dec(row["EffectiveCost"])
    return totals


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return demo.generate(tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="module")
def rows(month: list[Path]) -> list[Row]:
    return list(all_rows(month))


def test_files_are_named_by_provider_and_month(month: list[Path]) -> None:
    assert [p.name for p in month] == ["aws-focus-2026-10.csv.gz", "gcp-focus-2026-10.csv"]


def test_same_arguments_give_the_same_bytes(month: list[Path], tmp_path: Path) -> None:
    again = demo.generate(tmp_path / "again")
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in month]
    assert month[0].read_bytes()[4:8] == b"\0\0\0\0"  # gzip mtime


def test_another_seed_gives_another_month(month: list[Path], tmp_path: Path) -> None:
    other = demo.generate(tmp_path, seed=8)
    assert all(a.read_bytes() != b.read_bytes() for a, b in zip(other, month, strict=True))


@pytest.mark.parametrize(("size", "period"), [(2000, "2026-10"), (2000, "2027-02"), (3456, "2026-11")])
def test_exact_row_count(size: int, period: str, tmp_path: Path) -> None:
    assert sum(1 for _ in all_rows(demo.generate(tmp_path, rows=size, month=period))) == size


def test_default_row_count(rows: list[Row]) -> None:
    assert len(rows) == 20_000


def test_too_few_rows_or_a_bad_month_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 2000"):
        demo.generate(tmp_path, rows=1999)
    with pytest.raises(ValueError, match="2026-10"):
        demo.generate(tmp_path, month="October")


def test_header_is_focus_1_2_then_three_extras(month: list[Path]) -> None:
    expected = [c.name for c in focus.FOCUS_1_2] + ["x_UsageType", "x_Operation", "x_InstanceType"]
    assert len(focus.FOCUS_1_2) == 57
    for path in month:
        with (gzip.open if path.suffix == ".gz" else open)(path, "rt", newline="") as f:
            assert next(csv.reader(f)) == expected


def test_commitment_is_exactly_amortized(month: list[Path]) -> None:
    totals = commitment_totals(month)
    assert totals["purchase_billed"] > 0 and totals["used"] > 0 and totals["unused"] > 0
    assert totals["purchase_effective"] == 0
    assert totals["used"] + totals["unused"] == totals["purchase_billed"]


def test_savings_plan_rows_follow_focus(rows: list[Row]) -> None:
    plan = [r for r in rows if r["CommitmentDiscountId"]]
    assert {r["CommitmentDiscountId"] for r in plan} == {plan[0]["CommitmentDiscountId"]}
    arn = r"arn:aws:savingsplans::111111111111:savingsplan/[0-9a-f-]{36}"
    assert re.fullmatch(arn, plan[0]["CommitmentDiscountId"])
    purchases = [r for r in plan if r["ChargeCategory"] == "Purchase"]
    assert len(purchases) == 744 and len({r["ChargePeriodStart"] for r in purchases}) == 744
    for r in plan:
        assert (r["CommitmentDiscountType"], r["CommitmentDiscountCategory"]) == ("Savings Plan", "Spend")
        if r["ChargeCategory"] == "Purchase":
            assert r["ChargeFrequency"] == "Recurring" and dec(r["EffectiveCost"]) == 0
            assert dec(r["BilledCost"]) == dec(r["ListCost"]) == dec(r["ContractedCost"]) > 0
        elif r["CommitmentDiscountStatus"] == "Used":
            assert r["PricingCategory"] == "Committed" and dec(r["BilledCost"]) == 0
            at_plan_rate = dec(r["ListCost"]) * demo.SP_RATE
            if dec(r["ConsumedQuantity"]) == 1:
                assert dec(r["EffectiveCost"]) == at_plan_rate
            else:  # the hour's last covered instance: the rest of the commitment, its quantity rounded down
                assert 0 <= dec(r["EffectiveCost"]) - at_plan_rate < Decimal("0.0001")
            assert r["ResourceId"].startswith("i-0")
        else:
            assert r["CommitmentDiscountStatus"] == "Unused" and r["ResourceId"] == r["CommitmentDiscountId"]
            assert dec(r["BilledCost"]) == 0 < dec(r["EffectiveCost"])


def test_each_hour_of_the_plan_adds_up(rows: list[Row]) -> None:
    """Per hour: covered usage plus unused equals that hour's commitment, and nothing is covered past it."""
    hours: dict[str, Decimal] = {}
    fee = Decimal(0)
    for r in rows:
        if r["ChargeCategory"] == "Purchase" and r["CommitmentDiscountId"]:
            fee = dec(r["BilledCost"])
        elif r["CommitmentDiscountId"]:
            hours[r["ChargePeriodStart"]] = hours.get(r["ChargePeriodStart"], Decimal(0)) + dec(r["EffectiveCost"])
    assert len(hours) == 744 and set(hours.values()) == {fee}


def test_every_row_follows_the_focus_rules(rows: list[Row]) -> None:
    categories: dict[str, set[str]] = {}
    for r in rows:
        for name in MONEY:
            dec(r[name])
        assert r["ChargeCategory"] in focus.CHARGE_CATEGORIES and r["ChargeClass"] == ""
        assert r["ChargeFrequency"] in focus.CHARGE_FREQUENCIES
        assert (r["BillingPeriodStart"], r["BillingPeriodEnd"]) == ("2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z")
        assert STAMP.match(r["ChargePeriodStart"]) and STAMP.match(r["ChargePeriodEnd"])
        assert r["BillingPeriodStart"] <= r["ChargePeriodStart"] < r["ChargePeriodEnd"] <= r["BillingPeriodEnd"]
        measured = r["ChargeCategory"] == "Usage" and r["CommitmentDiscountStatus"] != "Unused"
        assert bool(r["ConsumedQuantity"]) == bool(r["ConsumedUnit"]) == measured, r
        for price, cost in (("ListUnitPrice", "ListCost"), ("ContractedUnitPrice", "ContractedCost")):
            if r[price] and r["PricingQuantity"]:
                assert dec(r[price]) * dec(r["PricingQuantity"]) == dec(r[cost]), r
        if not r["CommitmentDiscountId"]:
            assert dec(r["BilledCost"]) == dec(r["EffectiveCost"]), r
        for unit in ("PricingUnit", "ConsumedUnit"):
            assert r[unit] in UNITS or r[unit] == "", r[unit]
        if r["Tags"]:
            parsed = json.loads(r["Tags"])
            assert isinstance(parsed, dict) and all(isinstance(v, str) for v in parsed.values())
            assert json.dumps(parsed, sort_keys=True, separators=(",", ":")) == r["Tags"]
        assert r["BillingCurrency"] == "USD" and r["ServiceName"] and r["ServiceSubcategory"]
        categories.setdefault(r["ServiceName"], set()).add(r["ServiceCategory"])
    assert all(len(c) == 1 for c in categories.values()), categories


def test_month_end_rows(rows: list[Row]) -> None:
    by_category: dict[str, list[Row]] = {}
    for r in rows:
        by_category.setdefault(r["ChargeCategory"], []).append(r)
    taxed = sorted(r["SubAccountId"] for r in by_category["Tax"])
    assert taxed == ["111111111111", "222222222222", "333333333333", "444444444444", "acme-research", "acme-serving"]
    (credit,) = by_category["Credit"]
    assert credit["ProviderName"] == "Google Cloud" and dec(credit["BilledCost"]) == dec(credit["EffectiveCost"]) < 0
    (support,) = [r for r in by_category["Purchase"] if r["ServiceName"] == "AWS Support (Business)"]
    assert support["ChargeFrequency"] == "Recurring" and dec(support["BilledCost"]) >= 100


def test_the_organisation_is_there(rows: list[Row]) -> None:
    gpu = [r for r in rows if r["x_InstanceType"] and r["ChargeCategory"] == "Usage"]
    assert {
        "p4d.24xlarge",
        "p5.48xlarge",
        "g5.xlarge",
        "g5.12xlarge",
        "a2-highgpu-8g",
        "a3-highgpu-8g",
        "g2-standard-8",
        "ml.p4d.24xlarge",
        "ml.g5.2xlarge",
    } <= {r["x_InstanceType"] for r in gpu}
    tagged = [(r, json.loads(r["Tags"]) if r["Tags"] else {}) for r in gpu]
    runs = {t["training_run"] for _, t in tagged if "training_run" in t}
    assert 20 <= len(runs) <= 40
    assert {t["deployment"] for _, t in tagged if "deployment" in t} >= {"chat-api", "embed-api", "summarize-api"}
    assert any(set(t) == {"team"} for _, t in tagged)  # idle between runs
    assert any(not t for _, t in tagged)  # untagged
    assert any("notebook" in t for _, t in tagged)
    assert "Nvidia Tesla A100 GPU running in Americas" in {r["ChargeDescription"] for r in gpu}


def test_resource_ids_and_usage_types_look_real(rows: list[Row]) -> None:
    ec2 = [r for r in rows if r["ServiceName"] == "Amazon Elastic Compute Cloud"]
    assert all(re.fullmatch(r"i-0[0-9a-f]{16}", r["ResourceId"]) for r in ec2)
    assert all(r["x_Operation"] == "RunInstances" for r in ec2)
    usage_types = {(r["RegionId"], r["x_UsageType"].split(":")[0]) for r in ec2}
    assert usage_types <= {("us-east-1", "BoxUsage"), ("us-west-2", "USW2-BoxUsage")}
    sagemaker = {r["ResourceId"].rsplit("/", 1)[0] for r in rows if r["ServiceName"] == "Amazon SageMaker"}
    assert sagemaker == {
        "arn:aws:sagemaker:us-east-1:222222222222:training-job",
        "arn:aws:sagemaker:us-east-1:333333333333:endpoint",
    }
    gce = [r for r in rows if r["ServiceName"] == "Compute Engine" and r["ResourceId"]]
    assert all(r["ResourceId"].startswith("//compute.googleapis.com/projects/acme-") for r in gce)
    assert all(r["SubAccountId"] in ("acme-research", "acme-serving") for r in gce)


@settings(max_examples=10, deadline=None)
@given(size=st.integers(min_value=2000, max_value=6000), seed=st.integers(min_value=0, max_value=2**32))
def test_any_seed_gives_exact_rows_and_an_amortized_commitment(size: int, seed: int) -> None:
    with tempfile.TemporaryDirectory() as out:
        paths = demo.generate(Path(out), rows=size, seed=seed)
        assert sum(1 for _ in all_rows(paths)) == size
        totals = commitment_totals(paths)
    assert totals["purchase_effective"] == 0
    assert totals["used"] + totals["unused"] == totals["purchase_billed"] > 0
