"""What a load writes: a batch's checksum is the hash of the rows the store holds for it, whichever
collector wrote them (GCP changes its rows after writing them), and x_LineItemId numbers rows in load order.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from finops import focus as focus_types
from finops import ingest
from finops.collect import aws_cur, focus, gcp_billing
from finops.collect.files import combined_checksum, fingerprint
from finops.errors import InputError
from finops.ingest import ROW_ID_FACTOR, STORE_COLUMNS
from finops.store import ident
from tests.conftest import FIXTURES

CONTENT = (
    "SELECT x_BatchId, count(*), "
    f"CAST(sum(CAST(hash({', '.join(ident(c) for c in STORE_COLUMNS)}) AS HUGEINT)) AS VARCHAR) "
    "FROM cost_line_items GROUP BY 1 ORDER BY 1"
)


def stored_checksums(con: duckdb.DuckDBPyConnection) -> dict[int, str]:
    return {
        batch: combined_checksum([f"rows:{rows}", f"content:{content}"])
        for batch, rows, content in con.execute(CONTENT).fetchall()
    }


def recorded_checksums(con: duckdb.DuckDBPyConnection) -> dict[int, str]:
    rows = con.execute("SELECT batch_id, checksum FROM current_batches ORDER BY 1").fetchall()
    return {int(batch): str(checksum) for batch, checksum in rows}


def test_every_collectors_checksums_are_the_hash_of_the_stored_rows(con: duckdb.DuckDBPyConnection, shared: Path):
    focus.collect(con, [str(shared / "focus-1.0-sample" / "focus_sample.csv")])
    aws_cur.collect(con, [str(shared / "aws-cur-legacy-sample" / "sample-anonymous-aws-export-dataset.csv")])
    # GCP rows are changed after they are written (list prices, GPU counts, CUD fee amortisation).
    gcp_billing.collect(con, [str(FIXTURES / "gcp" / "billing-export-detailed.ndjson")])
    recorded = recorded_checksums(con)
    assert len(recorded) >= 7
    assert recorded == stored_checksums(con)


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_line_item_ids_number_the_loads_rows_in_file_order(
    con: duckdb.DuckDBPyConnection, shared: Path, tmp_path: Path, kind: str
) -> None:
    """x_LineItemId = batch × 10¹⁰ + the row's number in the load: four scopes of one file share one numbering,
    whether the rows are numbered as they are written (Parquet) or at commit (CSV)."""
    sample = shared / "focus-1.0-sample" / "focus_sample.csv"
    path = sample
    if kind == "parquet":
        path = tmp_path / "focus_sample.parquet"
        con.execute(
            f"COPY (SELECT * FROM read_csv(?, all_varchar = true, nullstr = 'NULL')) TO '{path}'", [str(sample)]
        )
    report = focus.collect(con, [str(path)])
    assert len(report.scopes) == 4
    stored = con.execute(
        f"SELECT x_LineItemId % {ROW_ID_FACTOR}, x_LineItemId // {ROW_ID_FACTOR} = x_BatchId, BilledCost::VARCHAR, "
        "ResourceId FROM cost_line_items ORDER BY 1"
    ).fetchall()
    source = con.execute(
        "SELECT row_number() OVER (), BilledCost, nullif(ResourceId, 'NULL') FROM read_csv(?, all_varchar = true)",
        [str(sample)],
    ).fetchall()
    assert [row for row, *_ in stored] == list(range(1, 1001))
    assert all(same for _, same, *_ in stored)
    assert [(Decimal(cost), resource) for _, _, cost, resource in stored] == [
        (Decimal(cost), resource) for _, cost, resource in source
    ]
    assert con.execute(
        "SELECT count(*) FROM cost_line_items WHERE x_BatchId NOT IN (SELECT batch_id FROM current_batches)"
    ).fetchone() == (0,)


def test_a_rejected_load_leaves_nothing_pending(con: duckdb.DuckDBPyConnection, shared: Path, tmp_path: Path) -> None:
    """A bad row in the second file rolls back the first file's rows too."""
    sample = shared / "focus-1.0-sample" / "focus_sample.csv"
    lines = sample.read_text(encoding="utf-8").splitlines(keepends=True)
    bad = tmp_path / "bad.csv"
    bad.write_text(lines[0] + lines[1].replace(lines[1].split(",")[1], "yesterday", 1), encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.csv row 1: "):
        focus.collect(con, [str(sample), str(bad)])
    assert con.execute("SELECT count(*) FROM cost_line_items").fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM ingest_batches").fetchone() == (0,)


def test_a_cur_writes_only_the_columns_it_has():
    """CurLoad leaves out of its INSERT the FOCUS columns its mapping writes as NULL, and only those."""
    from finops.collect.aws_cur import CurLoad

    assert {"SkuPriceDetails", "ContractApplied", "x_Extras", "CommitmentDiscountQuantity"} <= CurLoad.omits
    assert not CurLoad.omits & {"BilledCost", "EffectiveCost", "ChargeCategory", "ResourceId", "Tags"}
    assert CurLoad.omits <= set(STORE_COLUMNS)


def _load_query(values: dict[str, str]) -> str:
    """A collector query over a CSV (columns: cost) giving every store column: `values` by name, the rest NULL."""
    columns = [
        f"CAST({values.get(c.name, 'NULL')} AS {focus_types.SQL_TYPES[c.kind]}) AS {ident(c.name)}"
        for c in focus_types.ALL_COLUMNS
    ]
    return (
        f"SELECT {', '.join(columns)}, NULL::VARCHAR AS _problem, NULL::BIGINT AS _row "
        "FROM read_csv($path, header = true, columns = {'cost': 'VARCHAR'})"
    )


def test_a_store_column_left_empty_names_the_row(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    """A collector whose mapping leaves a column the store needs empty gets the file row, not 'cannot read'."""
    path = tmp_path / "bill.csv"
    path.write_text("cost\n1.5\n2.5\n\n4\n", encoding="utf-8")
    source = fingerprint(path)
    query = _load_query(
        {
            "BilledCost": "cost",
            "EffectiveCost": "cost",
            "BillingCurrency": "'USD'",
            "ChargeCategory": "'Usage'",
            "BillingPeriodStart": "TIMESTAMPTZ '2025-01-01'",
            "BillingPeriodEnd": "TIMESTAMPTZ '2025-02-01'",
            "ChargePeriodStart": "TIMESTAMPTZ '2025-01-01'",
            "ChargePeriodEnd": "TIMESTAMPTZ '2025-01-01 01:00'",
        }
    )
    with pytest.raises(InputError, match=r"bill.csv row 3: no BilledCost; every billing row needs one"):
        with ingest.Load(con, "test", str(path), [source]) as load:
            load.write_file(source, query, {"path": str(path)})
    assert con.execute("SELECT count(*) FROM cost_line_items").fetchone() == (0,)
    path.write_text("cost\n1.5\n2.5\n4\n", encoding="utf-8")
    source = fingerprint(path)
    with ingest.Load(con, "test", str(path), [source]) as load:
        assert load.write_file(source, query, {"path": str(path)}) == 3
        report = load.commit()
    assert [(s.rows, s.billed_cost) for s in report.scopes] == [(3, Decimal("8"))]


def test_a_failure_opening_a_load_leaves_no_transaction_open(
    con: duckdb.DuckDBPyConnection, shared: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: ingest.Load) -> tuple[int, int]:
        raise KeyboardInterrupt

    monkeypatch.setattr(ingest.Load, "_next_ids", broken)
    with pytest.raises(KeyboardInterrupt):
        focus.collect(con, [str(shared / "focus-1.0-sample" / "focus_sample.csv")])
    monkeypatch.undo()
    con.execute("BEGIN TRANSACTION")  # raises when the failed load left its own open
    con.execute("ROLLBACK")
    assert focus.collect(con, [str(shared / "focus-1.0-sample" / "focus_sample.csv")]).scopes[0].rows > 0
