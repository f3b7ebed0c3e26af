"""FOCUS rows as lists of column text: the header, shared column groups, the month and the ledger."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Protocol

from finops import focus
from finops.demo.catalogue import Account, Service

HEADER: tuple[str, ...] = (*(c.name for c in focus.FOCUS_1_2), "x_UsageType", "x_Operation", "x_InstanceType")
_IX = {name: i for i, name in enumerate(HEADER)}
_START, _END = _IX["ChargePeriodStart"], _IX["ChargePeriodEnd"]

ZERO = Decimal(0)
_COST = Decimal("1E-10")
_QTY = Decimal("1E-6")
_CENT = Decimal("0.01")


def _row(**values: str) -> list[str]:
    """A CSV row with the given columns set and every other column null."""
    row = [""] * len(HEADER)
    for name, value in values.items():
        row[_IX[name]] = value
    return row


def money(value: Decimal) -> str:
    """Cost text: plain decimal, 10 places."""
    return format(value.quantize(_COST), "f")


def tags(**values: str) -> str:
    """Tags as FOCUS JSON object text, or null when there are none."""
    return json.dumps(values, sort_keys=True, separators=(",", ":")) if values else ""


@dataclass(frozen=True)
class Month:
    """The billing period: its hours and their timestamps."""

    name: str
    hours: int
    stamps: tuple[str, ...]  # hours + 1 hour boundaries
    weekdays: tuple[bool, ...]  # per day of the month: Monday to Friday?

    @property
    def days(self) -> int:
        return self.hours // 24


def month_of(text: str) -> Month:
    """Parse YYYY-MM into its billing period."""
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text):
        raise ValueError(f"month must look like 2026-10, got {text!r}")
    start = datetime.strptime(text, "%Y-%m").replace(tzinfo=UTC)
    end = (start + timedelta(days=32)).replace(day=1)
    hours = int((end - start).total_seconds()) // 3600
    stamps = tuple((start + timedelta(hours=h)).strftime("%Y-%m-%dT%H:%M:%SZ") for h in range(hours + 1))
    weekdays = tuple((start + timedelta(days=d)).weekday() < 5 for d in range(hours // 24))
    return Month(text, hours, stamps, weekdays)


def _base(month: Month, account: Account) -> dict[str, str]:
    """Columns every row of a provider's file shares, for one sub account.

    InvoiceId stays null: the month is exported before its invoice is issued.
    """
    if account.provider == "aws":
        bill = ("111111111111", "Acme ML (payer)", "AWS", "Amazon Web Services, Inc.")
    else:
        bill = ("01ABCD-234EFG-56789H", "Acme ML GCP", "Google Cloud", "Google")
    return {
        "BillingAccountId": bill[0],
        "BillingAccountName": bill[1],
        "BillingCurrency": "USD",
        "BillingPeriodStart": month.stamps[0],
        "BillingPeriodEnd": month.stamps[-1],
        "ProviderName": bill[2],
        "PublisherName": bill[2],
        "InvoiceIssuerName": bill[3],
        "SubAccountId": account.id,
        "SubAccountName": account.name,
    }


def _service(service: Service) -> dict[str, str]:
    """The service columns."""
    return {"ServiceName": service.name, "ServiceCategory": service.category, "ServiceSubcategory": service.subcategory}


def _priced(price: Decimal, quantity: Decimal, unit: str, consumed_unit: str = "") -> dict[str, str]:
    """The usage, price and cost columns of a Standard (on-demand) usage row."""
    cost = money(price * quantity)
    return {
        "ChargeCategory": "Usage",
        "ChargeFrequency": "Usage-Based",
        "PricingCategory": "Standard",
        "ConsumedQuantity": format(quantity, "f"),
        "ConsumedUnit": consumed_unit or unit,
        "PricingQuantity": format(quantity, "f"),
        "PricingUnit": unit,
        "ListUnitPrice": str(price),
        "ContractedUnitPrice": str(price),
        "ListCost": cost,
        "ContractedCost": cost,
        "BilledCost": cost,
        "EffectiveCost": cost,
    }


class RowWriter(Protocol):
    """What csv.writer returns."""

    def writerow(self, row: Iterable[str], /) -> object: ...


@dataclass
class Ledger:
    """Writes rows, counting them and summing BilledCost per sub account (for support and tax)."""

    writer: RowWriter
    rows: int = 0
    billed: dict[str, Decimal] = field(default_factory=dict)

    def write(self, row: list[str], account: str, billed: Decimal) -> None:
        self.writer.writerow(row)
        self.rows += 1
        if billed:
            self.billed[account] = self.billed.get(account, ZERO) + billed
