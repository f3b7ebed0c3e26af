"""Benchmarks (not tests): speed measured as ratios against a baseline run on the same machine, same run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def child_value(sql: str, db: Path | None = None) -> str:
    """One value from DuckDB, asked in a child process: Linux carries a parent's peak resident memory into
    its children's, so the benchmark's own process stays small for the commands' figures to be their own."""
    code = (
        "import sys, duckdb\n"
        "con = duckdb.connect(sys.argv[2], read_only=True) if len(sys.argv) > 2 else duckdb.connect()\n"
        "print(con.execute(sys.argv[1]).fetchall()[0][0])"
    )
    argv = [sys.executable, "-c", code, sql, *([str(db)] if db else [])]
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout.strip()
