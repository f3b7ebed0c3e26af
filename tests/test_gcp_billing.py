"""GCP billing export from saved files: FOCUS mapping to the cent, formats, late rows, bad input."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finops import config, store
from finops.collect import gcp_billing
from finops.errors import InputError
from tests import gcpfake
from tests.conftest import FIXTURES, one_line_error, query, snapshot

EXPORT = FIXTURES / "gcp" / "billing-export-detailed.ndjson"
ACCOUNT = "012345-6789AB-CDEF01"
CONTENT = (
    "SELECT * EXCLUDE (x_BatchId, x_LineItemId) FROM cost_line_items "
    "ORDER BY BillingPeriodStart, ChargePeriodStart, SkuId, BilledCost, ChargeCategory"
)


def _write_ndjson(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def _flatten(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A record as a flattened CSV row: dotted names, lists of records as JSON text."""
    flat: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        elif isinstance(value, list):
            flat[f"{prefix}{key}"] = json.dumps(value)
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _to_csv(ndjson: Path, out: Path) -> Path:
    import csv

    rows = [_flatten(r) for r in gcpfake.export_rows(ndjson)]
    header = sorted({k for r in rows for k in r})
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, header)
        writer.writeheader()
        writer.writerows([{k: ("" if v is None else v) for k, v in r.items()} for r in rows])
    return out


def test_fixture_loads_with_exact_focus_totals(con: duckdb.DuckDBPyConnection) -> None:
    report = gcp_billing.collect(con, [str(EXPORT)])
    scopes = {(s.billing_account_id, f"{s.billing_period_start:%Y-%m}"): s for s in report.scopes}
    assert set(scopes) == {(ACCOUNT, "2024-12"), (ACCOUNT, "2025-01")}
    january = scopes[(ACCOUNT, "2025-01")]
    # cost 11.216622 + credits (-3.52069 CUD, -0.295791 SUD, -1.25 promotion, -0.0835 spend CUD, -2 free tier)
    assert (january.rows, january.billed_cost, january.effective_cost) == (10, Decimal("4.066641"), Decimal("4.066641"))
    assert january.list_cost == Decimal("9.216622")  # cost_at_list or cost; the credit-only row at its credit
    by_category = con.execute(
        "SELECT ChargeCategory, count(*), sum(BilledCost), sum(EffectiveCost), sum(ListCost), sum(ContractedCost) "
        "FROM cost_line_items WHERE BillingPeriodStart = '2025-01-01' GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert by_category == [
        ("Adjustment", 2, Decimal("-0.419996"), Decimal("-0.419996"), Decimal("-0.419996"), Decimal("-0.419996")),
        ("Credit", 1, Decimal("-2"), Decimal("-2"), Decimal("-2"), Decimal("0")),
        # The hour's CUD fee is amortised onto the A100 usage its commitment covered.
        ("Purchase", 1, Decimal("2.112348"), Decimal(0), Decimal("2.112348"), Decimal("2.112348")),
        ("Tax", 1, Decimal("0.51"), Decimal("0.51"), Decimal("0.51"), Decimal("0.51")),
        ("Usage", 5, Decimal("3.864289"), Decimal("5.976637"), Decimal("9.014270"), Decimal("9.014270")),
    ]
    credits = con.execute(
        "SELECT e.key, sum(CAST(e.value AS DECIMAL(38, 18))) FROM cost_line_items, "
        "unnest(map_entries(x_Extras)) AS t(e) WHERE starts_with(e.key, 'credit:') GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert credits == [
        ("credit:COMMITTED_USAGE_DISCOUNT", Decimal("-3.52069")),
        ("credit:COMMITTED_USAGE_DISCOUNT_DOLLAR_BASE", Decimal("-0.0835")),
        ("credit:FREE_TIER", Decimal("-2")),
        ("credit:PROMOTION", Decimal("-1.25")),
        ("credit:SUSTAINED_USAGE_DISCOUNT", Decimal("-0.295791")),
    ]


def test_fixture_line_attribution_columns(con: duckdb.DuckDBPyConnection) -> None:
    gcp_billing.collect(con, [str(EXPORT)])
    gpu, core = con.execute(
        "SELECT ResourceId, ResourceName, SubAccountId, RegionId, AvailabilityZone, x_InstanceType, x_GpuCount, "
        "x_GpuModel, ConsumedQuantity, ConsumedUnit, PricingQuantity, PricingUnit, CommitmentDiscountId, "
        "CommitmentDiscountStatus, Tags['training-run'], Tags['team'] FROM cost_line_items "
        "WHERE BillingPeriodStart = '2025-01-01' AND ChargeDescription IN "
        "('Nvidia Tesla A100 GPU running in Americas', 'A2 Instance Core running in Americas') "
        "AND ChargeCategory = 'Usage' AND BilledCost > 0 ORDER BY ChargeDescription DESC"
    ).fetchall()
    instance = "//compute.googleapis.com/projects/ml-train/zones/us-central1-a/instances/4417738263127563141"
    assert gpu == (
        instance,
        "trainer-1",
        "ml-train",
        "us-central1",
        "us-central1-a",
        None,
        Decimal(2),
        "A100",
        Decimal(7200),
        "seconds",
        Decimal(2),
        "hour",
        "projects/ml-train/regions/us-central1/commitments/a100-1y",
        "Used",
        "run-42",
        "nlp",
    )
    assert core[5:8] == ("a2-highgpu-2g", Decimal(2), "A100")  # machine_spec system label -> static catalogue
    gke = con.execute(
        "SELECT Tags, CommitmentDiscountCategory, ServiceCategory FROM cost_line_items "
        "WHERE ServiceName = 'Kubernetes Engine'"
    ).fetchone()
    assert gke is not None
    assert gke[0]["k8s-namespace"] == "inference" and gke[0]["k8s-label/app"] == "llm-gateway"
    assert gke[0]["team"] == "platform"  # inherited from the project's labels
    assert gke[1:] == ("Spend", "Compute")
    fee = con.execute(
        "SELECT ChargeCategory, ChargeFrequency, CommitmentDiscountId, CommitmentDiscountCategory "
        "FROM cost_line_items WHERE starts_with(ChargeDescription, 'Commitment')"
    ).fetchone()
    assert fee == ("Purchase", "Recurring", "D3E1-7C2A-11B4", "Usage")


def test_ndjson_parquet_and_csv_load_identical_rows(tmp_path: Path) -> None:
    parquet = gcpfake.to_parquet(EXPORT, tmp_path / "export.parquet")
    flattened = _to_csv(EXPORT, tmp_path / "export.csv")
    contents = []
    for name, path in (("ndjson", EXPORT), ("parquet", parquet), ("csv", flattened)):
        con = store.connect(config.Settings(database=tmp_path / f"{name}.duckdb"))
        try:
            gcp_billing.collect(con, [str(path)])
            contents.append(con.execute(CONTENT).fetchall())
        finally:
            con.close()
    assert len(contents[0]) == 11
    assert contents[0] == contents[1] == contents[2]


def test_late_rows_replace_only_their_month(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    gcp_billing.collect(con, [str(EXPORT)])
    records = [r for r in gcpfake.export_rows(EXPORT) if r["invoice"]["month"] == "202501"]
    late = dict(
        records[1],
        cost=0.1,
        credits=[],
        usage_start_time="2025-01-31 23:00:00 UTC",
        usage_end_time="2025-02-01 00:00:00 UTC",
        export_time="2025-02-03 04:00:00 UTC",
    )
    later = _write_ndjson(tmp_path / "later.ndjson", [*records, late])
    report = gcp_billing.collect(con, [str(later)])
    assert [(s.action, f"{s.billing_period_start:%Y-%m}", s.rows, s.billed_cost) for s in report.scopes] == [
        ("replaced", "2025-01", 11, Decimal("4.166641"))
    ]
    assert con.execute(
        "SELECT strftime(BillingPeriodStart, '%Y-%m'), count(*), sum(BilledCost) FROM cost_line_items "
        "GROUP BY 1 ORDER BY 1"
    ).fetchall() == [("2024-12", 1, Decimal(1)), ("2025-01", 11, Decimal("4.166641"))]
    again = gcp_billing.collect(con, [str(later)])
    assert [s.action for s in again.scopes] == ["unchanged"]


def test_period_keeps_only_that_invoice_month(con: duckdb.DuckDBPyConnection) -> None:
    report = gcp_billing.collect(con, [str(EXPORT)], months=gcp_billing.invoice_months(["2024-12"]))
    assert [(f"{s.billing_period_start:%Y-%m}", s.rows, s.billed_cost) for s in report.scopes] == [
        ("2024-12", 1, Decimal(1))
    ]


def test_default_invoice_months_are_this_and_the_previous() -> None:
    from datetime import date

    assert gcp_billing.invoice_months([], today=date(2025, 1, 3)) == ["202412", "202501"]
    assert gcp_billing.invoice_months(["2025-02", "2024-11", "2025-02"]) == ["202411", "202502"]


def _bad(tmp_path: Path, edit: Callable[[list[str]], list[str]], name: str = "bad.ndjson") -> Path:
    lines = EXPORT.read_text(encoding="utf-8").splitlines()
    path = tmp_path / name
    path.write_text("\n".join(edit(lines)) + "\n", encoding="utf-8")
    return path


def test_malformed_ndjson_line_is_named_and_store_unchanged(run: Any, db: Path, tmp_path: Path) -> None:
    assert run("collect", "gcp-billing", "--path", str(EXPORT), "--format", "csv").exit_code == 0
    before = snapshot(db)
    bad = _bad(tmp_path, lambda lines: [*lines[:6], lines[6][:-2], *lines[7:]])
    message = one_line_error(run("collect", "gcp-billing", "--path", str(bad)))
    assert f"{bad} line 7: not valid JSON" in message
    assert snapshot(db) == before


def test_field_of_the_wrong_shape_names_its_line(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    records = gcpfake.export_rows(EXPORT)
    records[3]["labels"] = "team=nlp"
    path = _write_ndjson(tmp_path / "shape.ndjson", records)
    with pytest.raises(
        InputError, match=r"shape\.ndjson line 4: labels must be a list of records .*, not \"team=nlp\""
    ):
        gcp_billing.collect(con, [str(path)])


def test_file_without_billing_columns(run: Any, db: Path, tmp_path: Path) -> None:
    other = _write_ndjson(tmp_path / "audit.ndjson", [{"protoPayload": {"methodName": "x"}, "timestamp": "2025"}])
    message = one_line_error(run("collect", "gcp-billing", "--path", str(other)))
    assert (
        "not a Cloud Billing export (no billing_account_id, cost, currency, invoice.month, usage_start_time)" in message
    )
    assert snapshot(db) == ("no store",) or query(db, "SELECT count(*) FROM cost_line_items") == [(0,)]


def test_mixed_currencies_across_accounts_is_an_error(run: Any, db: Path, tmp_path: Path) -> None:
    assert run("collect", "gcp-billing", "--path", str(EXPORT), "--format", "csv").exit_code == 0
    before = snapshot(db)
    records = gcpfake.export_rows(EXPORT)
    euro = [dict(r, billing_account_id="0AAAAA-BBBBBB-CCCCCC", currency="EUR") for r in records[:2]]
    path = _write_ndjson(tmp_path / "two-accounts.ndjson", records + euro)
    message = one_line_error(run("collect", "gcp-billing", "--path", str(path)))
    assert message == (
        "Error: the export mixes currencies across billing accounts (EUR: 0AAAAA-BBBBBB-CCCCCC; USD: "
        "012345-6789AB-CDEF01); finops never adds two currencies, so load each billing account's export with its "
        "own command (one table or file set each)"
    )
    assert snapshot(db) == before


KOKU_CSV = """\
billing_account_id,service.id,service.description,sku.id,sku.description,usage_start_time,usage_end_time,project.id,project.name,project.labels,labels,system_labels,location.location,location.country,location.region,location.zone,export_time,cost,currency,currency_conversion_rate,usage.amount,usage.unit,usage.amount_in_pricing_units,usage.pricing_unit,credits,invoice.month,cost_type
01AAAA-BBBBBB-CCCCCC,6F81-5844-456A,Compute Engine,D973-5D65-BAB2,Storage PD Capacity,2020-10-01 00:00:00+00:00,2020-10-01 01:00:00+00:00,koku-1,koku-1,[],[],[],us-east4,US,us-east4,,2020-10-01 07:29:23.911+00:00,0.000231,USD,1.0,2222829312.0,byte-seconds,0.0005750223994255066,gibibyte month,"[{'name': 'FreeTrial:Credit-019A2D', 'amount': -0.000231, 'full_name': None, 'id': 'FreeTrial', 'type': 'FREE_TRIAL'}]",202010,regular
01AAAA-BBBBBB-CCCCCC,6F81-5844-456A,Compute Engine,D973-5D65-BAB2,Storage PD Capacity,2020-10-01 01:00:00+00:00,2020-10-01 02:00:00+00:00,koku-1,koku-1,[],"[{'key': 'app', 'value': 'web'}]",[],us-east4,US,us-east4,,2020-10-01 07:29:23.911+00:00,0.5,USD,1.0,2222829312.0,byte-seconds,0.0005750223994255066,gibibyte month,[],202010,regular
"""


def test_koku_style_flattened_csv(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    """Dotted names and Python-repr lists, as project-koku flattens the standard export."""
    path = tmp_path / "2020-10-01_5.csv"
    path.write_text(KOKU_CSV, encoding="utf-8")
    report = gcp_billing.collect(con, [str(path)])
    assert [(f"{s.billing_period_start:%Y-%m}", s.rows, s.billed_cost) for s in report.scopes] == [
        ("2020-10", 2, Decimal("0.5"))
    ]
    assert con.execute("SELECT Tags, x_Extras FROM cost_line_items ORDER BY ChargePeriodStart").fetchall() == [
        (None, {"credit:FREE_TRIAL": "-0.000231"}),
        ({"app": "web"}, None),
    ]


def test_gzipped_ndjson(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    import gzip

    path = tmp_path / "export.json.gz"
    path.write_bytes(gzip.compress(EXPORT.read_bytes()))
    report = gcp_billing.collect(con, [str(tmp_path)])
    assert [(s.rows, s.billed_cost) for s in report.scopes] == [(1, Decimal(1)), (10, Decimal("4.066641"))]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"cost": "12,3.4"}, "row 2: cost: '12,3.4' is not a number"),
        ({"invoice": {"month": "2025-01"}}, "row 2: invoice.month: '2025-01' is not a month like 202501"),
        ({"currency": None}, "row 2: currency: '' is not an ISO 4217 code such as USD"),
        ({"credits": [{"name": "x", "amount": "lots", "type": "PROMOTION"}]}, "row 2: credits.amount: 'lots'"),
    ],
)
def test_bad_value_names_row_and_field(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, change: dict[str, Any], expected: str
) -> None:
    records = gcpfake.export_rows(EXPORT)
    records[1] = {**records[1], **change}
    path = _write_ndjson(tmp_path / "bad-value.ndjson", records)
    with pytest.raises(InputError, match="^" + str(path).replace(".", r"\.") + " " + _escape(expected)):
        gcp_billing.collect(con, [str(path)])


def _escape(text: str) -> str:
    import re

    return re.escape(text)


def test_cli_loads_files_and_reports_scopes(run: Any) -> None:
    result = run("collect", "gcp-billing", "--path", str(EXPORT), "--format", "csv")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("action,provider,billing_account_id,billing_period,currency,rows,billed_cost")
    assert lines[1:] == [
        "loaded,gcp,012345-6789AB-CDEF01,2024-12,USD,1,1,1,1",
        "loaded,gcp,012345-6789AB-CDEF01,2025-01,USD,10,4.066641,4.066641,2",
    ]


def test_cli_needs_exactly_one_source(run: Any) -> None:
    assert "give --bigquery" in one_line_error(run("collect", "gcp-billing"))
    both = run("collect", "gcp-billing", "--path", str(EXPORT), "--bigquery", "p.d.t")
    assert "not both" in one_line_error(both)


_money = st.decimals(min_value=Decimal("-50"), max_value=Decimal("500"), places=6, allow_nan=False)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(_money, st.lists(_money.map(lambda d: -abs(d)), max_size=3)), min_size=1, max_size=6))
def test_billed_cost_is_cost_plus_credits_and_reload_is_a_no_op(
    tmp_path_factory: pytest.TempPathFactory, lines: list[tuple[Decimal, list[Decimal]]]
) -> None:
    folder = tmp_path_factory.mktemp("prop")
    base = gcpfake.export_rows(EXPORT)[1]
    records = [
        dict(base, cost=str(cost), credits=[{"name": "c", "amount": str(a), "type": "PROMOTION"} for a in credits])
        for cost, credits in lines
    ]
    # Amounts as JSON text exactly as written (strings are numbers' text to the reader).
    path = folder / "p.ndjson"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    con = store.connect(config.Settings(database=folder / "s.duckdb"))
    try:
        first = gcp_billing.collect(con, [str(path)])
        total = sum((cost + sum(credits, Decimal(0)) for cost, credits in lines), Decimal(0))
        assert sum(s.billed_cost for s in first.scopes) == total
        before = con.execute(CONTENT).fetchall()
        second = gcp_billing.collect(con, [str(path)])
        assert {s.action for s in second.scopes} == {"unchanged"}
        assert con.execute(CONTENT).fetchall() == before
    finally:
        con.close()


def _cud_hour(fees: list[str], credits: list[str], hour: str = "2025-01-10 08:00:00 UTC") -> list[dict[str, Any]]:
    """Commitment fee rows and CUD-covered usage rows of one hour, from the fixture's GPU and fee rows."""
    usage, fee = gcpfake.export_rows(EXPORT)[0], gcpfake.export_rows(EXPORT)[3]
    end = hour.replace(":00:00", ":59:59")
    rows = [dict(fee, cost=c, usage_start_time=hour, usage_end_time=end) for c in fees]
    for i, amount in enumerate(credits):
        credit = dict(usage["credits"][0], amount=amount)
        rows.append(
            dict(
                usage,
                cost="5",
                credits=[credit],
                usage_start_time=hour,
                usage_end_time=end,
                resource={"name": f"vm-{i}", "global_name": f"//compute.googleapis.com/vm-{i}"},
            )
        )
    return rows


def test_commitment_fees_amortised_over_covered_usage(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    records = _cud_hour(["0.6", "0.4"], ["-1", "-2", "-4"]) + _cud_hour(["0.25"], [], "2025-01-10 09:00:00 UTC")
    gcp_billing.collect(con, [str(_write_ndjson(tmp_path / "cud.ndjson", records))])
    rows = con.execute(
        "SELECT ChargeCategory, ChargePeriodStart, BilledCost, EffectiveCost FROM cost_line_items "
        "ORDER BY ChargePeriodStart, ChargeCategory, BilledCost DESC"
    ).fetchall()
    assert [(r[0], f"{r[1]:%H}", r[2], r[3]) for r in rows] == [
        ("Purchase", "08", Decimal("0.6"), Decimal(0)),
        ("Purchase", "08", Decimal("0.4"), Decimal(0)),
        ("Usage", "08", Decimal(4), Decimal("4.142857142857")),  # 1/7 of the 1.0 fee
        ("Usage", "08", Decimal(3), Decimal("3.285714285714")),  # 2/7
        ("Usage", "08", Decimal(1), Decimal("1.571428571429")),  # 4/7, with the remainder unit
        ("Purchase", "09", Decimal("0.25"), Decimal("0.25")),  # nothing covered: unused commitment keeps its fee
    ]
    assert con.execute("SELECT sum(BilledCost) = sum(EffectiveCost) FROM cost_line_items").fetchall() == [(True,)]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("900"), places=6), min_size=1, max_size=3),
    st.lists(st.decimals(min_value=Decimal("-900"), max_value=Decimal("-0.000001"), places=6), max_size=4),
)
def test_amortisation_conserves_cost(
    tmp_path_factory: pytest.TempPathFactory, fees: list[Decimal], credits: list[Decimal]
) -> None:
    folder = tmp_path_factory.mktemp("cud")
    path = _write_ndjson(folder / "cud.ndjson", _cud_hour([str(f) for f in fees], [str(c) for c in credits]))
    con = store.connect(config.Settings(database=folder / "s.duckdb"))
    try:
        gcp_billing.collect(con, [str(path)])
        billed, effective, fee_left, lowest_share = con.execute(
            "SELECT sum(BilledCost), sum(EffectiveCost), sum(EffectiveCost) FILTER (ChargeCategory = 'Purchase'), "
            "min(EffectiveCost - BilledCost) FILTER (ChargeCategory = 'Usage') FROM cost_line_items"
        ).fetchone()
        assert effective == billed
        assert fee_left == (0 if credits else sum(fees))
        assert lowest_share is None or lowest_share >= 0
    finally:
        con.close()
