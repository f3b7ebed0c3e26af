"""The demo month's workload manifest and GPU telemetry, matching the billing `generate` writes.

`generate_records` draws the same plan as `generate` (same arguments, same random sequence), so
the records join to that bill: see `finops.demo.runs` for the workloads, their special cases and
the two hosts named by host name instead of ResourceId, and `finops.demo.dcgm` for the telemetry.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from finops.demo.dcgm import write_dcgm
from finops.demo.files import Planned, planned
from finops.demo.runs import Workload, gpu_uuid, hosts, workloads


def generate_records(out_dir: Path, rows: int = 20_000, seed: int = 7, month: str = "2026-10") -> list[Path]:
    """Write the workload manifest and DCGM telemetry of the month `generate` bills; return their paths."""
    setup = planned(rows, seed, month)
    rng = random.Random(setup.rng.getrandbits(64))  # after the plan: the bill never sees these draws
    names = hosts(setup)
    found = workloads(setup, rng)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest_path, dcgm_path = out_dir / f"workloads-{month}.json", out_dir / f"dcgm-{month}.json"
    write_manifest(manifest_path, setup, found, names)
    write_dcgm(dcgm_path, setup, found, names, random.Random(rng.getrandbits(64)))
    return sorted([dcgm_path, manifest_path])


def write_manifest(path: Path, setup: Planned, found: list[Workload], names: dict[str, str]) -> None:
    """Write the workloads as a JSON manifest (finops.collect.manifest), one workload a line."""
    origin = datetime.strptime(setup.period.name, "%Y-%m").replace(tzinfo=UTC)

    def stamp(seconds: int | None) -> str | None:
        return None if seconds is None else (origin + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")

    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write("[\n")
        for n, work in enumerate(found):
            placements: list[dict[str, Any]] = []
            for p in work.placements:
                item: dict[str, Any] = {
                    "resource_id": names.get(p.resource.id, p.resource.id),
                    "gpus": p.gpus,
                    "start": stamp(p.start),
                    "end": stamp(p.end),
                }
                if p.gpu_index is not None:
                    item["gpu_uuids"] = [gpu_uuid(p.resource, i) for i in p.gpu_index]
                placements.append(item)
            record = {
                "workload_id": work.id,
                "kind": work.kind,
                "name": work.name or work.id,
                "team": work.team,
                "project": work.project,
                "owner": work.owner,
                "status": work.status,
                "start": stamp(work.start),
                "end": stamp(work.end),
                "request_count": work.request_count,
                "attributes": work.attributes,
                "placements": placements,
            }
            out.write(json.dumps(record) + (",\n" if n < len(found) - 1 else "\n"))
        out.write("]\n")
