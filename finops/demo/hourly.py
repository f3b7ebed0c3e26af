"""Hourly compute rows, and the Compute Savings Plan's purchase, covered and unused rows."""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from finops.demo.catalogue import PAYER, REGIONS, SAVINGS_PLANS, _price_id
from finops.demo.plan import Segment
from finops.demo.rows import (
    _CENT,
    _END,
    _IX,
    _QTY,
    _START,
    ZERO,
    Ledger,
    Month,
    _base,
    _priced,
    _row,
    _service,
    money,
)

SP_RATE = Decimal("0.72")  # Savings Plan price as a share of on-demand


@dataclass(frozen=True)
class SavingsPlan:
    """A Compute Savings Plan: an hourly spend commitment (at Savings Plan rates) on the payer account."""

    id: str
    name: str
    commitment: Decimal

    def columns(self) -> dict[str, str]:
        """The commitment columns its purchase, covered and unused rows share."""
        return {
            "CommitmentDiscountId": self.id,
            "CommitmentDiscountName": self.name,
            "CommitmentDiscountType": "Savings Plan",
            "CommitmentDiscountCategory": "Spend",
            "CommitmentDiscountUnit": "USD",
        }


def savings_plan(rng: random.Random, segments: list[Segment], hours: int) -> SavingsPlan:
    """A plan committing, in whole dollars, the EC2 spend at Savings Plan rates of the median hour."""
    change = [ZERO] * (hours + 1)
    for s in segments:
        if s.resource.machine.sp_eligible:
            change[s.start] += s.resource.machine.lines[0].price
            change[s.end] -= s.resource.machine.lines[0].price
    median = sorted(itertools.accumulate(change[:-1]))[hours // 2]
    commitment = max(Decimal(1), (median * SP_RATE).quantize(Decimal(1), ROUND_DOWN)).quantize(_CENT)
    plan_id = f"arn:aws:savingsplans::{PAYER.id}:savingsplan/{uuid.UUID(int=rng.getrandbits(128), version=4)}"
    return SavingsPlan(plan_id, f"Compute Savings Plan 1yr No Upfront USD {commitment}/hour", commitment)


@dataclass
class Running:
    """A segment being written: its row templates with their hourly BilledCost."""

    segment: Segment
    rows: list[tuple[list[str], Decimal]]
    covered: list[str] | None  # the whole hour under the Savings Plan, for eligible machines


def _running(month: Month, segment: Segment, plan: SavingsPlan | None) -> Running:
    """The rows a segment writes every hour it runs."""
    resource, machine = segment.resource, segment.resource.machine
    base = (
        _base(month, resource.account)
        | _service(machine.service)
        | {
            "RegionId": resource.region,
            "RegionName": REGIONS[resource.region],
            "AvailabilityZone": resource.zone,
            "ResourceId": resource.id,
            "ResourceName": resource.name,
            "ResourceType": machine.resource_type,
            "Tags": segment.tags,
            "x_InstanceType": machine.type,
        }
    )
    rows = []
    for line in machine.lines:
        quantity = Decimal(line.per_hour * resource.count)
        row = _row(
            **base,
            **_priced(line.price, quantity, line.unit),
            ChargeDescription=line.description,
            SkuId=line.sku_id,
            SkuPriceId=_price_id(line),
            x_UsageType=line.usage_type,
            x_Operation=line.operation,
        )
        rows.append((row, line.price * quantity))
    covered = None
    if plan and machine.sp_eligible:
        price = rows[0][1]
        covered = _covered(rows[0][0], price, price * SP_RATE, Decimal(1), plan)
    return Running(segment, rows, covered)


def _covered(row: list[str], price: Decimal, effective: Decimal, hours: Decimal, plan: SavingsPlan) -> list[str]:
    """`hours` of an instance costing `price` an hour, covered by the plan at `effective` cost."""
    covered = row.copy()
    listed = money(price * hours)
    values = plan.columns() | {
        "PricingCategory": "Committed",
        "CommitmentDiscountStatus": "Used",
        "CommitmentDiscountQuantity": money(effective),
        "ConsumedQuantity": format(hours, "f"),
        "PricingQuantity": format(hours, "f"),
        "ListCost": listed,
        "ContractedCost": listed,
        "BilledCost": money(ZERO),
        "EffectiveCost": money(effective),
        "ChargeDescription": "Compute Savings Plan covered usage: " + row[_IX["ChargeDescription"]],
    }
    for name, value in values.items():
        covered[_IX[name]] = value
    return covered


def _on_demand(row: list[str], price: Decimal, hours: Decimal) -> list[str]:
    """`hours` of an instance costing `price` an hour, billed on demand."""
    part = row.copy()
    cost = money(price * hours)
    for name in ("ConsumedQuantity", "PricingQuantity"):
        part[_IX[name]] = format(hours, "f")
    for name in ("ListCost", "ContractedCost", "BilledCost", "EffectiveCost"):
        part[_IX[name]] = cost
    return part


def _sweep(segments: list[Segment], hours: int) -> Iterator[tuple[int, list[Segment], list[Segment]]]:
    """For each hour of the month: the segments starting then and all segments running."""
    ordered = sorted(segments, key=lambda s: s.start)  # stable: plan order breaks ties
    running: list[Segment] = []
    i = 0
    for hour in range(hours):
        started = []
        while i < len(ordered) and ordered[i].start == hour:
            started.append(ordered[i])
            i += 1
        running = [s for s in running if s.end > hour] + started
        yield hour, started, running


def write_hours(out: Ledger, month: Month, segments: list[Segment], plan: SavingsPlan | None) -> None:
    """Write every hourly usage row, and the Savings Plan's purchase, coverage and unused rows."""
    active: dict[int, Running] = {}
    for hour, started, running in _sweep(segments, month.hours):
        stamps = (month.stamps[hour], month.stamps[hour + 1])
        for segment in started:
            active[id(segment)] = _running(month, segment, plan)
        now = [active[id(s)] for s in running]
        if len(active) > 2 * len(now) + 64:  # forget finished segments
            active = {id(r.segment): r for r in now}
        for item in now:
            if item.covered is None:
                for template, billed in item.rows:
                    _write_at(out, template, stamps, item.segment.resource.account.id, billed)
        if plan:
            eligible = sorted((r for r in now if r.covered is not None), key=lambda r: r.segment.resource.id)
            _write_plan_hour(out, month, stamps, plan, eligible)


def _write_at(out: Ledger, template: list[str], stamps: tuple[str, str], account: str, billed: Decimal) -> None:
    """Write a copy of a row template for one charge period."""
    row = template.copy()
    row[_START], row[_END] = stamps
    out.write(row, account, billed)


def _write_plan_hour(
    out: Ledger, month: Month, stamps: tuple[str, str], plan: SavingsPlan, eligible: list[Running]
) -> None:
    """One hour of the plan: its purchase, EC2 usage covered in order until the commitment is
    used up (the last covered instance-hour split into a covered and an on-demand part), the rest
    on demand, and any commitment left unused."""
    out.write(_purchase(month, plan, stamps), PAYER.id, plan.commitment)
    left = plan.commitment
    for item in eligible:
        account, (template, price) = item.segment.resource.account.id, item.rows[0]
        rate = price * SP_RATE
        if item.covered is not None and left >= rate:
            _write_at(out, item.covered, stamps, account, ZERO)
            left -= rate
        elif left > 0 and (share := (left / rate).quantize(_QTY, ROUND_DOWN)) > 0:
            _write_at(out, _covered(template, price, left, share, plan), stamps, account, ZERO)
            _write_at(out, _on_demand(template, price, 1 - share), stamps, account, price * (1 - share))
            left = ZERO
        else:
            _write_at(out, template, stamps, account, price)
    if left > 0:
        out.write(_unused(month, plan, stamps, left), PAYER.id, ZERO)


def _purchase(month: Month, plan: SavingsPlan, stamps: tuple[str, str]) -> list[str]:
    """One hour's Savings Plan fee: billed now, amortized onto covered usage (EffectiveCost 0)."""
    fee = money(plan.commitment)
    return _row(
        **_base(month, PAYER),
        **_service(SAVINGS_PLANS),
        **plan.columns(),
        ChargeCategory="Purchase",
        ChargeFrequency="Recurring",
        PricingCategory="Standard",
        ChargePeriodStart=stamps[0],
        ChargePeriodEnd=stamps[1],
        ResourceId=plan.id,
        ResourceName=plan.name,
        ResourceType="Savings Plan",
        CommitmentDiscountQuantity=fee,
        PricingQuantity="1",
        PricingUnit="Hours",
        ListUnitPrice=str(plan.commitment),
        ContractedUnitPrice=str(plan.commitment),
        ListCost=fee,
        ContractedCost=fee,
        BilledCost=fee,
        EffectiveCost=money(ZERO),
        ChargeDescription=f"Savings Plan recurring fee: USD {plan.commitment} per hour",
        x_UsageType="ComputeSP:1yrNoUpfront",
        x_Operation="SavingsPlanRecurringFee",
    )


def _unused(month: Month, plan: SavingsPlan, stamps: tuple[str, str], amount: Decimal) -> list[str]:
    """The part of one hour's commitment no usage consumed."""
    return _row(
        **_base(month, PAYER),
        **_service(SAVINGS_PLANS),
        **plan.columns(),
        ChargeCategory="Usage",
        ChargeFrequency="Usage-Based",
        PricingCategory="Committed",
        CommitmentDiscountStatus="Unused",
        CommitmentDiscountQuantity=money(amount),
        ChargePeriodStart=stamps[0],
        ChargePeriodEnd=stamps[1],
        ResourceId=plan.id,
        ResourceName=plan.name,
        ResourceType="Savings Plan",
        ListCost=money(ZERO),
        ContractedCost=money(ZERO),
        BilledCost=money(ZERO),
        EffectiveCost=money(amount),
        ChargeDescription="Unused Savings Plan commitment",
        x_UsageType="ComputeSP:1yrNoUpfront",
        x_Operation="SavingsPlanUnused",
    )
