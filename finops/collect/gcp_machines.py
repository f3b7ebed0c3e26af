"""GCE machine types with GPUs into `instance_types` (provider gcp), so attribution knows GPU capacity.

Two sources; a collection replaces the rows of the sources it read, in one transaction:
- "static": finops's table (`finops.gpus`) of the accelerator-optimised families a2, a3, a4, g2, g4,
  whose GPU count and model are fixed by the machine type;
- "compute.machineTypes": a live lookup of a project's zones through the Compute Engine API
  (`aggregated/machineTypes`, every page), keeping types with attached accelerators.
gcp-billing loads read these rows (then the static table) for a line's x_GpuCount.
"""

from __future__ import annotations

from typing import Any

import duckdb

from finops import gpus, httpjson
from finops.errors import InputError
from finops.store import transaction

STATIC = "static"
LIVE = "compute.machineTypes"
COMPUTE_API = "https://compute.googleapis.com"
_SCOPE = "https://www.googleapis.com/auth/compute.readonly"
# Memory per GPU (MiB) of the models GCE machine families carry.
GPU_MEMORY_MIB = {
    "A100": 40 * 1024,
    "A100 80GB": 80 * 1024,
    "H100": 80 * 1024,
    "H200": 141 * 1024,
    "B200": 180 * 1024,
    "GB200": 186 * 1024,
    "L4": 24 * 1024,
    "T4": 16 * 1024,
    "V100": 16 * 1024,
    "P100": 16 * 1024,
    "P4": 8 * 1024,
    "RTX PRO 6000": 96 * 1024,
}
# Compute Engine accelerator type names -> the catalogue's model names.
ACCELERATORS = {
    "nvidia-tesla-a100": "A100",
    "nvidia-a100-80gb": "A100 80GB",
    "nvidia-h100-80gb": "H100",
    "nvidia-h100-mega-80gb": "H100",
    "nvidia-h200-141gb": "H200",
    "nvidia-b200": "B200",
    "nvidia-gb200": "GB200",
    "nvidia-l4": "L4",
    "nvidia-tesla-t4": "T4",
    "nvidia-tesla-v100": "V100",
    "nvidia-tesla-p100": "P100",
    "nvidia-tesla-p4": "P4",
    "nvidia-rtx-pro-6000": "RTX PRO 6000",
}

Row = tuple[str, int, str, int | None, int | None, int | None]


def static_machine_types() -> list[Row]:
    """The static table's GCP machine types as rows."""
    return [
        (name, count, model, GPU_MEMORY_MIB.get(model), None, None)
        for name, (count, model) in sorted(gpus._GCE.items())
    ]


def live_machine_types(project: str, endpoint: str | None = None) -> list[Row]:
    """The machine types with GPUs that `project`'s zones offer (every page of aggregated/machineTypes)."""
    service = httpjson.Service(
        name="the Compute Engine API",
        option="--endpoint",
        login="the credentials need compute.machineTypes.list on the project (roles/compute.viewer)",
        kind="the Compute Engine API",
        not_found=f"check --project {project}",
        token=None if endpoint else _access_token(),
    )
    url = f"{(endpoint or COMPUTE_API).rstrip('/')}/compute/v1/projects/{project}/aggregated/machineTypes"
    found: dict[str, Row] = {}
    token: str | None = None
    while True:
        params = {"maxResults": 500, "returnPartialSuccess": "true", **({"pageToken": token} if token else {})}
        page = service.get(url, f"Compute Engine machine types of {project}", params)
        for scope in (page.get("items") or {}).values():
            for machine in scope.get("machineTypes", []):
                row = _row(machine)
                if row is not None:
                    found.setdefault(row[0], row)
        token = page.get("nextPageToken")
        if not token:
            break
    return sorted(found.values())


def _row(machine: dict[str, Any]) -> Row | None:
    """A machine type with accelerators as a row; None without GPUs."""
    accelerators = machine.get("accelerators") or []
    if not accelerators:
        return None
    kind = str(accelerators[0].get("guestAcceleratorType", ""))
    model = ACCELERATORS.get(kind, kind)
    count = sum(int(a.get("guestAcceleratorCount", 0)) for a in accelerators)
    memory = machine.get("memoryMb")
    cpus = machine.get("guestCpus")
    return (
        str(machine["name"]),
        count,
        model,
        GPU_MEMORY_MIB.get(model),
        int(cpus) if cpus is not None else None,
        int(memory) if memory is not None else None,
    )


def _access_token() -> str:
    """An OAuth token from application default credentials (read-only Compute scope)."""
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError, RefreshError
    from google.auth.transport.requests import Request

    try:
        credentials, _ = google.auth.default(scopes=[_SCOPE])
        credentials.refresh(Request())  # type: ignore[no-untyped-call]
    except (DefaultCredentialsError, RefreshError) as exc:
        raise InputError(
            f"no usable Google application default credentials ({type(exc).__name__}): run "
            "`gcloud auth application-default login` or set GOOGLE_APPLICATION_CREDENTIALS"
        ) from None
    return str(credentials.token)


def replace(con: duckdb.DuckDBPyConnection, by_source: dict[str, list[Row]]) -> None:
    """Replace the GCP rows of each source with its rows, all in one transaction."""
    with transaction(con):
        for source, rows in by_source.items():
            con.execute("DELETE FROM instance_types WHERE provider = 'gcp' AND source = ?", [source])
            if rows:
                con.executemany(
                    "INSERT INTO instance_types (provider, instance_type, gpu_count, gpu_model, gpu_memory_mib, "
                    "vcpus, memory_mib, source, updated_at) VALUES ('gcp', ?, ?, ?, ?, ?, ?, ?, current_timestamp)",
                    [[*row, source] for row in rows],
                )
