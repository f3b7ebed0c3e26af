"""Alert messages as plain text: the lines a terminal, an email or a chat fallback shows."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from finops.output import money_text


def money(value: str | None) -> str:
    """1234567.891 -> 1,234,567.89 (messages carry amounts as exact strings)."""
    return "n/a" if value is None else money_text(Decimal(value), None)


def lines(message: dict[str, Any]) -> list[str]:
    """The title, then indented details: numbers, then the top drivers or contributors."""
    out = [message["title"]]
    if message["type"] == "budget":
        cur = message["currency"]
        forecast = money(message.get("forecast"))
        out.append(
            f"  actual {money(message['actual'])} {cur} ({message['actual_pct']}%), "
            f"forecast {forecast} {cur}"
            + (f" ({message['forecast_pct']}%)" if message.get("forecast_pct") else "")
            + f", limit {money(message['amount'])} {cur} on {message['basis']} cost"
        )
        out.append(
            f"  period {message['period_start']} to {message['period_end']}, "
            f"complete through {message['complete_through']}"
        )
        for kind in ("service", "workload"):
            top = [d for d in message.get("drivers", []) if d["kind"] == kind]
            if top:
                out.append(f"  top {kind}s: " + "; ".join(f"{d['name']} {money(d['cost'])}" for d in top))
        if message.get("note"):
            out.append(f"  note: {message['note']}")
    else:
        out.append(
            f"  spent {money(message['actual'])} {message['currency']}, expected {money(message['expected'])} "
            f"(median of the same weekday in the weeks before)"
        )
        for item in message.get("contributors", []):
            out.append(f"  {item['kind']} {item['name']}: +{money(item['delta'])}")
    return out
