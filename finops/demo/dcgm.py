"""The demo month's GPU utilisation, as DCGM exporter series in a Prometheus query_range response.

Only the instances the organisation runs itself have the exporter (EC2 and Compute Engine, not
SageMaker or Vertex AI, whose GPUs the clouds manage), and only the first `MAX_HOSTS` of them by
first billed hour, so a very large month stays small. One DCGM_FI_DEV_GPU_UTIL sample per GPU
every `STEP` seconds (15 minutes, to keep the file small) while the instance is billed, none
otherwise: 70–98 % while a placement holds the GPU, 0–3 % while it is up but idle, and now and
then "NaN". The exporter runs in Kubernetes mode, so pod and namespace name the holder (empty when
idle) and each holder of a GPU is a series of its own. Hostname is the instance id on EC2 and
the instance name on Compute Engine (both join to the bill), except the two host names of
`finops.demo.runs`.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import random
from datetime import UTC, datetime
from pathlib import Path

from finops.demo.catalogue import EC2, GCE
from finops.demo.files import Planned
from finops.demo.plan import Resource
from finops.demo.runs import GPUS, Placement, Workload, gpu_uuid

STEP = 900  # seconds between samples
MAX_HOSTS = 400  # instances with telemetry, by first billed hour
_NAN = 1 / 4000  # share of samples that read NaN
_IDLE = ("0", "0", "0", "0", "1", "1", "2", "3")
_VALUES = tuple(str(v) for v in range(101))


def write_dcgm(
    path: Path, setup: Planned, found: list[Workload], names: dict[str, str], rng: random.Random
) -> tuple[int, int]:
    """Write the month's utilisation series to `path`; return how many series and samples."""
    billed: dict[str, tuple[Resource, list[tuple[int, int]]]] = {}
    for segment in setup.planner.segments["aws"] + setup.planner.segments["gcp"]:
        if segment.resource.machine.service in (EC2, GCE):
            billed.setdefault(segment.resource.id, (segment.resource, []))[1].append((segment.start, segment.end))
    held: dict[str, list[tuple[Placement, Workload, int]]] = {}
    for work in found:
        for k, place in enumerate(work.placements):
            held.setdefault(place.resource.id, []).append((place, work, k))
    chosen = sorted(billed.values(), key=lambda item: (min(item[1])[0], item[0].id))[:MAX_HOSTS]
    origin = int(datetime.strptime(setup.period.name, "%Y-%m").replace(tzinfo=UTC).timestamp())
    series = points = 0
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write('{"status":"success","data":{"resultType":"matrix","result":[\n')
        for resource, spans in chosen:
            host = names.get(resource.id, resource.id if resource.machine.service == EC2 else resource.name)
            times = [
                h * 3600 + q for start, end in sorted(spans) for h in range(start, end) for q in range(0, 3600, STEP)
            ]
            for gpu in range(GPUS[resource.machine.type][0]):
                for metric, values in _gpu_series(resource, gpu, host, times, held.get(resource.id, []), rng):
                    text = ",".join(f'[{origin + t},"{v}"]' for t, v in values)
                    out.write(
                        ("" if series == 0 else ",\n")
                        + f'{{"metric":{json.dumps(metric, separators=(",", ":"))},"values":[{text}]}}'
                    )
                    series += 1
                    points += len(values)
        out.write("\n]}}\n")
    return series, points


def _gpu_series(
    resource: Resource,
    gpu: int,
    host: str,
    times: list[int],
    held: list[tuple[Placement, Workload, int]],
    rng: random.Random,
) -> list[tuple[dict[str, str], list[tuple[int, str]]]]:
    """One GPU's samples, split into a series per holder (pod) in order of first sample."""
    holder = [-1] * len(times)
    for n, (place, _, _) in enumerate(held):
        if place.gpu_index is None or gpu in place.gpu_index:
            low = bisect.bisect_left(times, place.start)
            high = len(times) if place.end is None else bisect.bisect_left(times, place.end)
            holder[low:high] = [n] * (high - low)
    levels = [rng.randint(78, 94) for _ in held]
    grouped: dict[int, list[tuple[int, str]]] = {}
    for t, n in zip(times, holder, strict=True):
        if rng.random() < _NAN:
            value = "NaN"
        elif n < 0:
            value = _IDLE[int(rng.random() * len(_IDLE))]
        else:
            value = _VALUES[min(98, max(70, levels[n] - 8 + int(rng.random() * 13)))]
        grouped.setdefault(n, []).append((t, value))
    base = {
        "__name__": "DCGM_FI_DEV_GPU_UTIL",
        "Hostname": host,
        "UUID": gpu_uuid(resource, gpu),
        "gpu": str(gpu),
        "modelName": GPUS[resource.machine.type][1],
    }
    return [(base | _pod(held[n]) if n >= 0 else base | {"namespace": "", "pod": ""}, v) for n, v in grouped.items()]


def _pod(holding: tuple[Placement, Workload, int]) -> dict[str, str]:
    """The Kubernetes namespace and pod of a placement."""
    _, work, k = holding
    if work.kind == "notebook":
        return {"namespace": "notebooks", "pod": f"jupyter-{work.owner}"}
    if work.kind == "deployment":
        digest = hashlib.sha256(f"{work.id}/{k}".encode()).hexdigest()
        return {"namespace": "serving", "pod": f"{work.id}-{digest[:9]}-{digest[9:14]}"}
    return {"namespace": work.team, "pod": f"{work.id}-worker-{k}"}
