"""`finops collect focus`: exact totals on the public sample, restatement semantics, and bad input."""

from __future__ import annotations

import csv
import gzip
import io
from decimal import Decimal, localcontext
from pathlib import Path

import duckdb
import pytest

from finops import focus, store
from finops.collect import focus as focus_collector
from finops.errors import InputError
from tests.conftest import FIXTURES, one_line_error, query, snapshot

SAMPLE_BILLED = Decimal("20.520226728990")
SAMPLE_EFFECTIVE = Decimal("14.976514185860")
SAMPLE_LIST = Decimal("20.390905751190")


def totals(db: Path) -> tuple[int, Decimal, Decimal, Decimal]:
    rows = query(db, "SELECT count(*), sum(BilledCost), sum(EffectiveCost), sum(ListCost) FROM cost_line_items")
    return rows[0]


def read_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def write_rows(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return path


# --- the public FOCUS 1.0 sample: the figures of ../shared/data/SOURCES.md ---------------------------


def test_sample_loads_with_exact_totals(run, db, sample):
    result = run("collect", "focus", str(sample), "--format", "csv")
    assert result.exit_code == 0, result.output
    assert "ignoring non-FOCUS column(s) Id" in result.stderr
    assert totals(db) == (1000, SAMPLE_BILLED, SAMPLE_EFFECTIVE, SAMPLE_LIST)
    by_provider = query(db, "SELECT ProviderName, count(*), sum(BilledCost) FROM cost_line_items GROUP BY 1 ORDER BY 1")
    assert by_provider == [
        ("AWS", 942, Decimal("18.006638618400")),
        ("Microsoft", 51, Decimal("1.976514185860")),
        ("Oracle", 7, Decimal("0.537073924730")),
    ]
    categories = query(db, "SELECT ChargeCategory, count(*) FROM cost_line_items GROUP BY 1 ORDER BY 1")
    assert categories == [("Adjustment", 2), ("Credit", 1), ("Usage", 997)]
    assert query(db, "SELECT DISTINCT BillingCurrency FROM cost_line_items") == [("USD",)]


def test_sample_keeps_ids_as_text_and_tags_as_map(run, db, sample):
    run("collect", "focus", str(sample))
    assert query(db, "SELECT DISTINCT BillingAccountId FROM cost_line_items WHERE ProviderName = 'AWS'") == [
        ("1234567890123",)
    ]
    assert query(db, "SELECT typeof(SubAccountId), typeof(Tags) FROM cost_line_items LIMIT 1") == [
        ("VARCHAR", "MAP(VARCHAR, VARCHAR)")
    ]
    environments = query(
        db,
        "SELECT Tags['environment'] AS e, count(*) FROM cost_line_items WHERE e IS NOT NULL GROUP BY 1 ORDER BY 1",
    )
    assert environments == [("dev", 426), ("prod", 234)]
    assert query(db, "SELECT count(*) FROM cost_line_items WHERE Tags IS NOT NULL") == [(711,)]
    # The literal NULL is a null, never the text 'NULL'; '' PricingCategory is null too.
    assert query(db, "SELECT count(*) FROM cost_line_items WHERE ChargeClass IS NOT NULL OR ResourceName = 'NULL'") == [
        (0,)
    ]
    assert query(db, "SELECT PricingCategory, count(*) FROM cost_line_items GROUP BY 1 ORDER BY 1 NULLS LAST") == [
        ("Committed", 4),
        ("Other", 1),
        ("Standard", 988),
        (None, 7),
    ]
    # 'Usage-based' (wrong case in the sample) is normalised to the FOCUS value.
    assert query(db, "SELECT DISTINCT ChargeFrequency FROM cost_line_items ORDER BY 1") == [
        ("One-Time",),
        ("Usage-Based",),
    ]


def test_sample_scopes_and_batches(run, db, sample):
    run("collect", "focus", str(sample))
    batches = query(
        db,
        "SELECT provider, billing_account_id, strftime(billing_period_start, '%Y-%m'), row_count, billed_cost "
        "FROM ingest_batches ORDER BY billing_period_start, billing_account_id",
    )
    assert batches == [
        (
            "azure",
            "/providers/Microsoft.Billing/billingAccounts/8611537",
            "2024-09",
            51,
            Decimal("1.976514185860"),
        ),
        ("aws", "1234567890123", "2024-09", 942, Decimal("18.006638618400")),
        ("oci", "20209880", "2024-09", 6, Decimal("0.297073924730")),
        ("oci", "20209880", "2024-10", 1, Decimal("0.240000000000")),
    ]
    # Every line item's id encodes its batch, and ids are unique.
    assert query(
        db,
        "SELECT count(DISTINCT x_LineItemId), count(*) FILTER (WHERE x_LineItemId // 10000000000 <> "
        "x_BatchId) FROM cost_line_items",
    ) == [(1000, 0)]


def test_reloading_the_same_file_changes_nothing(run, db, sample):
    run("collect", "focus", str(sample))
    before = snapshot(db)
    result = run("collect", "focus", str(sample), "--format", "csv")
    assert result.exit_code == 0
    assert [line.split(",")[0] for line in result.stdout.splitlines()[1:]] == ["unchanged"] * 4
    after = snapshot(db)
    assert after[0] == before[0] and after[1] == before[1]  # rows, sums, ids and batches identical
    assert totals(db) == (1000, SAMPLE_BILLED, SAMPLE_EFFECTIVE, SAMPLE_LIST)


def test_a_modified_copy_replaces_its_scope_and_only_it(run, db, sample, tmp_path):
    run("collect", "focus", str(sample))
    rows = read_rows(sample)
    billed, provider = rows[0].index("BilledCost"), rows[0].index("ProviderName")
    aws = [i for i, r in enumerate(rows) if r[provider] == "AWS"]
    rows[aws[0]][billed] = str(Decimal(rows[aws[0]][billed]) + Decimal("1.5"))
    dropped = Decimal(rows.pop(aws[-1])[billed])
    copy = write_rows(tmp_path / "restated.csv", rows)
    result = run("collect", "focus", str(copy), "--format", "csv")
    assert result.exit_code == 0, result.output
    actions = {line.split(",")[2]: line.split(",")[0] for line in result.stdout.splitlines()[1:]}
    assert actions == {
        "1234567890123": "replaced",
        "/providers/Microsoft.Billing/billingAccounts/8611537": "unchanged",
        "20209880": "unchanged",
    }
    count, billed_total, _, _ = totals(db)
    assert (count, billed_total) == (999, SAMPLE_BILLED + Decimal("1.5") - dropped)
    assert query(db, "SELECT count(*), count(replaced_batch_id) FROM ingest_batches") == [(5, 1)]
    assert query(db, "SELECT count(*) FROM current_batches") == [(4,)]


def test_loading_the_original_again_restores_it(run, db, sample, tmp_path):
    run("collect", "focus", str(sample))
    rows = read_rows(sample)
    rows[1][rows[0].index("BilledCost")] = "100"
    run("collect", "focus", str(write_rows(tmp_path / "changed.csv", rows)))
    assert totals(db)[1] != SAMPLE_BILLED
    result = run("collect", "focus", str(sample))
    assert result.exit_code == 0
    assert totals(db) == (1000, SAMPLE_BILLED, SAMPLE_EFFECTIVE, SAMPLE_LIST)


def test_a_load_without_an_account_keeps_its_rows_and_says_so(run, db, sample, tmp_path):
    run("collect", "focus", str(sample))
    rows = read_rows(sample)
    start, provider = rows[0].index("BillingPeriodStart"), rows[0].index("ProviderName")
    september = [r for r in rows[1:] if r[start].startswith("2024-09") and r[provider] != "Microsoft"]
    copy = write_rows(tmp_path / "september-without-microsoft.csv", [rows[0], *september])
    kept = (
        "notice: 2024-09: the store also holds billing account(s) /providers/Microsoft.Billing/billingAccounts/8611537 "
        "(azure) of source focus from earlier loads that these files do not include; they are kept (a load replaces "
        "only the billing accounts it holds)"
    )
    ignoring = f"notice: {copy}: ignoring non-FOCUS column(s) Id (custom columns are kept when named x_…)"
    for expected in ([ignoring, kept], [kept]):  # the second run finds the same files: unchanged, same notice
        result = run("collect", "focus", str(copy), "--format", "csv")
        assert result.exit_code == 0, result.output
        assert result.stderr.splitlines() == expected
        actions = {line.split(",")[2]: line.split(",")[0] for line in result.stdout.splitlines()[1:]}
        assert actions == {"1234567890123": "unchanged", "20209880": "unchanged"}
    # As documented: a load replaces only the scopes it holds; Microsoft's September and October stay.
    assert totals(db) == (1000, SAMPLE_BILLED, SAMPLE_EFFECTIVE, SAMPLE_LIST)
    assert query(db, "SELECT count(*), sum(BilledCost) FROM cost_line_items WHERE ProviderName = 'Microsoft'") == [
        (51, Decimal("1.976514185860"))
    ]
    assert "store also holds" not in run("collect", "focus", str(sample)).stderr


# --- formats and paths ---------------------------------------------------------------------------


def test_gzip_parquet_directory_and_glob_give_the_same_totals(run, db, sample, tmp_path):
    data = tmp_path / "exports"
    data.mkdir()
    with gzip.open(data / "sample.csv.gz", "wb") as fh:
        fh.write(sample.read_bytes())
    con = duckdb.connect()
    con.execute(
        "COPY (SELECT * FROM read_csv(?, all_varchar = true, nullstr = 'NULL')) TO '"
        + str(tmp_path / "sample.parquet")
        + "' (FORMAT parquet)",
        [str(sample)],
    )
    for argument in (str(data), str(data / "*.csv.gz"), str(tmp_path / "sample.parquet")):
        db.unlink(missing_ok=True)
        result = run("collect", "focus", argument)
        assert result.exit_code == 0, result.output
        assert totals(db) == (1000, SAMPLE_BILLED, SAMPLE_EFFECTIVE, SAMPLE_LIST), argument


def test_typed_parquet_with_double_costs_and_map_tags(run, db, tmp_path):
    path = tmp_path / "typed.parquet"
    con = duckdb.connect()
    con.execute(
        "COPY (SELECT 0.1::DOUBLE AS BilledCost, 1.81E-8::DOUBLE AS EffectiveCost, 'usd' AS BillingCurrency, "
        "TIMESTAMP '2024-09-01' AS BillingPeriodStart, TIMESTAMP '2024-10-01' AS BillingPeriodEnd, "
        "TIMESTAMPTZ '2024-09-02 00:00:00+00' AS ChargePeriodStart, TIMESTAMPTZ '2024-09-02 01:00:00+00' "
        "AS ChargePeriodEnd, 'Usage' AS ChargeCategory, 12345 AS BillingAccountId, "
        "MAP {'team': 'nlp', 'run': 'r1'} AS Tags, 'AWS' AS ProviderName) TO '" + str(path) + "' (FORMAT parquet)"
    )
    assert run("collect", "focus", str(path)).exit_code == 0
    assert query(
        db,
        "SELECT BilledCost, EffectiveCost, BillingCurrency, BillingAccountId, Tags['team'], x_Provider "
        "FROM cost_line_items",
    ) == [(Decimal("0.1"), Decimal("0.0000000181"), "USD", "12345", "nlp", "aws")]


def minimal(header: list[str], *rows: list[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


BASE = [
    "BilledCost",
    "EffectiveCost",
    "BillingCurrency",
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ChargeCategory",
    "BillingAccountId",
]
ROW = [
    "1.25",
    "1.00",
    "USD",
    "2024-09-01T00:00:00Z",
    "2024-10-01T00:00:00Z",
    "2024-09-02T00:00:00Z",
    "2024-09-02T01:00:00Z",
    "Usage",
    "0042",
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-09-02T00:00:00Z", "2024-09-02 00:00:00+00"),
        ("2024-09-02 00:00:00", "2024-09-02 00:00:00+00"),
        ("2024-09-02T02:00:00+02:00", "2024-09-02 00:00:00+00"),
        ("2024-09-02", "2024-09-02 00:00:00+00"),
        ("9/2/24", "2024-09-02 00:00:00+00"),
        ("9/2/2024 00:00", "2024-09-02 00:00:00+00"),
        ("2024-09-02T00:00:00.000Z", "2024-09-02 00:00:00+00"),
    ],
)
def test_timestamp_spellings_are_utc(run, db, tmp_path, text, expected):
    row = list(ROW)
    row[BASE.index("ChargePeriodStart")] = text
    path = tmp_path / "t.csv"
    path.write_text(minimal(BASE, row))
    assert run("collect", "focus", str(path)).exit_code == 0
    assert query(db, "SELECT CAST(ChargePeriodStart AS VARCHAR), BillingAccountId FROM cost_line_items") == [
        (expected, "0042")
    ]


def test_old_and_new_column_names_map_to_focus_1_2(run, db, tmp_path):
    pre_1_0 = [
        "BilledCost",
        "AmortizedCost",
        "BillingCurrency",
        "BillingPeriodStart",
        "BillingPeriodEnd",
        "ChargePeriodStart",
        "ChargePeriodEnd",
        "ChargeType",
        "Region",
        "UsageQuantity",
        "Provider",
    ]
    old = tmp_path / "old.csv"
    old.write_text(
        minimal(
            pre_1_0,
            [
                "2",
                "1.5",
                "USD",
                "2024-09-01",
                "2024-10-01",
                "2024-09-03",
                "2024-09-04",
                "usage",
                "us-east-1",
                "3",
                "AWS",
            ],
        )
    )
    newer = [
        "BilledCost",
        "EffectiveCost",
        "BillingCurrency",
        "BillingPeriodStart",
        "BillingPeriodEnd",
        "ChargePeriodStart",
        "ChargePeriodEnd",
        "ChargeCategory",
        "ServiceProviderName",
        "HostProviderName",
        "BillingAccountId",
        "AllocatedResourceId",
        "x_UsageType",
        "x_ClusterName",
        "SkuPriceDetails",
        "chargeclass",
    ]
    new = tmp_path / "new.csv"
    new.write_text(
        minimal(
            newer,
            [
                "3",
                "3",
                "USD",
                "2024-09-01",
                "2024-10-01",
                "2024-09-03",
                "2024-09-04",
                "Usage",
                "Acme GPU Cloud",
                "Acme GPU Cloud",
                "acct-9",
                "pod/train-0",
                "GPU-Hours",
                "prod-east",
                '{"GpuModel": "H100"}',
                "correction",
            ],
        )
    )
    result = run("collect", "focus", str(old), str(new))
    assert result.exit_code == 0, result.output
    assert "ignoring" not in result.stderr
    got = query(
        db,
        "SELECT EffectiveCost, ChargeCategory, RegionId, ConsumedQuantity, ProviderName, PublisherName, x_Provider, "
        "AllocatedResourceId, x_UsageType, x_Extras, SkuPriceDetails->>'GpuModel', ChargeClass "
        "FROM cost_line_items ORDER BY BilledCost",
    )
    assert got == [
        (
            Decimal("1.5"),
            "Usage",
            "us-east-1",
            Decimal("3"),
            "AWS",
            None,
            "aws",
            None,
            None,
            None,
            None,
            None,
        ),
        (
            Decimal("3"),
            "Usage",
            None,
            None,
            "Acme GPU Cloud",
            "Acme GPU Cloud",
            "acme gpu cloud",
            "pod/train-0",
            "GPU-Hours",
            {"x_ClusterName": "prod-east"},
            "H100",
            "Correction",
        ),
    ]


def test_spreadsheet_amounts_and_exponents_are_exact(run, db, tmp_path):
    path = tmp_path / "money.csv"
    rows = [list(ROW) for _ in range(4)]
    for row, (billed, effective) in zip(
        rows,
        [
            ('"$50,000.00 "', "1.81E-8"),
            ("-$1,234.5", "0.000000000000001"),
            (" 7 ", "+3"),
            ("12345678901234567890.123456789012345678", "0"),
        ],
        strict=False,
    ):
        row[0], row[1] = billed.strip('"'), effective
    path.write_text(minimal(BASE, *rows))
    assert run("collect", "focus", str(path)).exit_code == 0
    with localcontext() as exact:
        exact.prec = 60
        assert query(db, "SELECT sum(BilledCost), sum(EffectiveCost) FROM cost_line_items") == [
            (
                Decimal("50000") - Decimal("1234.5") + 7 + Decimal("12345678901234567890.123456789012345678"),
                Decimal("0.0000000181") + Decimal("0.000000000000001") + 3,
            )
        ]


# --- the FOCUS specification's own example files ----------------------------------------------------

SPEC_TOTALS = {  # file: (rows, Σ BilledCost, Σ EffectiveCost) as the files state them
    "commitment_discount_usage_scenario_4.csv": (2, Decimal("0.5"), Decimal("1.5")),
    "commitment_discount_purchase_scenario_1.csv": (1, Decimal("8760"), Decimal("0")),
    "zero_percent_utilization_without_commitment_discount_flexibility.csv": (
        3,
        Decimal("3.5"),
        Decimal("3.5"),
    ),
    "simple_saas_agreements_c.csv": (3, Decimal("35800"), Decimal("35800")),
    "virtual_currency_pricing_model_c.csv": (2, Decimal("53000"), Decimal("0")),
}
# The spec's files write an hour of 30 ("2023-02-01T30:00:00Z"): not a time; finops names it.
SPEC_INVALID = {
    "commitment_discount_purchase_scenario_2.csv": "row 3: ChargePeriodEnd: '2023-02-01T30:00:00Z'",
    "commitment_discount_purchase_scenario_3.csv": "row 4: ChargePeriodEnd: '2023-02-01T30:00:00Z'",
}


def spec_files(shared: Path) -> list[Path]:
    return sorted((shared / "focus-spec-examples-v1.2").rglob("*.csv"))


def test_every_spec_example_loads_or_names_its_problem(run, db, shared):
    files = spec_files(shared)
    assert len(files) == 26
    for path in files:
        db.unlink(missing_ok=True)
        header = read_rows(path)[0]
        result = run("collect", "focus", str(path))
        if "BillingCurrency" not in [h.lstrip("\ufeff") for h in header]:
            assert "missing mandatory FOCUS column(s) BillingCurrency" in one_line_error(result)
            assert "--fill BillingCurrency=USD" in result.stderr
            assert not db.exists() or snapshot(db)[0][0][0] == 0
            result = run("collect", "focus", str(path), "--fill", "BillingCurrency=USD")
        if path.name in SPEC_INVALID:
            assert SPEC_INVALID[path.name] in one_line_error(result)
            continue
        assert result.exit_code == 0, (path.name, result.output)
        if path.name in SPEC_TOTALS:
            got = query(db, "SELECT count(*), sum(BilledCost), sum(EffectiveCost) FROM cost_line_items")[0]
            assert got == SPEC_TOTALS[path.name], path.name


def test_spec_extras_are_kept(run, db, shared):
    path = next(p for p in spec_files(shared) if p.name.startswith("one_hundred_percent_utilization_with_"))
    assert run("collect", "focus", str(path), "--fill", "billingcurrency=usd").exit_code == 0
    rows = [r for r in read_rows(path) if r]
    sku, extra = rows[0].index("SkuPriceid"), rows[0].index("x_CommitmentDiscountUnitPrice")
    expected = sorted((r[sku], r[extra], "USD") for r in rows[1:])
    stored = query(
        db,
        "SELECT SkuPriceId, x_Extras['x_CommitmentDiscountUnitPrice'], BillingCurrency "
        "FROM cost_line_items ORDER BY ALL",
    )
    assert stored == expected and len(stored) == len(rows) - 1


# --- bad input: one line, exit 2, store unchanged ------------------------------------------------


def _bad_inputs(sample: Path, tmp: Path) -> dict[str, tuple[list[str], str]]:
    rows = read_rows(sample)
    header = rows[0]

    def variant(name: str, change) -> str:
        copy = [list(r) for r in rows[:6]]
        change(copy)
        return str(write_rows(tmp / name, copy))

    def set_cell(column: str, row: int, value: str):
        def change(copy):
            copy[row][header.index(column)] = value

        return change

    empty = tmp / "empty.csv"
    empty.write_bytes(b"")
    truncated = tmp / "cut.csv.gz"
    truncated.write_bytes(gzip.compress(sample.read_bytes())[:30000])
    no_match = tmp / "nothing-here"
    no_match.mkdir()
    (no_match / "notes.txt").write_text("not billing")
    drop = header.index("EffectiveCost")
    return {
        "empty file": ([str(empty)], "empty.csv: the file is empty"),
        "truncated gzip": ([str(truncated)], "cut.csv.gz: the gzip stream is truncated"),
        "missing mandatory column": (
            [str(write_rows(tmp / "nocol.csv", [[c for i, c in enumerate(r) if i != drop] for r in rows[:4]]))],
            "missing mandatory FOCUS column(s) EffectiveCost",
        ),
        "non-numeric cost": (
            [variant("text.csv", set_cell("BilledCost", 4, "twelve"))],
            "text.csv row 4: BilledCost: 'twelve' is not a number",
        ),
        "NaN cost": ([variant("nan.csv", set_cell("ListCost", 2, "NaN"))], "nan.csv row 2: ListCost: 'NaN'"),
        "unparseable date": (
            [variant("date.csv", set_cell("ChargePeriodStart", 5, "2024-02-30 00:00:00"))],
            "date.csv row 5: ChargePeriodStart: '2024-02-30 00:00:00' is not a date-time",
        ),
        "mixed currencies": (
            [variant("eur.csv", set_cell("BillingCurrency", 3, "EUR"))],
            "billing account '1234567890123' has rows in EUR and USD",
        ),
        "bad category": (
            [variant("cat.csv", set_cell("ChargeCategory", 1, "Refund"))],
            "cat.csv row 1: ChargeCategory: 'Refund' is not one of",
        ),
        "bad tags": ([variant("tags.csv", set_cell("Tags", 2, "{team: nlp"))], "tags.csv row 2: Tags:"),
        "inverted period": (
            [variant("inv.csv", set_cell("ChargePeriodEnd", 1, "2024-09-01 00:00:00"))],
            "inv.csv row 1: ChargePeriodEnd 2024-09-01 00:00:00+00 is before ChargePeriodStart",
        ),
        "ragged row": ([str(tmp / "ragged.csv")], "ragged.csv line 3: expected 44 columns, found 3"),
        "no matching files": ([str(no_match)], "nothing-here: no FOCUS files"),
        "missing path": ([str(tmp / "absent.csv")], "absent.csv: no such file or directory"),
        "second file bad": (
            [str(sample), variant("late.csv", set_cell("BilledCost", 5, "1.2.3"))],
            "late.csv row 5: BilledCost: '1.2.3'",
        ),
    }


def test_bad_input_is_one_line_exit_2_and_leaves_the_store_as_it_was(run, db, sample, tmp_path):
    (tmp_path / "ragged.csv").write_text(
        sample.read_text().splitlines()[0] + "\n" + sample.read_text().splitlines()[1] + "\n1,2,3\n"
    )
    cases = _bad_inputs(sample, tmp_path)
    run("collect", "focus", str(sample))
    before = snapshot(db)
    for name, (paths, expected) in cases.items():
        message = one_line_error(run("collect", "focus", *paths))
        assert expected in message, (name, message)
        assert snapshot(db) == before, name


def test_errors_on_a_fresh_store_write_no_rows(run, db, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(minimal(BASE, ROW, [*ROW[:3], "never", *ROW[4:]]))
    assert "row 2: BillingPeriodStart: 'never'" in one_line_error(run("collect", "focus", str(path)))
    assert snapshot(db)[0][0][0] == 0


def test_unknown_fill_column_is_refused(run, sample):
    assert "--fill Currency=USD: Currency is not a FOCUS column" in one_line_error(
        run("collect", "focus", str(sample), "--fill", "Currency=USD")
    )
    assert "write it as COLUMN=VALUE" in one_line_error(run("collect", "focus", str(sample), "--fill", "USD"))


def test_library_call_without_cli(settings, sample):
    con = store.connect(settings)
    try:
        notices: list[str] = []
        report = focus_collector.collect(con, [str(sample)], notice=notices.append)
        assert [s.action for s in report.scopes] == ["loaded"] * 4
        assert sum(s.billed_cost for s in report.scopes) == SAMPLE_BILLED
        assert len(notices) == 1
        with pytest.raises(InputError, match="Currency is not a FOCUS column"):
            focus_collector.collect(con, [str(sample)], {"Currency": "USD"})
    finally:
        con.close()


def test_header_mapping_rules():
    columns = focus_collector.map_columns(["billedcost", "AmortizedCost", "EffectiveCost", "x_a", "Id"], "f")
    assert columns.mapped == {"BilledCost": "billedcost", "EffectiveCost": "EffectiveCost"}
    assert columns.extras == ["x_a"]
    assert columns.ignored == ["AmortizedCost", "Id"]
    with pytest.raises(InputError, match="column BilledCost appears twice"):
        focus_collector.map_columns(["BilledCost", "BilledCost"], "f")
    assert len(focus.FOCUS_1_2) == 57


def test_store_columns_hold_18_decimals(settings, tmp_path):
    path = tmp_path / "fine.csv"
    path.write_text(minimal(BASE, ["0.000000000000000001", "123456789.123456789012345678", *ROW[2:]]))
    con = store.connect(settings)
    try:
        focus_collector.collect(con, [str(path)])
        assert con.execute("SELECT BilledCost, EffectiveCost FROM cost_line_items").fetchall() == [
            (Decimal("0.000000000000000001"), Decimal("123456789.123456789012345678"))
        ]
    finally:
        con.close()


def test_focus_1_3_fixture_from_a_gpu_cloud(run, db):
    path = FIXTURES / "focus-1.3-gpu-cloud.csv"
    result = run("collect", "focus", str(path))
    assert result.exit_code == 0, result.output
    assert "ignoring" not in result.stderr
    assert query(
        db,
        "SELECT count(*), sum(BilledCost), sum(EffectiveCost), sum(ListCost), any_value(BillingCurrency) "
        "FROM cost_line_items",
    ) == [(5, Decimal("37.0912345678901"), Decimal("37.0912345678901"), Decimal("42.2512345678901"), "EUR")]
    assert query(
        db,
        "SELECT DISTINCT ProviderName, PublisherName, ServiceProviderName, x_Provider FROM cost_line_items",
    ) == [("Kestrel GPU Cloud", "Kestrel GPU Cloud", "Kestrel GPU Cloud", "kestrel gpu cloud")]
    assert query(
        db,
        "SELECT AllocatedResourceId, AllocatedTags['k8s-namespace'], Tags['training_run'], "
        "x_GpuModel, x_Extras['x_ClusterName'], SkuPriceDetails->>'GpuCount' "
        "FROM cost_line_items WHERE AllocatedMethodId IS NOT NULL",
    ) == [("pod/llm-13b-sft-r2-worker-0", "training", "llm-13b-sft-r2", "H100", "fra-1", "8")]
    assert query(
        db,
        "SELECT ChargeCategory, BilledCost FROM cost_line_items WHERE ChargeCategory <> 'Usage' ORDER BY 1",
    ) == [("Credit", Decimal("-5")), ("Tax", Decimal("5.21"))]
