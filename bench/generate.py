"""A month of AWS billing at scale, as AWS delivers it, for the benchmarks: CUR 2.0 Parquet and legacy CUR CSV.gz.

    python -m bench.generate OUT_DIR [--rows 1000000] [--seed 7] [--month 2026-10] [--formats cur2,legacy]

Everything is generated inside DuckDB from `range()` and `hash(row, seed)`, written with COPY in
chunks, so 10M rows never pass through Python objects and the output is the same for the same seed.
The shape follows real exports (../shared/reference/aws-cur.md): 124 CUR 2.0 columns (MAP columns
`product`, `resource_tags`, `cost_category`, `discount`), the legacy CSV's `lineItem/UnblendedCost`
names with one `resourceTags/user:*` and `product/*` column per key, manifests as AWS writes them, a
few thousand resources of which a share are GPU instances and SageMaker jobs, twenty teams, a Savings
Plan covering part of the compute (covered usage with its negation), RI-discounted usage, tax and a
credit. Beside the bill: a workload manifest of training runs placed on the GPU resources, and the
DCGM utilisation of a fifth of them (a saved Prometheus query_range answer).
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from finops.collect.aws_columns import snake
from finops.periods import month_bounds

CHUNK_ROWS = 2_000_000  # rows per data file, as AWS splits large exports
PAYER = "111122223333"
ACCOUNTS = ("111122223333", "222233334444", "333344445555", "444455556666")
TEAMS = 20

# (product code, usage type, operation, instance type, unit, rate, GPUs) — the catalogue rows draw from.
# GPU rows are a tenth of all rows; storage and transfer lines fill the rest, as in a real ML account.
GPU_OFFERINGS = (
    ("AmazonEC2", "BoxUsage:p4d.24xlarge", "RunInstances", "p4d.24xlarge", "Hrs", "32.7726", 8),
    ("AmazonEC2", "USW2-BoxUsage:p5.48xlarge", "RunInstances", "p5.48xlarge", "Hrs", "98.32", 8),
    ("AmazonEC2", "SpotUsage:g5.xlarge", "RunInstances:SV001", "g5.xlarge", "Hrs", "0.4036", 1),
    ("AmazonEC2", "BoxUsage:g6e.12xlarge", "RunInstances", "g6e.12xlarge", "Hrs", "10.4926", 4),
    ("AmazonSageMaker", "USE1-Train:ml.p4d.24xlarge", "RunInstance", "ml.p4d.24xlarge", "Hrs", "37.688", 8),
    ("AmazonSageMaker", "USE1-Host:ml.g5.2xlarge", "RunInstance", "ml.g5.2xlarge", "Hrs", "1.515", 1),
)
OTHER_OFFERINGS = (
    ("AmazonEC2", "BoxUsage:m5.2xlarge", "RunInstances", "m5.2xlarge", "Hrs", "0.384", 0),
    ("AmazonEC2", "EBS:VolumeUsage.gp3", "CreateVolume-Gp3", "", "GB-Mo", "0.08", 0),
    ("AmazonS3", "TimedStorage-ByteHrs", "StandardStorage", "", "GB-Mo", "0.023", 0),
    ("AmazonS3", "Requests-Tier1", "PutObject", "", "Requests", "0.000005", 0),
    ("AWSDataTransfer", "USE1-USW2-AWS-Out-Bytes", "", "", "GB", "0.02", 0),
    ("AmazonCloudWatch", "CW:MetricMonitorUsage", "MetricStorage", "", "Metrics", "0.30", 0),
)

# The legacy CSV's fixed columns (category/Name). Tags, product attributes and cost categories are
# added per key; CUR 2.0 folds those into MAP columns. Snake-case names follow AWS's Athena rule.
LEGACY = [
    *(f"identity/{n}" for n in ("LineItemId", "TimeInterval")),
    *(
        f"bill/{n}"
        for n in (
            "InvoiceId",
            "InvoicingEntity",
            "BillingEntity",
            "BillType",
            "PayerAccountId",
            "BillingPeriodStartDate",
            "BillingPeriodEndDate",
        )
    ),
    *(
        f"lineItem/{n}"
        for n in (
            "UsageAccountId",
            "LineItemType",
            "UsageStartDate",
            "UsageEndDate",
            "ProductCode",
            "UsageType",
            "Operation",
            "AvailabilityZone",
            "ResourceId",
            "UsageAmount",
            "NormalizationFactor",
            "NormalizedUsageAmount",
            "CurrencyCode",
            "UnblendedRate",
            "UnblendedCost",
            "BlendedRate",
            "BlendedCost",
            "LineItemDescription",
            "TaxType",
            "LegalEntity",
            "NetUnblendedRate",
            "NetUnblendedCost",
        )
    ),
    *(
        f"pricing/{n}"
        for n in (
            "RateCode",
            "RateId",
            "currency",
            "publicOnDemandCost",
            "publicOnDemandRate",
            "term",
            "unit",
            "LeaseContractLength",
            "OfferingClass",
            "PurchaseOption",
        )
    ),
    *(
        f"reservation/{n}"
        for n in (
            "AmortizedUpfrontCostForUsage",
            "AmortizedUpfrontFeeForBillingPeriod",
            "AvailabilityZone",
            "EffectiveCost",
            "EndTime",
            "ModificationStatus",
            "NetAmortizedUpfrontCostForUsage",
            "NetAmortizedUpfrontFeeForBillingPeriod",
            "NetEffectiveCost",
            "NetRecurringFeeForUsage",
            "NetUnusedAmortizedUpfrontFeeForBillingPeriod",
            "NetUnusedRecurringFee",
            "NetUpfrontValue",
            "NormalizedUnitsPerReservation",
            "NumberOfReservations",
            "RecurringFeeForUsage",
            "ReservationARN",
            "StartTime",
            "SubscriptionId",
            "TotalReservedNormalizedUnits",
            "TotalReservedUnits",
            "UnitsPerReservation",
            "UnusedAmortizedUpfrontFeeForBillingPeriod",
            "UnusedNormalizedUnitQuantity",
            "UnusedQuantity",
            "UnusedRecurringFee",
            "UpfrontValue",
        )
    ),
    *(
        f"savingsPlan/{n}"
        for n in (
            "TotalCommitmentToDate",
            "SavingsPlanARN",
            "SavingsPlanRate",
            "UsedCommitment",
            "SavingsPlanEffectiveCost",
            "AmortizedUpfrontCommitmentForBillingPeriod",
            "RecurringCommitmentForBillingPeriod",
            "StartTime",
            "EndTime",
            "OfferingType",
            "PaymentOption",
            "PurchaseTerm",
            "Region",
            "InstanceTypeFamily",
            "NetSavingsPlanEffectiveCost",
            "NetAmortizedUpfrontCommitmentForBillingPeriod",
            "NetRecurringCommitmentForBillingPeriod",
        )
    ),
    *(
        f"splitLineItem/{n}"
        for n in (
            "ActualUsage",
            "NetSplitCost",
            "NetUnusedCost",
            "ParentResourceId",
            "PublicOnDemandSplitCost",
            "PublicOnDemandUnusedCost",
            "ReservedUsage",
            "SplitCost",
            "SplitUsage",
            "SplitUsageRatio",
            "UnusedCost",
        )
    ),
    *(f"discount/{n}" for n in ("BundledDiscount", "TotalDiscount")),
]
# product/* columns as the legacy CSV names them (camelCase, as AWS writes them; CUR 2.0's names are their
# snake-case form): the top-level ones CUR 2.0 keeps, then the ones it folds into the `product` map.
PRODUCT_TOP = (
    "comment",
    "feeCode",
    "feeDescription",
    "fromLocation",
    "fromLocationType",
    "fromRegionCode",
    "instanceFamily",
    "instanceType",
    "instancesku",
    "location",
    "locationType",
    "operation",
    "pricingUnit",
    "productFamily",
    "regionCode",
    "servicecode",
    "sku",
    "toLocation",
    "toLocationType",
    "toRegionCode",
    "usagetype",
)
PRODUCT_MAP = (
    "ProductName",
    "region",
    "gpu",
    "gpuMemory",
    "vcpu",
    "memory",
    "storage",
    "networkPerformance",
    "physicalProcessor",
    "clockSpeed",
    "tenancy",
    "operatingSystem",
    "licenseModel",
    "preInstalledSw",
    "capacitystatus",
    "marketoption",
    "normalizationSizeFactor",
)
TAGS = ("team", "project", "env", "training_run", "deployment", "owner", "cost_center", "kubernetes_io_cluster")
COST_CATEGORIES = ("business_unit", "environment")


@dataclass(frozen=True)
class Generated:
    cur2: list[Path]
    legacy: list[Path]
    workloads: Path
    telemetry: Path
    rows: int
    columns_cur2: int
    columns_legacy: int


def _offerings(con: duckdb.DuckDBPyConnection) -> None:
    rows = [(i, *o) for i, o in enumerate(GPU_OFFERINGS + OTHER_OFFERINGS)]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE offering (k INTEGER, product_code VARCHAR, usage_type VARCHAR, operation VARCHAR,"
        " instance_type VARCHAR, unit VARCHAR, rate DECIMAL(18, 6), gpus INTEGER)"
    )
    con.executemany("INSERT INTO offering VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)


def _base_sql(rows: int, seed: int, month_start: datetime, hours: int, resources: int) -> str:
    """One row per line item with the values every format shares; `lo`/`hi` bound a chunk."""
    gpu_kinds, other_kinds = len(GPU_OFFERINGS), len(OTHER_OFFERINGS)
    start = month_start.strftime("%Y-%m-%d %H:%M:%S")
    return f"""
    WITH r AS (
        SELECT i,
               hash(i * 4, {seed}) AS h1, hash(i * 4 + 1, {seed}) AS h2, hash(i * 4 + 2, {seed}) AS h3
        FROM range($lo, $hi) t(i)
    ), shaped AS (
        SELECT i, h1, h2, h3,
               CASE WHEN i >= {rows} - 3 THEN 'month_end'
                    WHEN h1 % 10 = 0 THEN 'gpu' ELSE 'other' END AS family,
               (h2 % {hours})::INTEGER AS hour
        FROM r
    ), picked AS (
        SELECT s.*,
               CASE family WHEN 'gpu' THEN (h3 % {gpu_kinds})::INTEGER
                           ELSE {gpu_kinds} + (h3 % {other_kinds})::INTEGER END AS k,
               CASE family WHEN 'gpu' THEN (h1 // 10) % {max(resources // 20, 8)}
                           ELSE (h1 // 10) % {resources} END AS res
        FROM shaped s
    ), placed AS (
        SELECT *, list_element({list(ACCOUNTS)}, (res % {len(ACCOUNTS)})::INTEGER + 1) AS account, hour // 24 AS day
        FROM picked
    )
    SELECT p.i, p.hour, p.family, o.*,
           TIMESTAMPTZ '{start}+00' + to_hours(p.hour) AS usage_start,
           TIMESTAMPTZ '{start}+00' + to_hours(p.hour + 1) AS usage_end,
           p.account,
           'team-' || lpad(((p.res * 7) % {TEAMS})::VARCHAR, 2, '0') AS team,
           CASE WHEN o.product_code = 'AmazonSageMaker' AND o.usage_type LIKE '%Train:%'
                    THEN 'arn:aws:sagemaker:us-east-1:' || p.account || ':training-job/job-' || p.res || '-' || p.day
                WHEN o.product_code = 'AmazonSageMaker'
                    THEN 'arn:aws:sagemaker:us-east-1:' || p.account || ':endpoint/endpoint-' || p.res
                WHEN o.product_code = 'AmazonEC2' AND o.instance_type <> ''
                    THEN 'i-' || lpad(printf('%x', p.res), 17, '0')
                WHEN o.product_code = 'AmazonEC2' THEN 'vol-' || lpad(printf('%x', p.res), 17, '0')
                WHEN o.product_code = 'AmazonS3' THEN 'ml-data-' || (p.res % 50)
                ELSE '' END AS resource_id,
           CASE WHEN o.unit = 'Hrs' THEN 1::DECIMAL(18, 6)
                ELSE ((p.h3 // 16) % 100000)::DECIMAL(18, 6) / 1000 END AS amount,
           CASE WHEN p.family = 'gpu' AND p.h2 % 8 = 0 THEN 'SavingsPlanCoveredUsage'
                WHEN p.family = 'gpu' AND p.h2 % 8 = 1 THEN 'SavingsPlanNegation'
                WHEN p.family = 'gpu' AND p.h2 % 8 = 2 AND o.usage_type NOT LIKE '%Spot%' THEN 'DiscountedUsage'
                WHEN p.family = 'month_end' THEN list_element(['Tax', 'Credit', 'Fee'], (p.i % 3)::INTEGER + 1)
                ELSE 'Usage' END AS line_type,
           p.res, 'run-' || p.res || '-' || p.day || '-' || (p.hour % 24) // 4 AS training_run
    FROM placed p JOIN offering o USING (k)
    """


_COST = """
    CASE line_type WHEN 'DiscountedUsage' THEN 0::DECIMAL(38, 10)
                   WHEN 'SavingsPlanNegation' THEN -(amount * rate)::DECIMAL(38, 10)
                   WHEN 'Tax' THEN 1234.5600::DECIMAL(38, 10)
                   WHEN 'Credit' THEN -500.0000::DECIMAL(38, 10)
                   WHEN 'Fee' THEN 100.0000::DECIMAL(38, 10)
                   ELSE (amount * rate)::DECIMAL(38, 10) END
"""


NUMERIC = re.compile(
    r"(Cost|Rate|Amount|Factor|Fee|Value|Units|Quantity|Discount|Usage|Commitment|Ratio|"
    r"Reservations|ToDate|ForBillingPeriod|ForUsage)$"
)
TIMES = {"bill/BillingPeriodStartDate", "bill/BillingPeriodEndDate", "lineItem/UsageStartDate", "lineItem/UsageEndDate"}


def _values() -> dict[str, str]:
    """SQL for the columns the generator fills (natural types); every other column is NULL."""
    cost = _COST.strip()
    public = "(amount * rate)::DECIMAL(38, 10)"
    return {
        "identity/LineItemId": "md5(i::VARCHAR)",
        "identity/TimeInterval": "strftime(usage_start, '%Y-%m-%dT%H:%M:%SZ') || '/' || "
        "strftime(usage_end, '%Y-%m-%dT%H:%M:%SZ')",
        "bill/InvoiceId": "'EUINGB26-0001'",
        "bill/InvoicingEntity": "'Amazon Web Services, Inc.'",
        "bill/BillingEntity": "'AWS'",
        "bill/BillType": "'Anniversary'",
        "bill/PayerAccountId": f"'{PAYER}'",
        "bill/BillingPeriodStartDate": "$period_start",
        "bill/BillingPeriodEndDate": "$period_end",
        "lineItem/UsageAccountId": "account",
        "lineItem/LineItemType": "line_type",
        "lineItem/UsageStartDate": "usage_start",
        "lineItem/UsageEndDate": "usage_end",
        "lineItem/ProductCode": "CASE WHEN family = 'month_end' THEN 'AmazonEC2' ELSE product_code END",
        "lineItem/UsageType": "CASE WHEN family = 'month_end' THEN '' ELSE usage_type END",
        "lineItem/Operation": "CASE WHEN family = 'month_end' THEN '' ELSE operation END",
        "lineItem/AvailabilityZone": "CASE WHEN instance_type <> '' THEN 'us-east-1a' ELSE '' END",
        "lineItem/ResourceId": "CASE WHEN family = 'month_end' THEN '' ELSE resource_id END",
        "lineItem/UsageAmount": "CASE WHEN family = 'month_end' THEN 0 ELSE amount END",
        "lineItem/NormalizationFactor": "CASE WHEN instance_type <> '' THEN 64 ELSE 0 END",
        "lineItem/NormalizedUsageAmount": "CASE WHEN instance_type <> '' THEN amount * 64 ELSE 0 END",
        "lineItem/CurrencyCode": "'USD'",
        "lineItem/UnblendedRate": "rate",
        "lineItem/UnblendedCost": cost,
        "lineItem/BlendedRate": "rate",
        "lineItem/BlendedCost": cost,
        "lineItem/LineItemDescription": "'$' || rate || ' per ' || unit || ' for ' || usage_type",
        "lineItem/TaxType": "CASE line_type WHEN 'Tax' THEN 'VAT' ELSE '' END",
        "lineItem/LegalEntity": "'Amazon Web Services, Inc.'",
        "pricing/RateCode": "md5(usage_type) || '.JRTCKXETXF.6YS6EN2CT7'",
        "pricing/RateId": "(hash(usage_type) % 1000000000)::VARCHAR",
        "pricing/currency": "'USD'",
        "pricing/publicOnDemandCost": f"CASE WHEN family = 'month_end' THEN {cost} ELSE {public} END",
        "pricing/publicOnDemandRate": "rate",
        "pricing/term": "CASE WHEN usage_type LIKE '%Spot%' THEN '' WHEN line_type = 'DiscountedUsage' "
        "THEN 'Reserved' ELSE 'OnDemand' END",
        "pricing/unit": "unit",
        "reservation/EffectiveCost": "CASE line_type WHEN 'DiscountedUsage' "
        "THEN (amount * rate * 0.6)::DECIMAL(38, 10) END",
        "reservation/ReservationARN": f"CASE line_type WHEN 'DiscountedUsage' THEN 'arn:aws:ec2:us-east-1:{PAYER}"
        ":reserved-instances/ri-' || (i % 7) ELSE '' END",
        "savingsPlan/SavingsPlanARN": "CASE WHEN line_type IN ('SavingsPlanCoveredUsage', 'SavingsPlanNegation') "
        f"THEN 'arn:aws:savingsplans::{PAYER}:savingsplan/sp-1' ELSE '' END",
        "savingsPlan/SavingsPlanRate": "CASE line_type WHEN 'SavingsPlanCoveredUsage' THEN rate * 0.72 END",
        "savingsPlan/SavingsPlanEffectiveCost": "CASE line_type WHEN 'SavingsPlanCoveredUsage' "
        "THEN (amount * rate * 0.72)::DECIMAL(38, 10) END",
        "savingsPlan/OfferingType": "CASE line_type WHEN 'SavingsPlanCoveredUsage' THEN 'ComputeSavingsPlans' END",
        "product/instanceType": "instance_type",
        "product/regionCode": "'us-east-1'",
        "product/productFamily": "CASE WHEN instance_type <> '' THEN 'Compute Instance' ELSE 'Storage' END",
        "product/servicecode": "product_code",
        "product/usagetype": "usage_type",
        "product/operation": "operation",
        "product/instanceFamily": "split_part(replace(instance_type, 'ml.', ''), '.', 1)",
        "product/location": "'US East (N. Virginia)'",
        "product/locationType": "'AWS Region'",
        "product/sku": "upper(substr(md5(usage_type), 1, 16))",
        "product/pricingUnit": "unit",
        "product/ProductName": "product_code",
        "product/region": "'us-east-1'",
        "product/gpu": "CASE WHEN gpus > 0 THEN gpus END",
        "product/tenancy": "'Shared'",
        "product/operatingSystem": "CASE WHEN instance_type <> '' THEN 'Linux' END",
        "resourceTags/user:team": "team",
        "resourceTags/user:project": "'proj-' || (hash(team) % 9)",
        "resourceTags/user:env": "'prod'",
        # Dedicated instances (a quarter) carry their run's tag; the rest are shared and need placements.
        "resourceTags/user:training_run": "CASE WHEN family = 'gpu' AND usage_type NOT LIKE '%Host:%' "
        "AND res % 4 = 0 THEN training_run END",
        "resourceTags/user:deployment": "CASE WHEN usage_type LIKE '%Host:%' THEN 'endpoint-' || hour % 5 END",
        "resourceTags/user:owner": "team || '-lead'",
        "resourceTags/user:cost_center": "'cc-' || (hash(team) % 4)",
        "resourceTags/user:kubernetes_io_cluster": "CASE WHEN instance_type LIKE 'g%' THEN 'eks-ml' END",
        "costCategory/business_unit": "'ml'",
        "costCategory/environment": "'production'",
    }


def legacy_columns() -> list[str]:
    """Every column of the legacy CSV, in AWS's order: fixed ones, product/*, tags, cost categories."""
    return [
        *LEGACY,
        *(f"product/{p}" for p in PRODUCT_TOP + PRODUCT_MAP),
        *(f"resourceTags/user:{t}" for t in TAGS),
        *(f"costCategory/{c}" for c in COST_CATEGORIES),
    ]


def _typed(name: str, sql: str | None, parquet: bool) -> str:
    """The column's SQL as CSV text (legacy) or as CUR 2.0 Parquet types (double, timestamp, string)."""
    if name in TIMES:
        if sql is None:
            return "NULL::TIMESTAMP" if parquet else "''"
        return f"({sql})::TIMESTAMP" if parquet else f"strftime({sql}, '%Y-%m-%dT%H:%M:%SZ')"
    numeric = NUMERIC.search(name) is not None and not name.endswith(("ARN", "Id"))
    if sql is None:
        return ("NULL::DOUBLE" if numeric else "NULL::VARCHAR") if parquet else "''"
    if parquet:
        return f"({sql})::DOUBLE" if numeric else f"({sql})::VARCHAR"
    return f"coalesce(({sql})::VARCHAR, '')"


def _map(values: dict[str, str], legacy_prefix: str, keys: dict[str, str]) -> str:
    """A CUR 2.0 MAP column from the legacy columns `legacy_prefix + k`, keyed by `keys[k]`."""
    entries = ", ".join(
        f"{{'k': '{key}', 'v': ({values[legacy_prefix + k]})::VARCHAR}}"
        for k, key in keys.items()
        if legacy_prefix + k in values
    )
    return f"map_from_entries(list_filter([{entries}], lambda e: e.v IS NOT NULL))"


def select_list(parquet: bool) -> str:
    """The SELECT list of one format: legacy CSV names, or CUR 2.0 snake names with MAP columns."""
    values = _values()
    if not parquet:
        return ",\n".join(f'{_typed(c, values.get(c), False)} AS "{c}"' for c in legacy_columns())
    columns = [f"{_typed(c, values.get(c), True)} AS {snake(c)}" for c in LEGACY]
    product = [f"product/{p}" for p in PRODUCT_TOP]
    columns += [f"{_typed(c, values.get(c), True)} AS {snake(c)}" for c in product]
    product_keys = {p: snake(f"product/{p}").removeprefix("product_") for p in PRODUCT_MAP}
    columns += [
        f"{_map(values, 'product/', product_keys)} AS product",
        f"{_map(values, 'resourceTags/user:', {t: f'user_{t}' for t in TAGS})} AS resource_tags",
        f"{_map(values, 'costCategory/', {c: c for c in COST_CATEGORIES})} AS cost_category",
        "MAP {}::MAP(VARCHAR, DOUBLE) AS discount",
        "map_from_entries([{'k': 'user_team', 'v': team}]) AS tags",
    ]
    return ",\n".join(columns)


def generate(
    out_dir: Path, rows: int, seed: int = 7, month: str = "2026-10", formats: tuple[str, ...] = ("cur2", "legacy")
) -> Generated:
    """Write the month in each format under `out_dir`; return the files (data and manifests)."""
    start, end = month_bounds(month)
    hours = int((end - start).total_seconds() // 3600)
    resources = max(2_000, rows // 500)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET preserve_insertion_order = false")
    _offerings(con)
    base = _base_sql(rows, seed, start, hours, resources)
    params = {"period_start": start, "period_end": end}
    chunks = [(lo, min(lo + CHUNK_ROWS, rows)) for lo in range(0, rows, CHUNK_ROWS)]
    cur2: list[Path] = []
    legacy: list[Path] = []
    period = f"{start:%Y-%m}"
    if "cur2" in formats:
        export = out_dir / "cur2" / "bench-export"
        data = export / "data" / f"BILLING_PERIOD={period}"
        data.mkdir(parents=True, exist_ok=True)
        query = f"SELECT {select_list(True)} FROM ({base})"
        for n, (lo, hi) in enumerate(chunks, 1):
            path = data / f"bench-export-{n:05d}.snappy.parquet"
            con.execute(
                f"COPY ({query}) TO '{path}' (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 122880)",
                {**params, "lo": lo, "hi": hi},
            )
            cur2.append(path)
        columns = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{cur2[0]}')").fetchall()
        manifest = export / "metadata" / f"BILLING_PERIOD={period}" / "bench-export-Manifest.json"
        manifest.parent.mkdir(parents=True, exist_ok=True)
        manifest.write_text(
            json.dumps(
                {
                    "executionId": f"bench-{seed}-{rows}",
                    "billingPeriod": {
                        "start": f"{start:%Y-%m-%dT%H:%M:%S.000Z}",
                        "end": f"{end:%Y-%m-%dT%H:%M:%S.000Z}",
                    },
                    "dataFiles": [
                        f"s3://bench-bucket/cur2/bench-export/data/BILLING_PERIOD={period}/{p.name}" for p in cur2
                    ],
                    "columns": [{"name": c[0], "type": c[1].lower()} for c in columns],
                },
                indent=2,
            )
        )
        cur2.append(manifest)
    if "legacy" in formats:
        folder = out_dir / "legacy" / "bench" / f"{start:%Y%m%d}-{end:%Y%m%d}"
        assembly = f"a{seed:07d}-{rows:012d}"
        (folder / assembly).mkdir(parents=True, exist_ok=True)
        query = f"SELECT {select_list(False)} FROM ({base})"
        for n, (lo, hi) in enumerate(chunks, 1):
            path = folder / assembly / f"bench-{n}.csv.gz"
            con.execute(
                f"COPY ({query}) TO '{path}' (FORMAT csv, HEADER, COMPRESSION gzip)", {**params, "lo": lo, "hi": hi}
            )
            legacy.append(path)
        names = legacy_columns()
        manifest_text = json.dumps(
            {
                "assemblyId": assembly,
                "account": PAYER,
                "columns": [
                    {"category": c.split("/", 1)[0], "name": c.split("/", 1)[1], "type": "String"} for c in names
                ],
                "charset": "UTF-8",
                "compression": "GZIP",
                "contentType": "text/csv",
                "reportId": "bench",
                "reportName": "bench",
                "billingPeriod": {"start": f"{start:%Y%m%dT000000.000Z}", "end": f"{end:%Y%m%dT000000.000Z}"},
                "bucket": "bench-bucket",
                "reportKeys": [f"legacy/bench/{folder.name}/{assembly}/{p.name}" for p in legacy],
            },
            indent=2,
        )
        for manifest in (folder / assembly / "bench-Manifest.json", folder / "bench-Manifest.json"):
            manifest.write_text(manifest_text)
            legacy.append(manifest)
    # Training runs on the GPU instances: up to six a day on each (one per four-hour slot), starting
    # mid-hour, running one to four hours on 1, 2, 4 or 8 GPUs, so runs share instances and overlap.
    workloads = out_dir / f"workloads-{period}.csv"
    con.execute(
        f"""COPY (
            SELECT 'run-' || res || '-' || day || '-' || slot AS workload_id, 'training' AS kind,
                   'team-' || lpad(((res * 7) % {TEAMS})::VARCHAR, 2, '0') AS team,
                   'i-' || lpad(printf('%x', res), 17, '0') AS resource_id,
                   list_element([8, 4, 2, 1], (hash(res, day, slot, {seed} + 1) % 4)::INTEGER + 1) AS gpus,
                   strftime($period_start + to_minutes(start_minute), '%Y-%m-%dT%H:%M:%SZ') AS start,
                   strftime($period_start + to_minutes(start_minute + minutes), '%Y-%m-%dT%H:%M:%SZ') AS "end"
            FROM (
                SELECT res, day, slot,
                       (day * 24 + slot * 4) * 60 + (hash(res, day, slot, {seed}) % 60)::BIGINT AS start_minute,
                       60 + (hash(res, day, slot, {seed} + 2) % 180)::BIGINT AS minutes
                FROM range(0, {max(resources // 20, 8)}) r(res), range(0, {hours // 24}) d(day), range(0, 6) s(slot)
                WHERE hash(res, day, slot, {seed} + 5) % 3 <> 0
            )
            ORDER BY start_minute, res
        ) TO '{workloads}' (FORMAT csv, HEADER)""",
        {"period_start": start},
    )
    # DCGM telemetry of a fifth of the GPU instances: each GPU's utilisation once an hour (at half past),
    # as a saved Prometheus query_range answer; the Hostname label is the instance id the bill names.
    telemetry = out_dir / f"dcgm-gpu-util-{period}.json"
    con.execute(
        f"""COPY (
            SELECT 'success' AS status,
                   {{'resultType': 'matrix', 'result': list(series ORDER BY res, gpu)}} AS data
            FROM (
                SELECT res, gpu,
                       {{'metric': {{'__name__': 'DCGM_FI_DEV_GPU_UTIL',
                                    'Hostname': 'i-' || lpad(printf('%x', res), 17, '0'),
                                    'UUID': 'GPU-' || lpad(printf('%x', res), 8, '0') || '-' || gpu,
                                    'gpu': gpu::VARCHAR}},
                        'values': CAST('[' || string_agg('[' || (epoch($period_start) + h * 3600 + 1800)::BIGINT
                                  || ',"' || (hash(res, gpu, h, {seed}) % 101) || '"]', ',' ORDER BY h) || ']' AS JSON)
                       }} AS series
                FROM range(0, {max(resources // 20, 8)}, 5) r(res), range(0, 8) g(gpu), range(0, {hours}) t(h)
                GROUP BY res, gpu
            )
        ) TO '{telemetry}' (FORMAT json)""",
        {"period_start": start},
    )
    con.close()
    return Generated(
        cur2, legacy, workloads, telemetry, rows, len(LEGACY) + len(PRODUCT_TOP) + 5, len(legacy_columns())
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--month", default="2026-10")
    parser.add_argument("--formats", default="cur2,legacy")
    args = parser.parse_args()
    made = generate(args.out_dir, args.rows, args.seed, args.month, tuple(args.formats.split(",")))
    print(f"{made.rows} line items: CUR 2.0 {made.columns_cur2} columns, legacy CSV {made.columns_legacy} columns")
    for path in [*made.cur2, *made.legacy, made.workloads, made.telemetry]:
        print(path)


if __name__ == "__main__":
    main()
