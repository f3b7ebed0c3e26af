"""Shared test helpers: the public sample data, an isolated store, and the CLI runner."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner, Result

from finops import config, store
from finops.cli import cli

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


def _shared_data() -> Path | None:
    """../shared/data beside the checkout (a CI clone may live elsewhere, so also the workplace path)."""
    candidates = [os.environ.get("FINOPS_SHARED_DATA"), ROOT.parent / "shared" / "data", "/work/shared/data"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "SOURCES.md").is_file():
            return Path(candidate)
    return None


SHARED = _shared_data()


@pytest.fixture
def shared() -> Path:
    """The read-only public billing samples (../shared/data)."""
    if SHARED is None:
        if os.environ.get("CI"):
            pytest.fail("../shared/data is missing: CI must run beside the shared samples (or set FINOPS_SHARED_DATA)")
        pytest.skip("../shared/data not found")
    return SHARED


@pytest.fixture
def sample(shared: Path) -> Path:
    """The FOCUS 1.0 public sample: 1,000 rows, AWS + Microsoft + Oracle, Sept 2024."""
    return shared / "focus-1.0-sample" / "focus_sample.csv"


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials for moto, and none of the machine's own AWS settings."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "store.duckdb"


@pytest.fixture
def settings(db: Path) -> config.Settings:
    return config.Settings(database=db)


@pytest.fixture
def con(settings: config.Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to the migrated test store, closed afterwards."""
    connection = store.connect(settings)
    yield connection
    connection.close()


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    """Every row of a query on an open connection."""
    return con.execute(sql).fetchall()


@pytest.fixture
def run(db: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., Result]:
    """Invoke `finops --db <tmp store> ARGS…` in a clean working directory; returns click's Result."""
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith(("FINOPS_", "MLFLOW_TRACKING_"))]:
        if name != "FINOPS_SHARED_DATA":
            monkeypatch.delenv(name, raising=False)

    def invoke(*args: str, input: str | None = None, use_db: bool = True) -> Result:
        argv = (["--db", str(db)] if use_db else []) + list(args)
        return CliRunner().invoke(cli, argv, input=input, catch_exceptions=False)

    return invoke


def query(db: Path, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    """Rows of a query against the store, read-only."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        return con.execute(sql, params).fetchall() if params is not None else con.execute(sql).fetchall()
    finally:
        con.close()


def snapshot(db: Path) -> tuple[Any, ...]:
    """Everything a failed load must leave as it was: rows, exact sums, batches and loads."""
    if not db.exists():
        return ("no store",)
    con = store.connect(config.Settings(database=db), read_only=True)
    try:
        return tuple(
            con.execute(sql).fetchall()
            for sql in (
                "SELECT count(*), sum(BilledCost), sum(EffectiveCost), sum(ListCost), max(x_LineItemId) "
                "FROM cost_line_items",
                "SELECT batch_id, replaced_batch_id, row_count, billed_cost FROM ingest_batches ORDER BY 1",
                "SELECT load_id FROM ingest_loads ORDER BY 1",
            )
        )
    finally:
        con.close()


def one_line_error(result: Result) -> str:
    """Assert the CLI failed the finops way (exit 2, one `Error:` line, no traceback) and return it."""
    assert result.exit_code == 2, (result.exit_code, result.output)
    errors = [line for line in result.stderr.splitlines() if not line.startswith("notice: ")]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith("Error: "), errors
    assert "Traceback" not in result.output
    return errors[0]


def dec(text: str) -> Decimal:
    return Decimal(text)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The reliability figures (kill trials, corpus outcomes) the run measured, so `make test` shows them."""
    from tests import reliability

    if reliability.LINES:
        terminalreporter.section("reliability")
        for line in reliability.LINES:
            terminalreporter.write_line(line)
