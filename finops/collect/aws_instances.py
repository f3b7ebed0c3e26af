"""GPU capacity of the AWS instance types on the bill, from EC2 DescribeInstanceTypes.

Replacement: each run replaces the `instance_types` rows (provider aws) of the types it described and
all `resources` rows it wrote before (source "aws-instances"), in one transaction. Types EC2 does not
describe in the region keep finops's static table (finops/gpus.py), so attribution works offline.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from finops import gpus
from finops.collect import aws_session
from finops.collect.files import combined_checksum
from finops.config import AwsSettings
from finops.errors import InputError
from finops.store import next_load_id, record_load, transaction

SOURCE = "aws-instances"
_BATCH = 100  # instance-type filter values per DescribeInstanceTypes request

_BILLED_TYPES = """
SELECT DISTINCT regexp_replace(lower(x_InstanceType), '^ml\\.', '') FROM cost_line_items
WHERE x_Provider = 'aws' AND x_InstanceType IS NOT NULL ORDER BY 1
"""
_RESOURCES = """
INSERT INTO resources (resource_id, provider, instance_type, gpu_count, gpu_model, gpu_memory_mib, region, source,
                       updated_at)
SELECT li.ResourceId, 'aws', min(li.x_InstanceType), max(c.gpus), max(c.gpu_model), max(t.gpu_memory_mib),
       max(li.RegionId), ?, current_timestamp
FROM cost_line_items AS li
LEFT JOIN _gpu_rows AS c ON c.instance_type = regexp_replace(lower(li.x_InstanceType), '^ml\\.', '')
LEFT JOIN instance_types AS t ON t.provider = 'aws' AND t.instance_type = c.instance_type
WHERE li.x_Provider = 'aws' AND li.ResourceId IS NOT NULL AND li.x_InstanceType IS NOT NULL
GROUP BY li.ResourceId
"""


@dataclass(frozen=True)
class InstancesReport:
    """What one run described and wrote."""

    types_described: int
    gpu_types: int
    unknown_types: int
    resources: int

    def as_row(self) -> dict[str, Any]:
        return {
            "source": SOURCE,
            "types_described": self.types_described,
            "gpu_types": self.gpu_types,
            "unknown_types": self.unknown_types,
            "resources": self.resources,
        }


def collect(
    con: duckdb.DuckDBPyConnection,
    aws: AwsSettings,
    extra_types: Sequence[str] = (),
    notice: Callable[[str], None] = lambda message: None,
) -> InstancesReport:
    """Describe the billed (and extra) instance types; fill instance_types and the billed resources."""
    wanted = sorted(
        {str(r[0]) for r in con.execute(_BILLED_TYPES).fetchall()}
        | {t.lower().removeprefix("ml.") for t in extra_types}
    )
    if not wanted:
        raise InputError(
            "no AWS instance types on the bill; load a CUR first (`finops collect aws-cur`) or name types with --type"
        )
    ec2 = aws_session.client("ec2", aws)
    described = describe(ec2, wanted)
    unknown = [t for t in wanted if t not in described]
    if unknown:
        shown = ", ".join(unknown[:5]) + (" …" if len(unknown) > 5 else "")
        notice(f"EC2 does not describe {len(unknown)} type(s) in this region ({shown}); finops's static table applies")
    with transaction(con):
        con.execute(
            "DELETE FROM instance_types WHERE provider = 'aws' AND instance_type IN (SELECT unnest(?))",
            [list(described)],
        )
        con.executemany(
            "INSERT INTO instance_types VALUES ('aws', ?, ?, ?, ?, ?, ?, 'describe_instance_types', current_timestamp)",
            [[name, *values] for name, values in sorted(described.items())],
        )
        con.execute("DELETE FROM resources WHERE source = ?", [SOURCE])
        con.register("_gpu_rows", gpus.catalog_table(con))
        try:
            con.execute(_RESOURCES, [SOURCE])
        finally:
            con.unregister("_gpu_rows")
        count = con.execute("SELECT count(*) FROM resources WHERE source = ?", [SOURCE]).fetchall()[0][0]
        report = InstancesReport(len(described), sum(1 for v in described.values() if v[0]), len(unknown), int(count))
        record_load(
            con,
            next_load_id(con),
            SOURCE,
            "ec2:DescribeInstanceTypes",
            combined_checksum(wanted),
            [],
            [report.as_row()],
        )
    return report


def describe(ec2: Any, types: Sequence[str]) -> dict[str, tuple[int | None, str | None, int | None, int, int]]:
    """instance type -> (GPU count, GPU model, MiB per GPU, vCPUs, MiB memory), for the types EC2 knows."""
    found = {}
    paginator = ec2.get_paginator("describe_instance_types")
    with aws_session.errors("EC2 DescribeInstanceTypes"):
        for i in range(0, len(types), _BATCH):
            filters = [{"Name": "instance-type", "Values": list(types[i : i + _BATCH])}]
            for page in paginator.paginate(Filters=filters):
                for item in page.get("InstanceTypes", []):
                    devices = item.get("GpuInfo", {}).get("Gpus", [])
                    count = sum(int(d.get("Count", 0)) for d in devices) or None
                    model = devices[0].get("Name") if devices else None
                    memory = devices[0].get("MemoryInfo", {}).get("SizeInMiB") if devices else None
                    found[item["InstanceType"]] = (
                        count,
                        model,
                        memory,
                        int(item.get("VCpuInfo", {}).get("DefaultVCpus", 0)),
                        int(item.get("MemoryInfo", {}).get("SizeInMiB", 0)),
                    )
    return found
