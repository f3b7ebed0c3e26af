"""Property tests: loads keep every digit, a reload is a no-op, a restatement replaces exactly its scope."""

from __future__ import annotations

import csv
from decimal import Decimal, localcontext
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finops import config, store
from finops.collect import focus as focus_collector

HEADER = [
    "BillingAccountId",
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ChargeCategory",
    "BillingCurrency",
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "Tags",
]
MONTHS = ["2024-08-01", "2024-09-01", "2024-10-01"]
NEXT = {"2024-08-01": "2024-09-01", "2024-09-01": "2024-10-01", "2024-10-01": "2024-11-01"}

money = st.decimals(
    min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=15, allow_nan=False, allow_infinity=False
)
line = st.tuples(
    st.sampled_from(["111", "222", "0333"]),
    st.sampled_from(MONTHS),
    st.sampled_from(["Usage", "Credit", "Tax", "Purchase"]),
    money,
    money,
    money,
    st.one_of(
        st.none(),
        st.dictionaries(st.text("abcdef-_", min_size=1, max_size=5), st.text(max_size=6), max_size=3),
    ),
)


def write(path: Path, lines: list[tuple]) -> Path:
    import json

    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        for account, month, category, billed, effective, listed, tags in lines:
            writer.writerow(
                [
                    account,
                    month,
                    NEXT[month],
                    month + "T03:00:00Z",
                    month + "T04:00:00Z",
                    category,
                    "USD",
                    str(billed),
                    str(effective),
                    str(listed),
                    "" if tags is None else json.dumps(tags),
                ]
            )
    return path


def exact_sum(values) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 60
        return sum(values, Decimal(0))


def store_state(con) -> list[tuple]:
    return con.execute(
        "SELECT BillingAccountId, strftime(BillingPeriodStart, '%Y-%m-%d'), count(*), sum(BilledCost), "
        "sum(EffectiveCost), sum(ListCost) FROM cost_line_items GROUP BY ALL ORDER BY ALL"
    ).fetchall()


def expected_state(lines: list[tuple]) -> list[tuple]:
    groups: dict[tuple[str, str], list[tuple]] = {}
    for item in lines:
        groups.setdefault((item[0], item[1]), []).append(item)
    return sorted(
        (
            account,
            month,
            len(items),
            exact_sum(i[3] for i in items),
            exact_sum(i[4] for i in items),
            exact_sum(i[5] for i in items),
        )
        for (account, month), items in groups.items()
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=st.lists(line, min_size=1, max_size=25), second=st.lists(line, min_size=1, max_size=25))
def test_sums_are_exact_reload_is_noop_and_restatement_replaces_its_scopes(tmp_path_factory, first, second):
    tmp = tmp_path_factory.mktemp("prop")
    con = store.connect(config.Settings(database=tmp / "s.duckdb"))
    try:
        a = write(tmp / "a.csv", first)
        focus_collector.collect(con, [str(a)])
        assert store_state(con) == expected_state(first)

        before = con.execute("SELECT x_LineItemId, BilledCost FROM cost_line_items ORDER BY 1").fetchall()
        report = focus_collector.collect(con, [str(a)])
        assert {s.action for s in report.scopes} == {"unchanged"}
        assert con.execute("SELECT x_LineItemId, BilledCost FROM cost_line_items ORDER BY 1").fetchall() == before

        # A second file restates the scopes it holds; scopes only in the first stay as they were.
        b = write(tmp / "b.csv", second)
        focus_collector.collect(con, [str(b)])
        restated = {(i[0], i[1]) for i in second}
        kept = [i for i in first if (i[0], i[1]) not in restated]
        assert store_state(con) == expected_state(kept + second)
        batches = con.execute("SELECT sum(row_count), sum(billed_cost) FROM current_batches").fetchone()
        assert batches == (len(kept) + len(second), exact_sum(i[3] for i in kept + second))
    finally:
        con.close()
