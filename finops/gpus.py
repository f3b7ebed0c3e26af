"""GPU capacity of accelerator instance and machine types (AWS EC2/SageMaker, GCE), for offline use.

Counts and models from the providers' instance-type documentation (EC2 `describe_instance_types`
GpuInfo; GCE accelerator-optimised machine families). SageMaker's `ml.` prefix is stripped before
lookup. Types not listed have no GPUs as far as attribution is concerned; the `resources` table
(inventory collectors) and a line's x_GpuCount take precedence. This table is the offline fallback:
GPU types collected into the store's `instance_types` (`finops collect aws-instances`) win over it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa

if TYPE_CHECKING:
    import duckdb

_AWS = {
    "p3.2xlarge": (1, "V100"),
    "p3.8xlarge": (4, "V100"),
    "p3.16xlarge": (8, "V100"),
    "p3dn.24xlarge": (8, "V100"),
    "p4d.24xlarge": (8, "A100"),
    "p4de.24xlarge": (8, "A100"),
    "p5.48xlarge": (8, "H100"),
    "p5e.48xlarge": (8, "H200"),
    "p5en.48xlarge": (8, "H200"),
    "p6-b200.48xlarge": (8, "B200"),
    "g3.4xlarge": (1, "M60"),
    "g3.8xlarge": (2, "M60"),
    "g3.16xlarge": (4, "M60"),
    "g4dn.xlarge": (1, "T4"),
    "g4dn.2xlarge": (1, "T4"),
    "g4dn.4xlarge": (1, "T4"),
    "g4dn.8xlarge": (1, "T4"),
    "g4dn.16xlarge": (1, "T4"),
    "g4dn.12xlarge": (4, "T4"),
    "g4dn.metal": (8, "T4"),
    "g5.xlarge": (1, "A10G"),
    "g5.2xlarge": (1, "A10G"),
    "g5.4xlarge": (1, "A10G"),
    "g5.8xlarge": (1, "A10G"),
    "g5.16xlarge": (1, "A10G"),
    "g5.12xlarge": (4, "A10G"),
    "g5.24xlarge": (4, "A10G"),
    "g5.48xlarge": (8, "A10G"),
    "g6.xlarge": (1, "L4"),
    "g6.2xlarge": (1, "L4"),
    "g6.4xlarge": (1, "L4"),
    "g6.8xlarge": (1, "L4"),
    "g6.16xlarge": (1, "L4"),
    "g6.12xlarge": (4, "L4"),
    "g6.24xlarge": (4, "L4"),
    "g6.48xlarge": (8, "L4"),
    "g6e.xlarge": (1, "L40S"),
    "g6e.2xlarge": (1, "L40S"),
    "g6e.4xlarge": (1, "L40S"),
    "g6e.8xlarge": (1, "L40S"),
    "g6e.16xlarge": (1, "L40S"),
    "g6e.12xlarge": (4, "L40S"),
    "g6e.24xlarge": (4, "L40S"),
    "g6e.48xlarge": (8, "L40S"),
}
_GCE = {
    "a2-highgpu-1g": (1, "A100"),
    "a2-highgpu-2g": (2, "A100"),
    "a2-highgpu-4g": (4, "A100"),
    "a2-highgpu-8g": (8, "A100"),
    "a2-megagpu-16g": (16, "A100"),
    "a2-ultragpu-1g": (1, "A100 80GB"),
    "a2-ultragpu-2g": (2, "A100 80GB"),
    "a2-ultragpu-4g": (4, "A100 80GB"),
    "a2-ultragpu-8g": (8, "A100 80GB"),
    "a3-highgpu-1g": (1, "H100"),
    "a3-highgpu-2g": (2, "H100"),
    "a3-highgpu-4g": (4, "H100"),
    "a3-highgpu-8g": (8, "H100"),
    "a3-edgegpu-8g": (8, "H100"),
    "a3-megagpu-8g": (8, "H100"),
    "a3-ultragpu-8g": (8, "H200"),
    "a4-highgpu-8g": (8, "B200"),
    "a4x-highgpu-4g": (4, "GB200"),
    "g2-standard-4": (1, "L4"),
    "g2-standard-8": (1, "L4"),
    "g2-standard-12": (1, "L4"),
    "g2-standard-16": (1, "L4"),
    "g2-standard-32": (1, "L4"),
    "g2-standard-24": (2, "L4"),
    "g2-standard-48": (4, "L4"),
    "g2-standard-96": (8, "L4"),
    "g4-standard-48": (1, "RTX PRO 6000"),
    "g4-standard-96": (2, "RTX PRO 6000"),
    "g4-standard-192": (4, "RTX PRO 6000"),
    "g4-standard-384": (8, "RTX PRO 6000"),
}
CATALOG: dict[str, tuple[int, str]] = {**_AWS, **_GCE}


def catalog_table(con: duckdb.DuckDBPyConnection | None = None) -> pa.Table:
    """The catalogue as an Arrow table (instance_type, gpus, gpu_model) to join in SQL.

    With a store connection, GPU instance types collected into `instance_types` replace the static rows.
    """
    catalog = dict(CATALOG)
    if con is not None:
        collected = con.execute(
            "SELECT instance_type, gpu_count, gpu_model FROM instance_types WHERE gpu_count > 0 "
            "ORDER BY updated_at, instance_type"
        ).fetchall()
        catalog.update({str(name): (int(count), str(model)) for name, count, model in collected})
    names = sorted(catalog)
    return pa.table(
        {
            "instance_type": names,
            "gpus": [catalog[n][0] for n in names],
            "gpu_model": [catalog[n][1] for n in names],
        }
    )
