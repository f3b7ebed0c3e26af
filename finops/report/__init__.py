"""The monthly cost report: gather the named queries' results, then render them (HTML, Markdown, CSV, JSON)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from finops.config import Settings
from finops.report.data import ReportData, gather
from finops.report.render import FORMATS, choose_format, render, write

__all__ = ["FORMATS", "ReportData", "build", "choose_format", "default_path", "gather", "render", "write"]


def default_path(period: str, fmt: str = "html") -> Path:
    """reports/finops-YYYY-MM.<suffix>, where `finops report` writes when no -o is given."""
    return Path("reports") / f"finops-{period}.{fmt}"


def build(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    period: str,
    out: Path | None = None,
    fmt: str | None = None,
    basis: str = "effective",
) -> Path:
    """Write the report of `period` to `out` (default reports/finops-YYYY-MM.html) and return the path."""
    fmt = choose_format(fmt, out)
    target = out if out is not None else default_path(period, fmt)
    return write(gather(con, settings, period, basis), fmt, target)
