"""The hand-computed worked examples of fixtures/attribution/ through the real commands, to the last digit.

Each case's expected.csv holds its money rows; a case with a gpu_hours.csv also states its paid GPU-hours.
"""

from __future__ import annotations

import csv
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, query

CASES = sorted(p for p in (FIXTURES / "attribution").iterdir() if (p / "expected.csv").is_file())


def expected_rows(case: Path) -> Counter:
    with (case / "expected.csv").open(newline="") as fh:
        return Counter(
            (
                r["line"],
                r["bucket"],
                r["workload_id"],
                r["team"],
                Decimal(r["billed_cost"]),
                Decimal(r["effective_cost"]),
                Decimal(r["list_cost"]),
            )
            for r in csv.DictReader(fh)
        )


def test_there_are_worked_examples():
    assert {c.name for c in CASES} >= {
        "shared-node",
        "quarter-hour",
        "sagemaker-arn",
        "endpoint-lifetime",
        "savings-plan",
        "credit",
        "shared-support",
        "spot-interrupted",
        "endpoint-reused",
    }
    assert {c.name for c in CASES if (c / "gpu_hours.csv").is_file()} >= {"spot-interrupted", "endpoint-reused"}


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_worked_example(run, db, case):
    assert run("collect", "focus", str(case / "bill.csv")).exit_code == 0
    assert run("collect", "workloads", str(case / "workloads.csv")).exit_code == 0
    result = run("attribute", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = query(
        db,
        "SELECT li.x_Extras['x_Label'], a.bucket, coalesce(a.workload_id, ''), coalesce(a.team, ''), a.billed_cost, "
        "a.effective_cost, a.list_cost FROM allocations a JOIN cost_line_items li ON li.x_LineItemId = a.line_item_id "
        "WHERE NOT (a.billed_cost = 0 AND a.effective_cost = 0 AND coalesce(a.list_cost, 0) = 0)",
    )
    assert Counter(rows) == expected_rows(case)
    gpu_hours = case / "gpu_hours.csv"
    if gpu_hours.is_file():
        with gpu_hours.open(newline="") as fh:
            expected = Counter(
                (r["line"], r["bucket"], r["workload_id"], Decimal(r["gpu_hours"])) for r in csv.DictReader(fh)
            )
        paid = query(
            db,
            "SELECT li.x_Extras['x_Label'], a.bucket, coalesce(a.workload_id, ''), a.gpu_hours FROM allocations a "
            "JOIN cost_line_items li ON li.x_LineItemId = a.line_item_id WHERE a.gpu_hours IS NOT NULL",
        )
        assert Counter(paid) == expected
