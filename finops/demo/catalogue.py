"""What Acme ML buys: services, accounts, regions, and the priced SKU lines of each machine."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

Provider = Literal["aws", "gcp"]


@dataclass(frozen=True)
class Service:
    """A FOCUS service with its one category and subcategory."""

    name: str
    category: str
    subcategory: str


EC2 = Service("Amazon Elastic Compute Cloud", "Compute", "Virtual Machines")
SAGEMAKER = Service("Amazon SageMaker", "AI and Machine Learning", "Machine Learning")
S3 = Service("Amazon Simple Storage Service", "Storage", "Object Storage")
TRANSFER = Service("AWS Data Transfer", "Networking", "Data Transfer")
SAVINGS_PLANS = Service("Savings Plans for AWS Compute usage", "Compute", "Other (Compute)")
SUPPORT = Service("AWS Support (Business)", "Management and Governance", "Support")
GCE = Service("Compute Engine", "Compute", "Virtual Machines")
VERTEX = Service("Vertex AI", "AI and Machine Learning", "Machine Learning")
GCS = Service("Cloud Storage", "Storage", "Object Storage")
NETWORK = Service("Networking", "Networking", "Data Transfer")
TAX = Service("Tax", "Other", "Other (Other)")


@dataclass(frozen=True)
class Account:
    """A sub account (AWS account or GCP project)."""

    provider: Provider
    id: str
    name: str


PAYER = Account("aws", "111111111111", "Acme ML (payer)")
RESEARCH = Account("aws", "222222222222", "ml-research")
PLATFORM = Account("aws", "333333333333", "ml-platform")
DATA = Account("aws", "444444444444", "data")
GCP_RESEARCH = Account("gcp", "acme-research", "acme-research")
GCP_SERVING = Account("gcp", "acme-serving", "acme-serving")
ACCOUNTS: dict[Provider, tuple[Account, ...]] = {
    "aws": (PAYER, RESEARCH, PLATFORM, DATA),
    "gcp": (GCP_RESEARCH, GCP_SERVING),
}
REGIONS = {"us-east-1": "US East (N. Virginia)", "us-west-2": "US West (Oregon)", "us-central1": "Iowa"}
_AWS_PREFIX = {"us-east-1": "USE1", "us-west-2": "USW2"}


@dataclass(frozen=True)
class Line:
    """One priced SKU: billed per hour a machine runs, or (per_hour 0) by the day for storage and network."""

    sku_id: str
    description: str
    price: Decimal  # per PricingUnit
    per_hour: int  # PricingUnits per machine-hour
    unit: str = "Hours"
    usage_type: str = ""
    operation: str = ""


@dataclass(frozen=True)
class Machine:
    """An instance type as one service bills it."""

    type: str
    service: Service
    lines: tuple[Line, ...]
    resource_type: str
    sp_eligible: bool = False  # covered by the Compute Savings Plan


def _sku(key: str, gcp: bool = False) -> str:
    """A stable synthetic SKU id for a product key."""
    digest = hashlib.sha256(key.encode()).digest()
    if gcp:
        text = digest.hex()[:12].upper()
        return f"{text[:4]}-{text[4:8]}-{text[8:]}"
    return base64.b32encode(digest).decode()[:16]


_EC2_PRICES = {"p4d.24xlarge": "32.7726", "p5.48xlarge": "98.32", "g5.xlarge": "1.006", "g5.12xlarge": "5.672"}
_SAGEMAKER_PRICES = {"ml.p4d.24xlarge": "37.688", "ml.p5.48xlarge": "113.068", "ml.g5.2xlarge": "1.515"}


def ec2(instance_type: str, region: str) -> Machine:
    """An on-demand Linux EC2 instance type (EC2 usage types have no prefix in us-east-1)."""
    price = _EC2_PRICES[instance_type]
    prefix = "" if region == "us-east-1" else _AWS_PREFIX[region] + "-"
    usage_type = f"{prefix}BoxUsage:{instance_type}"
    line = Line(
        _sku(usage_type),
        f"${price} per On Demand Linux {instance_type} Instance Hour",
        Decimal(price),
        1,
        "Hours",
        usage_type,
        "RunInstances",
    )
    return Machine(instance_type, EC2, (line,), "Virtual Machine", sp_eligible=True)


def sagemaker(kind: Literal["Train", "Host"], instance_type: str) -> Machine:
    """A SageMaker training or hosting instance type in us-east-1 (prefix kept, unlike EC2)."""
    price = _SAGEMAKER_PRICES[instance_type]
    usage_type = f"USE1-{kind}:{instance_type}"
    what = "Training" if kind == "Train" else "Hosting"
    line = Line(
        _sku(usage_type),
        f"${price} per {what} {instance_type} hour in US East (N. Virginia)",
        Decimal(price),
        1,
        "Hours",
        usage_type,
        "RunInstance",
    )
    return Machine(instance_type, SAGEMAKER, (line,), "Training Job" if kind == "Train" else "Endpoint")


def _gcp_line(description: str, price: str, per_hour: int, unit: str = "Hours", sku: str = "") -> Line:
    """A GCP SKU line, identified by its description."""
    return Line(sku or _sku(description, gcp=True), description, Decimal(price), per_hour, unit)


_GPU_A100 = "Nvidia Tesla A100 GPU running in Americas"
GCE_MACHINES = {
    "a2-highgpu-8g": Machine(
        "a2-highgpu-8g",
        GCE,
        (
            _gcp_line(_GPU_A100, "2.933908", 8, sku="039F-D0DA-4055"),
            _gcp_line("A2 Instance Core running in Americas", "0.031611", 96),
            _gcp_line("A2 Instance Ram running in Americas", "0.004237", 680, "GB-Hours"),
        ),
        "Virtual Machine",
    ),
    # A3 bundles its eight H100s into the machine SKUs: no separate GPU line.
    "a3-highgpu-8g": Machine(
        "a3-highgpu-8g",
        GCE,
        (
            _gcp_line("A3 Instance Core running in Americas", "0.3845", 208),
            _gcp_line("A3 Instance Ram running in Americas", "0.0044", 1872, "GB-Hours"),
        ),
        "Virtual Machine",
    ),
    "g2-standard-8": Machine(
        "g2-standard-8",
        GCE,
        (
            _gcp_line("Nvidia L4 GPU running in Americas", "0.56", 1),
            _gcp_line("G2 Instance Core running in Americas", "0.024988", 8),
            _gcp_line("G2 Instance Ram running in Americas", "0.002927", 32, "GB-Hours"),
        ),
        "Virtual Machine",
    ),
}
VERTEX_A2 = Machine(
    "a2-highgpu-8g",
    VERTEX,
    (
        _gcp_line("Custom Training Nvidia Tesla A100 GPU running in Americas", "3.3741", 8),
        _gcp_line("Custom Training A2 Instance Core and Ram running in Americas", "6.7561", 1),
    ),
    "Custom Job",
)


def _price_id(line: Line) -> str:
    """The SKU price id: AWS (whose lines have usage types) appends its on-demand offer and rate codes."""
    return f"{line.sku_id}.JRTCKXETXF.6YS6EN2CT7" if line.usage_type else line.sku_id
