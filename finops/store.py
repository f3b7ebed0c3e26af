"""The DuckDB store: connect, migrate, and run a block of writes as one transaction."""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from finops.config import Settings
from finops.errors import StoreError

MIGRATIONS = Path(__file__).parent / "migrations"
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    """One numbered schema change."""

    version: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    """The migrations shipped with finops, in order; the numbering must have no gaps."""
    found = []
    for path in sorted(MIGRATIONS.glob("*.sql")):
        match = _MIGRATION_NAME.match(path.name)
        if not match:
            raise StoreError(f"{path}: migration files are named NNNN_name.sql")
        found.append(Migration(int(match.group(1)), path.stem, path.read_text(encoding="utf-8")))
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise StoreError(f"migration {migration.name}: expected number {expected:04d}; numbers have a gap")
    return found


def latest_version() -> int:
    """The schema version this finops writes."""
    return len(migrations())


def connect(settings: Settings, read_only: bool = False, sandbox: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the store; a writer creates and migrates it, a reader needs it to exist.

    `sandbox` also disables file and network access and locks the configuration, for
    user-typed SQL: it can read the store and nothing else.
    """
    path = settings.database
    if read_only and not path.exists():
        raise StoreError(
            f"no store at {path}: load data first (`finops collect focus PATH` or `finops demo`), "
            "or point --db / FINOPS_DB at your store"
        )
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    elif _needs_migration(settings):
        connect(settings).close()
    config: dict[str, Any] = {"memory_limit": settings.store.memory_limit}
    if settings.store.threads:
        config["threads"] = settings.store.threads
    if settings.store.temp_directory:
        config["temp_directory"] = str(settings.store.temp_directory)
    con = _open_waiting(path, read_only, config, settings.store.lock_wait)
    try:
        con.execute("SET TimeZone = 'UTC'")
        if read_only:
            _check_version(con, path)
        else:
            migrate(con)
        if sandbox:
            con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


def _open_waiting(path: Path, read_only: bool, config: dict[str, Any], wait: float) -> duckdb.DuckDBPyConnection:
    """Open the store, waiting up to `wait` seconds ([store] lock_wait) while another process holds it.

    DuckDB lets one process write a file, or several read it, never both: every finops command waits
    here the same bounded way, says so once on stderr, and then fails with the one-line busy error.
    """
    deadline = time.monotonic() + wait
    told = False
    while True:
        try:
            return _open(path, read_only, config)
        except StoreBusyError as exc:
            if time.monotonic() >= deadline:
                raise StoreBusyError(
                    f"{exc} (waited {wait:g} s: [store] lock_wait / FINOPS_LOCK_WAIT)" if wait else str(exc)
                ) from None
            if not told:
                holder = f" (PID {exc.pid})" if exc.pid else ""
                sys.stderr.write(
                    f"notice: store {path} is busy: another finops process{holder} holds it; "
                    f"waiting up to {wait:g} s ([store] lock_wait)\n"
                )
                sys.stderr.flush()
                told = True
            time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))


class StoreBusyError(StoreError):
    """Another process holds the store's lock."""

    def __init__(self, message: str, pid: str | None = None) -> None:
        super().__init__(message)
        self.pid = pid


def _open(path: Path, read_only: bool, config: dict[str, Any]) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(str(path), read_only=read_only, config=config)
    except duckdb.IOException as exc:
        message = str(exc)
        if "lock" in message.lower():
            pid = re.search(r"PID (\d+)", message)
            holder = f" (PID {pid.group(1)})" if pid else ""
            raise StoreBusyError(
                f"store {path} is busy: another finops process{holder} is using it; run again when it has finished",
                pid.group(1) if pid else None,
            ) from None
        raise StoreError(f"cannot open store {path}: {message.splitlines()[0]}") from None
    except duckdb.Error as exc:
        raise StoreError(f"cannot open store {path}: {str(exc).splitlines()[0]}") from None


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The highest applied migration, 0 for an empty database."""
    exists = fetch_one(
        con,
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = '_finops_migrations' AND schema_name = 'main'",
    )
    if not exists or not exists[0]:
        return 0
    row = fetch_one(con, "SELECT coalesce(max(version), 0) FROM _finops_migrations")
    return int(row[0]) if row else 0


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply the migrations the store lacks, each in its own transaction; return their names."""
    current = schema_version(con)
    known = migrations()
    if current > len(known):
        raise StoreError(f"the store has schema version {current} but this finops knows {len(known)}: upgrade finops")
    applied = []
    for migration in known[current:]:
        with transaction(con):
            con.execute(
                "CREATE TABLE IF NOT EXISTS _finops_migrations "
                "(version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
            )
            con.execute(migration.sql)
            con.execute(
                "INSERT INTO _finops_migrations VALUES (?, ?, current_timestamp)",
                [migration.version, migration.name],
            )
        applied.append(migration.name)
    return applied


def _needs_migration(settings: Settings) -> bool:
    con = _open_waiting(settings.database, True, {}, settings.store.lock_wait)
    try:
        return schema_version(con) < latest_version()
    finally:
        con.close()


def _check_version(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    version, latest = schema_version(con), latest_version()
    if version > latest:
        raise StoreError(f"store {path} has schema version {version}, newer than this finops ({latest}): upgrade")
    if version < latest:
        raise StoreError(f"store {path} is at schema version {version}; open it once with a write command")


def ident(name: str) -> str:
    """A safely quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def fetch_one(con: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> tuple[Any, ...] | None:
    """The first row of a query, reading the result to its end (DuckDB 2 keeps unfinished results open)."""
    rows = con.execute(sql, params).fetchall() if params is not None else con.execute(sql).fetchall()
    return rows[0] if rows else None


def next_load_id(con: duckdb.DuckDBPyConnection) -> int:
    """The id the next ingest_loads row gets."""
    row = fetch_one(con, "SELECT coalesce(max(load_id), 0) + 1 FROM ingest_loads")
    assert row is not None
    return int(row[0])


def record_load(
    con: duckdb.DuckDBPyConnection,
    load_id: int,
    source: str,
    source_uri: str,
    checksum: str,
    files: list[dict[str, Any]],
    scopes: list[dict[str, Any]],
) -> None:
    """One ingest_loads row for a collector run (billing, workloads or telemetry), inside the caller's transaction."""
    import finops

    con.execute(
        "INSERT INTO ingest_loads VALUES (?, ?, ?, ?, ?, ?, current_timestamp, ?)",
        [load_id, source, source_uri, checksum, json.dumps(files), json.dumps(scopes), finops.__version__],
    )


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN … COMMIT, or ROLLBACK on any exception (including KeyboardInterrupt)."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


@contextmanager
def unordered_inserts(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Let DuckDB write rows in any order, in parallel and with less memory, for copies whose physical row
    order carries no meaning (ids and times are columns); the session's setting is restored after."""
    row = fetch_one(con, "SELECT current_setting('preserve_insertion_order')")
    con.execute("SET preserve_insertion_order = false")
    try:
        yield
    finally:
        con.execute(f"SET preserve_insertion_order = {'true' if row is None or row[0] else 'false'}")
