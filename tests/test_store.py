"""The store: numbered append-only migrations, the DESIGN tables, read-only and busy handling."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap
import time

import duckdb
import pytest

from finops import alert_state, config, focus, store
from finops.errors import StoreError

DESIGN_TABLES = {
    "cost_line_items",
    "ingest_batches",
    "ingest_loads",
    "workloads",
    "workload_placements",
    "resources",
    "gpu_samples",
    "allocations",
    "alert_events",
    "_finops_migrations",
}


def test_migrations_are_numbered_without_gaps():
    found = store.migrations()
    assert [m.version for m in found] == list(range(1, len(found) + 1))
    assert found[0].name == "0001_initial"
    assert store.latest_version() == len(found)


def test_a_gap_in_migration_numbers_is_refused(tmp_path, monkeypatch):
    (tmp_path / "0001_a.sql").write_text("SELECT 1;")
    (tmp_path / "0003_c.sql").write_text("SELECT 1;")
    monkeypatch.setattr(store, "MIGRATIONS", tmp_path)
    with pytest.raises(StoreError, match="expected number 0002"):
        store.migrations()


def test_connect_creates_every_design_table_once(settings):
    con = store.connect(settings)
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert DESIGN_TABLES <= tables
    assert store.migrate(con) == []  # idempotent
    assert store.schema_version(con) == store.latest_version()
    con.close()
    con = store.connect(settings)  # reopening applies nothing twice
    assert con.execute("SELECT count(*) FROM _finops_migrations").fetchone() == (store.latest_version(),)
    con.close()


def test_cost_line_items_has_the_focus_columns_with_exact_types(settings):
    con = store.connect(settings)
    described = dict(
        con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'cost_line_items'"
        ).fetchall()
    )
    for column in focus.ALL_COLUMNS:
        expected = con.execute(f"SELECT typeof(CAST(NULL AS {focus.SQL_TYPES[column.kind]}))").fetchone()[0]
        assert described[column.name] == expected, column.name
    con.close()
    assert described["BilledCost"] == "DECIMAL(38,18)"
    assert described["ChargePeriodStart"] == "TIMESTAMP WITH TIME ZONE"
    assert described["Tags"] == "MAP(VARCHAR, VARCHAR)"
    assert set(described) == {c.name for c in focus.ALL_COLUMNS} | {"x_BatchId", "x_LineItemId"}
    assert {c.name for c in focus.FOCUS_1_2} <= set(described)


def test_a_failed_migration_leaves_the_store_as_it_was(settings, tmp_path, monkeypatch):
    store.connect(settings).close()
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    for m in store.migrations():
        (migrations / f"{m.name}.sql").write_text(m.sql)
    (migrations / f"{len(store.migrations()) + 1:04d}_broken.sql").write_text(
        "CREATE TABLE half_done (x INTEGER); SELECT * FROM no_such_table;"
    )
    monkeypatch.setattr(store, "MIGRATIONS", migrations)
    with pytest.raises(duckdb.Error):
        store.connect(settings)
    con = duckdb.connect(str(settings.database))
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'half_done'").fetchone() == (0,)
    con.close()


def test_reading_a_missing_store_says_how_to_create_one(tmp_path):
    with pytest.raises(StoreError, match=r"no store at .*finops collect focus"):
        store.connect(config.Settings(database=tmp_path / "none.duckdb"), read_only=True)


def test_a_store_from_a_newer_finops_is_refused(settings):
    con = store.connect(settings)
    con.execute("INSERT INTO _finops_migrations VALUES (999, '0999_future', current_timestamp)")
    con.close()
    with pytest.raises(StoreError, match="upgrade"):
        store.connect(settings)
    with pytest.raises(StoreError, match="newer than this finops"):
        store.connect(settings, read_only=True)


def test_an_old_store_is_migrated_before_a_read(settings):
    con = duckdb.connect(str(settings.database))
    con.close()  # an empty DuckDB file: schema version 0
    reader = store.connect(settings, read_only=True)
    assert store.schema_version(reader) == store.latest_version()
    reader.close()


def test_a_busy_store_is_a_clear_error(settings, capsys):
    store.connect(settings).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import duckdb, sys, time
            con = duckdb.connect({str(settings.database)!r})
            print("ready", flush=True)
            time.sleep(30)
        """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        at_once = dataclasses.replace(settings, store=config.StoreSettings(lock_wait=0))
        with pytest.raises(StoreError, match=r"is busy: another finops process \(PID \d+\)"):
            store.connect(at_once, read_only=True)
        waited = dataclasses.replace(settings, store=config.StoreSettings(lock_wait=1))
        started = time.monotonic()
        with pytest.raises(StoreError, match=r"is busy: .* \(waited 1 s: \[store\] lock_wait / FINOPS_LOCK_WAIT\)"):
            store.connect(waited, read_only=True)
        assert 1 <= time.monotonic() - started < 5
        assert "waiting up to 1 s" in capsys.readouterr().err
        # finops alert keeps its own [alerts] lock_wait when set
        alerting = dataclasses.replace(at_once, alerts=config.AlertSettings(lock_wait=1))
        started = time.monotonic()
        with pytest.raises(StoreError, match=r"waited 1 s"):
            alert_state.connect(alerting, read_only=True)
        assert time.monotonic() - started >= 1
    finally:
        holder.kill()
        holder.wait()
    time.sleep(0.1)
    store.connect(settings, read_only=True).close()


def test_sandboxed_connections_cannot_write_or_touch_files(settings, tmp_path):
    store.connect(settings).close()
    con = store.connect(settings, read_only=True, sandbox=True)
    with pytest.raises(duckdb.Error, match="read-only"):
        con.execute("DELETE FROM cost_line_items")
    with pytest.raises(duckdb.Error):
        con.execute(f"COPY (SELECT 1) TO '{tmp_path / 'leak.csv'}'")
    with pytest.raises(duckdb.Error):
        con.execute("SET enable_external_access = true")
    con.close()
    assert not (tmp_path / "leak.csv").exists()


def test_transaction_rolls_back_on_error(settings):
    con = store.connect(settings)
    with pytest.raises(RuntimeError):
        with store.transaction(con):
            con.execute("INSERT INTO resources (resource_id, source, updated_at) VALUES ('i-1', 't', now())")
            raise RuntimeError("boom")
    assert con.execute("SELECT count(*) FROM resources").fetchone() == (0,)
    con.close()
