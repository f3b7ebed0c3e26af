"""Billing months: the YYYY-MM periods every command takes, as UTC [start, end)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from finops.errors import FinopsError


def month_bounds(period: str, flag: str = "--period") -> tuple[datetime, datetime]:
    """[start, end) of a YYYY-MM billing month in UTC."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", period.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise FinopsError(f"{flag} {period!r}: use a billing month as YYYY-MM, e.g. 2024-09")
    year, month = int(match.group(1)), int(match.group(2))
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return start, end
