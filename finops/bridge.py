"""The bridge from host/node/instance names in workload records to the bill's ResourceId.

`resource_names` (a view) unites the bill's own ResourceId and ResourceName, the values of
the bill tags listed in [bridge] bill_tag_keys, and the aliases of [bridge] aliases and
alias_file. Write commands `sync` the [bridge] settings into the store (so plain SQL sees them);
read commands `overlay` them as temporary tables, so an edited finops.toml counts at once.
"""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb

from finops.config import BridgeSettings
from finops.errors import ConfigError
from finops.store import fetch_one, transaction


def aliases(settings: BridgeSettings) -> list[tuple[str, str, str]]:
    """(alias, resource_id, where it came from) from the config table and the alias file."""
    found = [(alias, resource_id, "config") for alias, resource_id in sorted(settings.aliases.items())]
    if settings.alias_file is not None:
        found += _alias_file(settings.alias_file)
    return found


def sync(con: duckdb.DuckDBPyConnection, settings: BridgeSettings) -> None:
    """Replace the stored [bridge] snapshot with the current settings, in one transaction."""
    aliases(settings)  # a bad alias file fails before anything is replaced
    with transaction(con):
        con.execute("DELETE FROM resource_aliases")
        con.execute("DELETE FROM bridge_tag_keys")
        _fill(con, settings)


def overlay(con: duckdb.DuckDBPyConnection, settings: BridgeSettings) -> None:
    """On a read-only connection: temporary tables that shadow the stored [bridge] snapshot."""
    con.execute("CREATE OR REPLACE TEMP TABLE resource_aliases AS SELECT * FROM main.resource_aliases LIMIT 0")
    con.execute("CREATE OR REPLACE TEMP TABLE bridge_tag_keys AS SELECT * FROM main.bridge_tag_keys LIMIT 0")
    _fill(con, settings)


def unmatched_count(con: duckdb.DuckDBPyConnection) -> int:
    """How many distinct names in workload records join to no billed resource."""
    row = fetch_one(con, "SELECT count(DISTINCT lower(name)) FROM unmatched_resources")
    return int(row[0]) if row else 0


def _fill(con: duckdb.DuckDBPyConnection, settings: BridgeSettings) -> None:
    rows = aliases(settings)
    if rows:
        con.executemany("INSERT INTO resource_aliases VALUES (?, ?, ?, current_timestamp)", rows)
    if settings.bill_tag_keys:
        con.executemany("INSERT INTO bridge_tag_keys VALUES (?)", [[k] for k in settings.bill_tag_keys])


def _alias_file(path: Path) -> list[tuple[str, str, str]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            if reader.fieldnames is None or not {"alias", "resource_id"} <= set(reader.fieldnames):
                raise ConfigError(f"{path}: [bridge] alias_file needs a header with columns alias,resource_id")
            rows = []
            for number, row in enumerate(reader, start=1):
                alias, resource_id = (row.get("alias") or "").strip(), (row.get("resource_id") or "").strip()
                if not alias or not resource_id:
                    raise ConfigError(f"{path} row {number}: alias and resource_id must both be set")
                rows.append((alias, resource_id, str(path)))
            return rows
    except OSError as exc:
        raise ConfigError(f"[bridge] alias_file {path}: cannot read ({exc.strerror})") from None
