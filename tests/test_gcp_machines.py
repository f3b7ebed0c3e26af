"""GCE machine types with GPUs: the static table and the live Compute Engine lookup (local REST stand-in)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from finops.collect import gcp_billing, gcp_machines
from tests.conftest import FIXTURES, one_line_error, query, snapshot
from tests.httpfake import Request, serve

EXPORT = FIXTURES / "gcp" / "billing-export-detailed.ndjson"
PATH = "/compute/v1/projects/ml-train/aggregated/machineTypes"


def _machine(name: str, cpus: int, memory: int, accelerator: str | None = None, count: int = 0) -> dict[str, Any]:
    found: dict[str, Any] = {"kind": "compute#machineType", "name": name, "guestCpus": cpus, "memoryMb": memory}
    if accelerator:
        found["accelerators"] = [{"guestAcceleratorType": accelerator, "guestAcceleratorCount": count}]
    return found


PAGES = [
    {
        "items": {
            "zones/us-central1-a": {
                "machineTypes": [
                    _machine("a2-highgpu-2g", 24, 174080, "nvidia-tesla-a100", 2),
                    _machine("n2-standard-8", 8, 32768),
                ]
            },
            "zones/us-central1-b": {"warning": {"code": "NO_RESULTS_ON_PAGE", "message": "no results"}},
        },
        "nextPageToken": "p2",
    },
    {
        "items": {
            "zones/europe-west4-a": {
                "machineTypes": [
                    _machine("a2-highgpu-2g", 24, 174080, "nvidia-tesla-a100", 2),
                    _machine("a3-highgpu-8g", 208, 1905664, "nvidia-h100-80gb", 8),
                    _machine("n1-custom-gpu-x", 8, 30720, "nvidia-tesla-x9000", 1),
                ]
            }
        }
    },
]


def _routes(deny: bool = False) -> dict[tuple[str, str], Any]:
    def machine_types(request: Request) -> tuple[int, Any]:
        if deny:
            return 403, {"error": {"code": 403, "message": "Required 'compute.machineTypes.list' permission"}}
        return 200, PAGES[1 if request.query.get("pageToken") == ["p2"] else 0]

    return {("GET", PATH): machine_types}


def test_live_lookup_keeps_machine_types_with_gpus_across_pages(con: duckdb.DuckDBPyConnection) -> None:
    with serve(_routes()) as server:
        rows = gcp_machines.live_machine_types("ml-train", server.url)
    gcp_machines.replace(con, {gcp_machines.LIVE: rows})
    assert [r.query.get("pageToken") for r in server.requests] == [None, ["p2"]]
    assert all("authorization" not in r.headers for r in server.requests)
    assert con.execute(
        "SELECT instance_type, gpu_count, gpu_model, gpu_memory_mib, vcpus, memory_mib, source FROM instance_types "
        "ORDER BY 1"
    ).fetchall() == [
        ("a2-highgpu-2g", 2, "A100", 40960, 24, 174080, "compute.machineTypes"),
        ("a3-highgpu-8g", 8, "H100", 81920, 208, 1905664, "compute.machineTypes"),
        ("n1-custom-gpu-x", 1, "nvidia-tesla-x9000", None, 8, 30720, "compute.machineTypes"),
    ]


def test_stored_machine_types_win_over_the_static_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "INSERT INTO instance_types VALUES ('gcp', 'a2-highgpu-2g', 4, 'A100 (test)', NULL, NULL, NULL, "
        "'compute.machineTypes', current_timestamp)"
    )
    gcp_billing.collect(con, [str(EXPORT)])
    assert con.execute(
        "SELECT DISTINCT x_GpuCount, x_GpuModel FROM cost_line_items WHERE x_InstanceType = 'a2-highgpu-2g'"
    ).fetchall() == [(Decimal(4), "A100 (test)")]


def test_cli_static_and_live(run: Any, db: Path) -> None:
    with serve(_routes()) as server:
        result = run(
            "collect", "gcp-machine-types", "--project", "ml-train", "--endpoint", server.url, "--format", "csv"
        )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1:] == ["gcp,static,30", "gcp,compute.machineTypes,3"]
    assert query(
        db,
        "SELECT instance_type, gpu_count, gpu_model, gpu_memory_mib FROM instance_types WHERE source = 'static' "
        "AND instance_type IN ('a2-ultragpu-8g', 'a3-megagpu-8g', 'g2-standard-24', 'a4-highgpu-8g') ORDER BY 1",
    ) == [
        ("a2-ultragpu-8g", 8, "A100 80GB", 81920),
        ("a3-megagpu-8g", 8, "H100", 81920),
        ("a4-highgpu-8g", 8, "B200", 184320),
        ("g2-standard-24", 2, "L4", 24576),
    ]
    again = run("collect", "gcp-machine-types", "--format", "csv")
    assert again.stdout.splitlines()[1:] == ["gcp,static,30"]
    assert query(db, "SELECT source, count(*) FROM instance_types GROUP BY 1 ORDER BY 1") == [
        ("compute.machineTypes", 3),
        ("static", 30),
    ]


def test_cli_live_permission_denied(run: Any, db: Path) -> None:
    assert run("collect", "gcp-machine-types", "--format", "csv").exit_code == 0
    before = snapshot(db)
    with serve(_routes(deny=True)) as server:
        message = one_line_error(run("collect", "gcp-machine-types", "--project", "ml-train", "--endpoint", server.url))
    assert message.startswith("Error: Compute Engine machine types of ml-train: HTTP 403")
    assert "roles/compute.viewer" in message
    assert query(db, "SELECT count(*) FROM instance_types") == [(30,)]
    assert snapshot(db) == before
