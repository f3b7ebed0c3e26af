"""A batch's checksum is the hash of the rows the store holds for it, whichever collector staged them.

Loads take each row's hash while staging it (ingest.Load) and collectors that change staged values take
it again (`Load.restaged`); a stale hash would make a changed scope look unchanged on its next load.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from finops.collect import aws_cur, focus, gcp_billing
from finops.collect.files import combined_checksum
from finops.ingest import STORE_COLUMNS
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
    # GCP rows are changed after staging (list prices, GPU counts, CUD fee amortisation).
    gcp_billing.collect(con, [str(FIXTURES / "gcp" / "billing-export-detailed.ndjson")])
    recorded = recorded_checksums(con)
    assert len(recorded) >= 7
    assert recorded == stored_checksums(con)


def test_a_stale_staged_hash_would_be_caught(con: duckdb.DuckDBPyConnection, monkeypatch) -> None:
    """Without taking the hashes again after its UPDATEs, a GCP load records checksums of other rows."""
    monkeypatch.setattr("finops.ingest.Load.restaged", lambda self: None)
    gcp_billing.collect(con, [str(FIXTURES / "gcp" / "billing-export-detailed.ndjson")])
    assert recorded_checksums(con) != stored_checksums(con)


def test_a_cur_stages_only_the_columns_it_has():
    """CurLoad leaves out of the stage the FOCUS columns its mapping writes as NULL, and only those."""
    from finops.collect.aws_cur import CurLoad

    assert {"SkuPriceDetails", "ContractApplied", "x_Extras", "CommitmentDiscountQuantity"} <= CurLoad.stage_omits
    assert not CurLoad.stage_omits & {"BilledCost", "EffectiveCost", "ChargeCategory", "ResourceId", "Tags"}
    assert CurLoad.stage_omits <= set(STORE_COLUMNS)
