"""Figures the reliability tests measure (kill trials, corpus outcomes), printed at the end of the run."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from finops import config, doctor, store

LINES: list[str] = []
INTEGRITY = ("schema", "batches", "allocations")  # the doctor's checks of the store itself


def report(line: str) -> None:
    """Keep one line for the `reliability` section of pytest's summary (and print it for `-s`)."""
    LINES.append(line)
    print(line)


def integrity_problems(db: Path) -> list[str]:
    """What `finops doctor` finds wrong with the store itself (schema, batch bookkeeping, allocations)."""
    settings = config.Settings(database=db, store=config.StoreSettings(lock_wait=0))
    con = store.connect(settings, read_only=True)
    try:
        findings = doctor.examine(con, settings, datetime.now(UTC), 3650)
    finally:
        con.close()
    return [f"{f.check}: {f.detail}" for f in findings if f.check in INTEGRITY and f.level == "problem"]
