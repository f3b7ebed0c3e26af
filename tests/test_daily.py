"""The daily aggregates (migration 0006): kept by every load and attribution, equal to what they sum."""

from __future__ import annotations

from tests.conftest import query
from tests.test_allocations import load

BILL = (
    "SELECT x_BatchId, CAST(ChargePeriodStart AS DATE), ServiceName, BillingCurrency, sum(BilledCost), "
    "sum(EffectiveCost), sum(ListCost), count(*) FROM cost_line_items GROUP BY ALL ORDER BY ALL"
)
DAILY = (
    "SELECT batch_id, day, ServiceName, BillingCurrency, sum(billed_cost), sum(effective_cost), sum(list_cost), "
    "CAST(sum(line_items) AS BIGINT) FROM daily_costs GROUP BY ALL ORDER BY ALL"
)
SHARES = (
    "SELECT a.bucket, a.team, a.workload_id, CAST(l.ChargePeriodStart AS DATE), sum(a.effective_cost), "
    "sum(a.billed_cost), count(*) FROM allocations a JOIN cost_line_items l ON l.x_LineItemId = a.line_item_id "
    "GROUP BY ALL ORDER BY ALL"
)
DAILY_SHARES = (
    "SELECT bucket, team, workload_id, day, sum(effective_cost), sum(billed_cost), CAST(sum(allocations) AS BIGINT) "
    "FROM daily_allocations GROUP BY ALL ORDER BY ALL"
)


def test_a_load_keeps_the_daily_totals_of_its_batches(run, db, sample, tmp_path):
    load(run, sample, tmp_path)
    assert query(db, DAILY) == query(db, BILL)
    assert len(query(db, DAILY)) > 50
    total = query(db, "SELECT sum(effective_cost) FROM daily_costs WHERE BillingCurrency = 'USD'")
    assert total == query(db, "SELECT sum(EffectiveCost) FROM cost_line_items WHERE BillingCurrency = 'USD'")


def test_a_restated_month_replaces_its_daily_totals_and_drops_its_attributed_ones(run, db, sample, tmp_path):
    load(run, sample, tmp_path)
    assert run("attribute").exit_code == 0
    assert query(db, DAILY_SHARES) == query(db, SHARES)
    text = sample.read_text().replace('"1.62400000000"', '"1.72400000000"', 1)
    (tmp_path / "restated.csv").write_text(text)
    assert run("collect", "focus", str(tmp_path / "restated.csv")).exit_code == 0
    assert query(db, DAILY) == query(db, BILL)
    batches = query(db, "SELECT DISTINCT batch_id FROM daily_costs ORDER BY 1")
    assert batches == query(db, "SELECT batch_id FROM current_batches ORDER BY 1")
    # The restated batch's allocations are gone, and so are their daily totals.
    assert query(db, DAILY_SHARES) == query(db, SHARES)
    assert run("attribute", "--period", "2024-09").exit_code == 0
    assert query(db, DAILY_SHARES) == query(db, SHARES)
    after = query(db, "SELECT sum(list_cost) FROM daily_allocations")
    assert after == query(db, "SELECT sum(ListCost) FROM cost_line_items")
