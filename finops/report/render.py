"""Rendering the gathered report in one of its formats and writing it atomically."""

from __future__ import annotations

from pathlib import Path

from finops import output
from finops.errors import FinopsError
from finops.report.data import ReportData
from finops.report.page import html_page
from finops.report.text import csv_text, json_text, markdown

FORMATS = ("html", "md", "csv", "json")
_SUFFIX_FORMATS = {".html": "html", ".htm": "html", ".md": "md", ".csv": "csv", ".json": "json"}


def choose_format(fmt: str | None, out: Path | None) -> str:
    """The explicit --format, else the output file's suffix, else HTML."""
    if fmt:
        return fmt
    return _SUFFIX_FORMATS.get(out.suffix.lower(), "html") if out is not None else "html"


def write(data: ReportData, fmt: str, out: Path) -> Path:
    """Render `data` as `fmt` into `out`, atomically (a reader never sees half a report)."""
    text = render(data, fmt)
    try:
        with output.atomic_path(out) as tmp:
            tmp.write_text(text, encoding="utf-8", newline="")
    except OSError as exc:
        raise FinopsError(f"cannot write {out}: {exc.strerror or exc}; choose another path with -o") from None
    return out


def render(data: ReportData, fmt: str) -> str:
    """The report as text in one of FORMATS."""
    renderers = {"html": html_page, "md": markdown, "csv": csv_text, "json": json_text}
    if fmt not in renderers:
        raise FinopsError(f"--format {fmt!r}: use one of {', '.join(FORMATS)}")
    return renderers[fmt](data)
