"""The FOCUS Cost and Usage columns finops stores: names, kinds, versions, and old names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["string", "decimal", "timestamp", "json", "tags"]

SQL_TYPES: dict[Kind, str] = {
    "string": "VARCHAR",
    "decimal": "DECIMAL(38, 18)",
    "timestamp": "TIMESTAMPTZ",
    "json": "JSON",
    "tags": "MAP(VARCHAR, VARCHAR)",
}


@dataclass(frozen=True)
class Column:
    """One Cost and Usage column: its FOCUS name, value kind and the version that introduced it."""

    name: str
    kind: Kind = "string"
    since: str = "1.0"
    required: bool = False  # finops cannot store a row without it (see README: "What a FOCUS file needs")


_C = Column
# The FOCUS 1.2 Cost and Usage columns, in the specification's (alphabetical) order.
FOCUS_1_2: tuple[Column, ...] = (
    _C("AvailabilityZone"),
    _C("BilledCost", "decimal", required=True),
    _C("BillingAccountId"),
    _C("BillingAccountName"),
    _C("BillingAccountType", since="1.2"),
    _C("BillingCurrency", required=True),
    _C("BillingPeriodEnd", "timestamp", required=True),
    _C("BillingPeriodStart", "timestamp", required=True),
    _C("CapacityReservationId", since="1.1"),
    _C("CapacityReservationStatus", since="1.1"),
    _C("ChargeCategory", required=True),
    _C("ChargeClass"),
    _C("ChargeDescription"),
    _C("ChargeFrequency"),
    _C("ChargePeriodEnd", "timestamp", required=True),
    _C("ChargePeriodStart", "timestamp", required=True),
    _C("CommitmentDiscountCategory"),
    _C("CommitmentDiscountId"),
    _C("CommitmentDiscountName"),
    _C("CommitmentDiscountQuantity", "decimal", since="1.1"),
    _C("CommitmentDiscountStatus"),
    _C("CommitmentDiscountType"),
    _C("CommitmentDiscountUnit", since="1.1"),
    _C("ConsumedQuantity", "decimal"),
    _C("ConsumedUnit"),
    _C("ContractedCost", "decimal"),
    _C("ContractedUnitPrice", "decimal"),
    _C("EffectiveCost", "decimal", required=True),
    _C("InvoiceId", since="1.2"),
    _C("InvoiceIssuerName"),
    _C("ListCost", "decimal"),
    _C("ListUnitPrice", "decimal"),
    _C("PricingCategory"),
    _C("PricingCurrency", since="1.2"),
    _C("PricingCurrencyContractedUnitPrice", "decimal", since="1.2"),
    _C("PricingCurrencyEffectiveCost", "decimal", since="1.2"),
    _C("PricingCurrencyListUnitPrice", "decimal", since="1.2"),
    _C("PricingQuantity", "decimal"),
    _C("PricingUnit"),
    _C("ProviderName"),
    _C("PublisherName"),
    _C("RegionId"),
    _C("RegionName"),
    _C("ResourceId"),
    _C("ResourceName"),
    _C("ResourceType"),
    _C("ServiceCategory"),
    _C("ServiceName"),
    _C("ServiceSubcategory", since="1.1"),
    _C("SkuId"),
    _C("SkuMeter", since="1.1"),
    _C("SkuPriceDetails", "json", since="1.1"),
    _C("SkuPriceId"),
    _C("SubAccountId"),
    _C("SubAccountName"),
    _C("SubAccountType", since="1.2"),
    _C("Tags", "tags"),
)

# Columns of FOCUS 1.3 and 1.4 kept as well, so a newer file loads without loss.
FOCUS_LATER: tuple[Column, ...] = (
    _C("AllocatedMethodDetails", "json", since="1.3"),
    _C("AllocatedMethodId", since="1.3"),
    _C("AllocatedResourceId", since="1.3"),
    _C("AllocatedResourceName", since="1.3"),
    _C("AllocatedTags", "tags", since="1.3"),
    _C("ContractApplied", "json", since="1.3"),
    _C("HostProviderName", since="1.3"),
    _C("ServiceProviderName", since="1.3"),
    _C("CommitmentProgramEligibilityDetails", "json", since="1.4"),
    _C("InvoiceDetailId", since="1.4"),
)

# finops's own x_ columns; collectors fill what they can.
EXTRAS: tuple[Column, ...] = (
    _C("x_Provider"),
    _C("x_ServiceCode"),
    _C("x_UsageType"),
    _C("x_Operation"),
    _C("x_LineItemType"),
    _C("x_InstanceType"),
    _C("x_GpuModel"),
    _C("x_GpuCount", "decimal"),
    _C("x_Extras", "tags"),
)

FOCUS_COLUMNS: tuple[Column, ...] = FOCUS_1_2 + FOCUS_LATER
ALL_COLUMNS: tuple[Column, ...] = FOCUS_COLUMNS + EXTRAS
BY_NAME: dict[str, Column] = {c.name: c for c in ALL_COLUMNS}
REQUIRED: tuple[str, ...] = tuple(c.name for c in FOCUS_1_2 if c.required)

# Names used before a column got its current name (pre-1.0 drafts and early exporters).
OLD_NAMES: dict[str, str] = {
    "AmortizedCost": "EffectiveCost",
    "ChargeType": "ChargeCategory",
    "Region": "RegionId",
    "UsageQuantity": "ConsumedQuantity",
    "UsageUnit": "ConsumedUnit",
    "Provider": "ProviderName",
    "Publisher": "PublisherName",
    "InvoiceIssuer": "InvoiceIssuerName",
}

CHARGE_CATEGORIES = ("Usage", "Purchase", "Tax", "Credit", "Adjustment")
CHARGE_FREQUENCIES = ("One-Time", "Recurring", "Usage-Based")
