"""Instants from workload sources: ISO text, epoch numbers, and local times that need a zone."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

from finops.config import check_timezone
from finops.errors import ConfigError, InputError


def zone(name: str | None, source: str) -> ZoneInfo:
    """The zone a source's local times are in; refusing to guess when none is configured."""
    if not name:
        raise ConfigError(
            f"{source} writes local times without a zone: pass --timezone AREA/CITY (e.g. --timezone "
            "Europe/Berlin, or UTC) or set [collect] timezone in finops.toml"
        )
    return check_timezone(name, "--timezone")


def instant(text: str, where: str, local: tzinfo | None = None) -> datetime:
    """A UTC instant from ISO 8601 text; text without an offset is read in `local`, or refused."""
    value = text.strip()
    try:
        parsed = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value)
    except ValueError:
        raise InputError(f"{where}: {text!r} is not a date-time; use ISO 8601, e.g. 2025-01-10T08:00:00Z") from None
    if parsed.tzinfo is None:
        if local is None:
            raise InputError(
                f"{where}: {text!r} has no time zone; write it with Z or an offset, or pass --timezone AREA/CITY"
            )
        parsed = parsed.replace(tzinfo=local)
    return parsed.astimezone(UTC)


def from_epoch(value: float, where: str, unit: str = "s") -> datetime:
    """A UTC instant from epoch seconds or milliseconds."""
    seconds = value / 1000 if unit == "ms" else value
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise InputError(f"{where}: {value!r} is not an epoch time in {unit}") from None


def readings(naive: datetime, local: tzinfo) -> list[datetime]:
    """The UTC instants a wall-clock time can mean: one, or two in a DST overlap or gap (fold 0 first)."""
    if naive.tzinfo is not None:
        return [naive.astimezone(UTC)]
    both = [naive.replace(tzinfo=local, fold=fold).astimezone(UTC) for fold in (0, 1)]
    return both[:1] if both[0] == both[1] else both
