"""The hand-computed worked examples of fixtures/attribution/ through the real commands, to the last digit."""

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
    }


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
