"""The demo's GCP half as a Cloud Billing export: collected through gcp-billing it bills and attributes
exactly like the same rows collected as FOCUS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from finops import allocations, config, store
from finops.collect import dcgm, focus, gcp_billing, manifest
from finops.config import AttributionSettings
from finops.demo.files import generate
from finops.demo.gcp_export import export_record, write_gcp_export
from finops.demo.records import generate_records

MONTH = "2026-10"
TOTALS = (
    "SELECT ChargeCategory, count(*), sum(BilledCost), sum(EffectiveCost), sum(ListCost) FROM cost_line_items "
    "GROUP BY 1 ORDER BY 1"
)
# What attribution reads from a line, with the GCP system labels left out of the tags.
LINES = (
    "SELECT ChargeCategory, ChargePeriodStart, ChargePeriodEnd, SubAccountId, ResourceId, ResourceName, ResourceType, "
    "RegionId, SkuId, ServiceName, x_InstanceType, BilledCost, EffectiveCost, ListCost, "
    "map_from_entries(list_filter(map_entries(Tags), lambda e: NOT contains(e.key, 'googleapis.com/'))) "
    "FROM cost_line_items ORDER BY ALL"
)
SHARES = (
    "SELECT bucket, workload_id, team, resource_id, sum(billed_cost), sum(effective_cost), sum(list_cost), "
    "sum(gpu_hours) FROM allocations GROUP BY ALL ORDER BY ALL"
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("demo")
    bills = generate(out, rows=2000, seed=11, month=MONTH)
    records = {p.name.split("-", 1)[0]: p for p in generate_records(out, rows=2000, seed=11, month=MONTH)}
    exports = write_gcp_export(bills, out / "gcp-export")
    gcp_csv = next(p for p in bills if p.name.startswith("gcp-"))
    results = {}
    for name, load in (
        ("focus", lambda con: focus.collect(con, [str(gcp_csv)])),
        ("export", lambda con: gcp_billing.collect(con, [str(p) for p in exports])),
    ):
        con = store.connect(config.Settings(database=out / f"{name}.duckdb"))
        try:
            load(con)
            manifest.collect(con, [str(records["workloads"])])
            dcgm.collect(con, paths=[str(records["dcgm"])])
            allocations.attribute_period(con, MONTH, AttributionSettings())
            results[name] = {q: con.execute(q).fetchall() for q in (TOTALS, LINES, SHARES)}
        finally:
            con.close()
    return {"exports": exports, "results": results}


def test_one_ndjson_export_of_the_gcp_rows(demo: dict[str, Any]) -> None:
    assert [p.name for p in demo["exports"]] == [f"gcp-billing-export-{MONTH}.ndjson"]
    first = demo["exports"][0].read_text(encoding="utf-8").splitlines()[0]
    assert '"invoice":{"month":"202610"}' in first and '"credits":[]' in first


def test_same_totals_per_charge_category(demo: dict[str, Any]) -> None:
    focus_totals, export_totals = (demo["results"][n][TOTALS] for n in ("focus", "export"))
    assert [row[0] for row in export_totals] == ["Credit", "Tax", "Usage"]
    assert export_totals == focus_totals


def test_same_lines_for_attribution(demo: dict[str, Any]) -> None:
    assert demo["results"]["export"][LINES] == demo["results"]["focus"][LINES]


def test_same_allocations(demo: dict[str, Any]) -> None:
    shares = demo["results"]["export"][SHARES]
    assert {row[0] for row in shares} >= {"workload", "idle"}
    assert shares == demo["results"]["focus"][SHARES]


def test_credit_row_becomes_a_credit_only_export_row() -> None:
    row = {
        name: ""
        for name in (
            "AvailabilityZone",
            "ConsumedUnit",
            "PricingQuantity",
            "PricingUnit",
            "ResourceId",
            "ResourceName",
            "RegionId",
            "SkuId",
            "SubAccountName",
            "Tags",
            "x_InstanceType",
        )
    }
    row.update(
        BillingAccountId="01ABCD-234EFG-56789H",
        ServiceName="Compute Engine",
        ChargeCategory="Credit",
        ChargeDescription="Promotional credit",
        BilledCost="-12.34",
        EffectiveCost="-12.34",
        ListCost="-12.34",
        ChargePeriodStart="2026-10-01T00:00:00Z",
        ChargePeriodEnd="2026-11-01T00:00:00Z",
        BillingCurrency="USD",
        BillingPeriodStart="2026-10-01T00:00:00Z",
        SubAccountId="acme-research",
    )
    record = export_record(row)
    assert (record["cost"], record["cost_type"], record["cost_at_list"]) == (0.0, "regular", None)
    assert [(c["amount"], c["type"]) for c in record["credits"]] == [(-12.34, "PROMOTION")]
    with pytest.raises(ValueError, match="more significant digits than a BigQuery FLOAT keeps"):
        export_record(dict(row, BilledCost="0.12345678901234567", EffectiveCost="0.12345678901234567"))


def test_export_loads_through_the_cli(demo: dict[str, Any], run: Any, db: Path) -> None:
    result = run("collect", "gcp-billing", "--path", str(demo["exports"][0].parent), "--format", "csv")
    assert result.exit_code == 0, result.output
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute(TOTALS).fetchall() == demo["results"]["focus"][TOTALS]
    finally:
        con.close()
