"""Daily storage, request and transfer lines that fill the month up to its row count."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from finops.demo.catalogue import (
    _AWS_PREFIX,
    DATA,
    GCP_RESEARCH,
    GCP_SERVING,
    GCS,
    NETWORK,
    PLATFORM,
    REGIONS,
    RESEARCH,
    S3,
    TRANSFER,
    Account,
    Line,
    Service,
    _gcp_line,
    _price_id,
    _sku,
)
from finops.demo.plan import _TEAMS
from finops.demo.rows import _END, _IX, _QTY, _START, ZERO, Ledger, Month, _base, _priced, _row, _service, money, tags


@dataclass(frozen=True)
class Stream:
    """A daily line of one bucket or network path: stored GB, requests or transferred GB."""

    template: list[str]
    account: str
    kind: Literal["storage", "requests", "transfer"]
    price: Decimal
    base: int  # GB stored, requests a weekday, or MB transferred a weekday
    growth: int  # added per day

    def quantities(self, month: Month, day: int) -> tuple[Decimal, Decimal]:
        """Consumed and pricing quantity of one day."""
        if self.kind == "storage":
            gb_months = (Decimal((self.base + self.growth * day) * 24) / month.hours).quantize(_QTY)
            return gb_months, gb_months
        amount = self.base * (10 if month.weekdays[day] else 4) // 10 + self.growth * day
        if self.kind == "requests":
            return Decimal(amount), Decimal(amount) / 1000
        return Decimal(amount) / 1000, Decimal(amount) / 1000


def write_streams(out: Ledger, month: Month, streams: Iterator[Stream], rows: int) -> None:
    """Write exactly `rows` daily rows: whole streams, the last one starting late in the month."""
    while rows > 0:
        stream = next(streams)
        first = max(0, month.days - rows)
        for day in range(first, month.days):
            consumed, priced = stream.quantities(month, day)
            cost = stream.price * priced
            row = stream.template.copy()
            row[_START], row[_END] = month.stamps[day * 24], month.stamps[day * 24 + 24]
            row[_IX["ConsumedQuantity"]], row[_IX["PricingQuantity"]] = format(consumed, "f"), format(priced, "f")
            for name in ("ListCost", "ContractedCost", "BilledCost", "EffectiveCost"):
                row[_IX[name]] = money(cost)
            out.write(row, stream.account, cost)
        rows -= month.days - first


_PURPOSES = ("features", "eval", "logs", "scratch", "exports", "embeddings", "tokenized", "artifacts")
_OWNERS = (*_TEAMS, "data", "platform")
StreamKind = Literal["storage", "requests", "transfer"]
_CONSUMED_UNIT: dict[StreamKind, str] = {"storage": "GB-Months", "requests": "Requests", "transfer": "GB"}


def _stream(
    month: Month,
    service: Service,
    account: Account,
    region: str,
    resource: str,
    owner: str,
    sku: Line,
    kind: StreamKind,
    base: int,
    growth: int = 0,
) -> Stream:
    """A daily stream of one SKU on one resource (or on none, for network paths)."""
    template = _row(
        **_base(month, account),
        **_service(service),
        **_priced(sku.price, ZERO, sku.unit, _CONSUMED_UNIT[kind]),
        RegionId=region,
        RegionName=REGIONS[region],
        ResourceId=resource,
        ResourceName=resource.rsplit("/", 1)[-1],
        ResourceType="Bucket" if service in (S3, GCS) else "",
        Tags=tags(team=owner) if owner else "",
        ChargeDescription=sku.description,
        SkuId=sku.sku_id,
        SkuPriceId=_price_id(sku),
        x_UsageType=sku.usage_type,
        x_Operation=sku.operation,
    )
    return Stream(template, account.id, kind, sku.price, base, growth)


def _aws_line(usage_type: str, description: str, price: str, unit: str, operation: str) -> Line:
    """An AWS SKU line billed by the day, identified by its usage type."""
    return Line(_sku(usage_type), description, Decimal(price), 0, unit, usage_type, operation)


def _s3(
    month: Month, rng: random.Random, bucket: str, account: Account, region: str, owner: str, terabytes: tuple[int, int]
) -> list[Stream]:
    """An S3 bucket's storage, PUT-class and GET-class request streams (no usage type prefix in us-east-1)."""
    prefix = "" if region == "us-east-1" else _AWS_PREFIX[region] + "-"
    gb = rng.randint(terabytes[0] * 1000, terabytes[1] * 1000)
    storage = _aws_line(
        prefix + "TimedStorage-ByteHrs",
        "$0.023 per GB - first 50 TB / month of storage used",
        "0.023",
        "GB-Months",
        "StandardStorage",
    )
    tier1 = _aws_line(
        prefix + "Requests-Tier1",
        "$0.005 per 1,000 PUT, COPY, POST, or LIST requests",
        "0.005",
        "1000 Requests",
        "PutObject",
    )
    tier2 = _aws_line(
        prefix + "Requests-Tier2",
        "$0.0004 per 1,000 GET and all other requests",
        "0.0004",
        "1000 Requests",
        "GetObject",
    )
    return [
        _stream(month, S3, account, region, bucket, owner, storage, "storage", gb, gb // rng.randint(100, 400)),
        _stream(month, S3, account, region, bucket, owner, tier1, "requests", gb * rng.randint(2, 10)),
        _stream(month, S3, account, region, bucket, owner, tier2, "requests", gb * rng.randint(20, 100)),
    ]


def _gcs(
    month: Month, rng: random.Random, bucket: str, account: Account, owner: str, terabytes: tuple[int, int]
) -> list[Stream]:
    """A Cloud Storage bucket's storage, Class A and Class B operation streams."""
    resource = f"//storage.googleapis.com/projects/_/buckets/{bucket}"
    gb = rng.randint(terabytes[0] * 1000, terabytes[1] * 1000)
    storage = _gcp_line("Standard Storage US Central1", "0.020", 0, "GB-Months")
    class_a = _gcp_line("Standard Storage Class A Operations", "0.005", 0, "1000 Requests")
    class_b = _gcp_line("Standard Storage Class B Operations", "0.0004", 0, "1000 Requests")
    region = "us-central1"
    return [
        _stream(month, GCS, account, region, resource, owner, storage, "storage", gb, gb // rng.randint(100, 400)),
        _stream(month, GCS, account, region, resource, owner, class_a, "requests", gb * rng.randint(2, 10)),
        _stream(month, GCS, account, region, resource, owner, class_b, "requests", gb * rng.randint(20, 100)),
    ]


def aws_streams(month: Month, rng: random.Random) -> Iterator[Stream]:
    """AWS daily lines, most telling first: datasets, checkpoints, transfer, then ever more buckets."""
    datasets = _s3(month, rng, "acme-ml-datasets", DATA, "us-east-1", "data", (150, 250))
    checkpoints = _s3(month, rng, "acme-research-checkpoints", RESEARCH, "us-west-2", "research", (20, 80))
    replication = _aws_line(
        "USE1-USW2-AWS-Out-Bytes",
        "$0.02 per GB - US East (N. Virginia) data transfer to US West (Oregon)",
        "0.02",
        "GB",
        "PutObjectForRepl",
    )
    egress = _aws_line(
        "DataTransfer-Out-Bytes",
        "$0.09 per GB - first 10 TB / month data transfer out beyond the global free tier",
        "0.09",
        "GB",
        "RunInstances",
    )
    yield datasets[0]
    yield checkpoints[0]
    yield _stream(
        month,
        TRANSFER,
        DATA,
        "us-east-1",
        "acme-ml-datasets",
        "data",
        replication,
        "transfer",
        rng.randint(2_000_000, 8_000_000),
    )
    yield _stream(
        month,
        TRANSFER,
        PLATFORM,
        "us-east-1",
        "",
        "",
        egress,
        "transfer",  # untagged
        rng.randint(200_000, 800_000),
        rng.randint(0, 5_000),
    )
    for bucket, account, region, owner in (
        ("acme-nlp-checkpoints", RESEARCH, "us-west-2", "nlp"),
        ("acme-vision-checkpoints", RESEARCH, "us-west-2", "vision"),
        ("acme-platform-models", PLATFORM, "us-east-1", "platform"),
    ):
        yield from _s3(month, rng, bucket, account, region, owner, (5, 60))
    yield from datasets[1:] + checkpoints[1:]
    for n in itertools.count(1):
        owner = rng.choice(_OWNERS)
        account = {"data": DATA, "platform": PLATFORM}.get(owner, RESEARCH)
        region = rng.choice(("us-east-1", "us-west-2"))
        bucket = f"acme-{owner}-{rng.choice(_PURPOSES)}-{n:03d}"
        yield from _s3(month, rng, bucket, account, region, "" if n % 5 == 0 else owner, (1, 40))


def gcp_streams(month: Month, rng: random.Random) -> Iterator[Stream]:
    """GCP daily lines, most telling first: datasets, checkpoints, egress, then ever more buckets."""
    datasets = _gcs(month, rng, "acme-research-datasets", GCP_RESEARCH, "data", (80, 160))
    checkpoints = _gcs(month, rng, "acme-research-checkpoints", GCP_RESEARCH, "research", (20, 60))
    egress = _gcp_line("Network Internet Data Transfer Out from Americas to Americas", "0.12", 0, "GB")
    yield datasets[0]
    yield checkpoints[0]
    yield _stream(
        month,
        NETWORK,
        GCP_SERVING,
        "us-central1",
        "",
        "",
        egress,
        "transfer",  # untagged
        rng.randint(100_000, 400_000),
        rng.randint(0, 3_000),
    )
    yield from _gcs(month, rng, "acme-serving-models", GCP_SERVING, "platform", (2, 10))
    yield from datasets[1:] + checkpoints[1:]
    for n in itertools.count(1):
        owner = rng.choice(_OWNERS)
        account = GCP_SERVING if owner == "platform" else GCP_RESEARCH
        bucket = f"acme-{owner}-{rng.choice(_PURPOSES)}-gcs-{n:03d}"
        yield from _gcs(month, rng, bucket, account, "" if n % 5 == 0 else owner, (1, 30))
