"""The runs, deployments and notebooks behind the demo month's billed hours.

Every workload comes from the plan `generate` bills: a segment tagged training_run, deployment or
notebook is one placement of that workload on the segment's resource, starting a few minutes after
its first billed hour begins and ending a few minutes before its last one ends (open, status
running, when the segment reaches the month's end). Idle and untagged segments have no workload.
Placements name the bill's ResourceId (EC2 instance id, SageMaker ARN, GCE or Vertex full name),
except on two hosts, so that `finops status unmatched` has something to show until a [bridge]
alias maps them:

- the research team's kept-up p4d box (the first `Planner.pool`, in us-west-2) is named by its
  EC2 private DNS name, ``ip-10-0-<a>-<b>.us-west-2.compute.internal``;
- the nlp team's GCE devbox ``nlp-devbox`` is named by its Kubernetes node name ``gpu-node-07``.

Special cases, on training runs on hosts that join to the bill directly, when the plan has them:

- shared node: the first run alone on an 8-GPU EC2 or GCE instance for 6 billed hours or more
  keeps GPUs 0–3, and a manifest-only run ``<run>-ablation`` holds GPUs 4–7 for the middle of its
  span (both placements list gpu_uuids; both workloads have attribute shares_node_with);
- failed early: the first other run on EC2 or GCE instances for 3 billed hours or more fails
  18–23 minutes after it starts (status failed); its instances stay up, idle, to the end of their
  billed segment;
- spot retry, as two workloads: of two EC2 runs of one team on instances that run nothing else,
  the second starting after the first's last billed hour (same model family, then rising run
  number, then shortest wait), the first was reclaimed in its last billed hour (status preempted,
  attributes capacity=spot, interruption=spot) and the second is its retry (capacity=spot,
  retry_of=<first>); each attempt keeps the run id the bill's tags give it. The bill prices every
  instance on demand: capacity=spot is the manifest's word only;
- running: a workload whose segment reaches the month's end has end null and status running (every
  deployment; a training run when the plan has one), and one whose segment starts with the month
  starts at its first instant.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from dataclasses import dataclass, field

from finops.demo.catalogue import EC2, GCE, SAGEMAKER
from finops.demo.files import Planned
from finops.demo.plan import _TEAMS, _USERS, Resource, Segment

# GPUs per instance and their DCGM modelName, by instance type.
GPUS: dict[str, tuple[int, str]] = {
    "p4d.24xlarge": (8, "NVIDIA A100-SXM4-40GB"),
    "ml.p4d.24xlarge": (8, "NVIDIA A100-SXM4-40GB"),
    "a2-highgpu-8g": (8, "NVIDIA A100-SXM4-40GB"),
    "p5.48xlarge": (8, "NVIDIA H100 80GB HBM3"),
    "ml.p5.48xlarge": (8, "NVIDIA H100 80GB HBM3"),
    "a3-highgpu-8g": (8, "NVIDIA H100 80GB HBM3"),
    "g5.xlarge": (1, "NVIDIA A10G"),
    "g5.12xlarge": (4, "NVIDIA A10G"),
    "ml.g5.2xlarge": (1, "NVIDIA A10G"),
    "g2-standard-8": (1, "NVIDIA L4"),
}
_KINDS = (("training_run", "training"), ("deployment", "deployment"), ("notebook", "notebook"))  # tag, kind
_PLATFORM = {EC2.name: "ec2", SAGEMAKER.name: "sagemaker", GCE.name: "gce"}
_REQUESTS_PER_HOUR = (2_000, 40_000)  # per GPU of a deployment
_PAIR_CANDIDATES = 200  # the first runs considered for the spot retry pair


@dataclass
class Placement:
    """A workload's [start, end) on one resource, in seconds from the month's start; end None while running."""

    resource: Resource
    start: int
    end: int | None
    gpus: int
    gpu_index: tuple[int, ...] | None = None  # the GPUs it holds, when not all of them
    hours: tuple[int, int] = (0, 0)  # the billed segment it lies in


@dataclass
class Workload:
    """One training run, deployment or notebook, with its placements."""

    id: str
    kind: str
    team: str
    name: str = ""  # the id, unless the id needed a number to be unique
    project: str | None = None
    owner: str | None = None
    status: str = "finished"
    request_count: int | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    placements: list[Placement] = field(default_factory=list)

    @property
    def start(self) -> int:
        return min(p.start for p in self.placements)

    @property
    def end(self) -> int | None:
        ends = [p.end for p in self.placements]
        return None if None in ends else max(e for e in ends if e is not None)


def gpus(resource: Resource) -> int:
    """The GPUs behind a resource (every instance of it)."""
    return GPUS[resource.machine.type][0] * resource.count


def gpu_uuid(resource: Resource, index: int) -> str:
    """A stable made-up UUID of one GPU of a resource, as nvidia-smi and DCGM print it."""
    digest = hashlib.sha256(f"{resource.id}/gpu{index}".encode()).digest()
    return f"GPU-{uuid.UUID(bytes=digest[:16], version=4)}"


def hosts(setup: Planned) -> dict[str, str]:
    """ResourceId -> the name workload records give it: the two documented host names, else the id."""
    names: dict[str, str] = {}
    pool = next((s.resource for s in setup.planner.segments["aws"] if s.tags == '{"team":"research"}'), None)
    if pool is not None:
        number = int(hashlib.sha256(pool.id.encode()).hexdigest()[:8], 16)
        names[pool.id] = f"ip-10-0-{number % 64}-{number // 64 % 254 + 1}.{pool.region}.compute.internal"
    devbox = next((s.resource for s in setup.planner.segments["gcp"] if s.resource.name == "nlp-devbox"), None)
    if devbox is not None:
        names[devbox.id] = "gpu-node-07"
    return names


def workloads(setup: Planned, rng: random.Random) -> list[Workload]:
    """The month's workloads, ordered by start, with the special cases of the module docstring."""
    found: dict[tuple[str, str, str], Workload] = {}
    offsets: dict[tuple[str, str, str], tuple[int, int]] = {}
    for segment in setup.planner.segments["aws"] + setup.planner.segments["gcp"]:
        values: dict[str, str] = json.loads(segment.tags) if segment.tags else {}
        tag, kind = next(((tag, kind) for tag, kind in _KINDS if tag in values), ("", ""))
        if not kind:
            continue  # idle or untagged
        key = (kind, values[tag], segment.resource.id if kind == "notebook" else "")  # a notebook per box
        if key not in found:
            found[key] = _new(values[tag], kind, values, segment, rng)
        if kind == "notebook" or key not in offsets:  # a run's instances start and stop together
            offsets[key] = (rng.randint(60, 1500), rng.randint(120, 1800))
        found[key].placements.append(_placement(segment, *offsets[key], setup.period.hours))
    ordered = sorted(found.values(), key=lambda w: (w.start, w.id))
    _unique_ids(ordered)
    for work in ordered:
        if work.end is None:
            work.status = "running"
        if work.kind == "deployment":
            rate = rng.randint(*_REQUESTS_PER_HOUR)
            end = setup.period.hours * 3600
            work.request_count = sum(rate * p.gpus * ((p.end or end) - p.start) // 3600 for p in work.placements)
    return _specials(ordered, setup, rng)


def _new(name: str, kind: str, values: dict[str, str], segment: Segment, rng: random.Random) -> Workload:
    """A workload named by a segment's tags."""
    team = values.get("team", "")
    if kind == "notebook":
        return Workload(name, kind, team, owner=name.removesuffix("-nb"))
    if kind == "deployment":
        return Workload(name, kind, team, attributes={"instance_type": segment.resource.machine.type})
    machine = segment.resource.machine
    attributes = {"platform": _PLATFORM.get(machine.service.name, "vertex"), "instance_type": machine.type}
    if machine.service == SAGEMAKER:
        attributes["sagemaker_job"] = segment.resource.name
    project = values.get("project") or _TEAMS[team][0]
    return Workload(name, kind, team, project=project, owner=rng.choice(_USERS), attributes=attributes)


def _placement(segment: Segment, before: int, after: int, month_hours: int) -> Placement:
    """A placement from `before` seconds after the segment starts to `after` seconds before it ends;
    a segment starting or ending with the month was already, or is still, running then."""
    start = 0 if segment.start == 0 else segment.start * 3600 + before
    end = None if segment.end == month_hours else segment.end * 3600 - after
    return Placement(segment.resource, start, end, gpus(segment.resource), None, (segment.start, segment.end))


def _unique_ids(ordered: list[Workload]) -> None:
    """Number repeated ids (a user's notebook on a second box) -2, -3, … in start order."""
    seen: dict[str, int] = {}
    for work in ordered:
        seen[work.id] = seen.get(work.id, 0) + 1
        if seen[work.id] > 1:
            work.name, work.id = work.id, f"{work.id}-{seen[work.id]}"


def _specials(ordered: list[Workload], setup: Planned, rng: random.Random) -> list[Workload]:
    """Mark the spot retry pair and the failed run, and add the run sharing a node."""
    runs = [w for w in ordered if w.kind == "training" and w.status != "running"]
    taken = _spot_pair(runs, setup)
    aliased = hosts(setup)
    on_nodes = [
        w
        for w in runs
        if w.id not in taken
        and all(p.resource.machine.service in (EC2, GCE) and p.resource.id not in aliased for p in w.placements)
    ]
    shared = next(
        (w for w in on_nodes if len(w.placements) == 1 and gpus(w.placements[0].resource) == 8 and _span(w) >= 6),
        None,
    )
    if shared is not None:
        ordered.append(_share(shared, rng))
        ordered.sort(key=lambda w: (w.start, w.id))
    failed = next((w for w in on_nodes if w is not shared and _span(w) >= 3), None)
    if failed is not None:
        stop = failed.start + rng.randint(1080, 1380)
        for p in failed.placements:
            p.end = stop
        failed.status = "failed"
    return ordered


def _spot_pair(runs: list[Workload], setup: Planned) -> set[str]:
    """Mark an interrupted spot run and its retry; return their ids."""
    segments: dict[str, int] = {}
    for segment in setup.planner.segments["aws"]:
        segments[segment.resource.id] = segments.get(segment.resource.id, 0) + 1
    own = [
        w for w in runs if all(p.resource.machine.service == EC2 and segments[p.resource.id] == 1 for p in w.placements)
    ][:_PAIR_CANDIDATES]
    pairs = ((a, b) for a in own for b in own if a.team == b.team and _first_hour(b) >= _last_hour(a))
    first, retry = min(pairs, key=_retry_rank, default=(None, None))
    if first is None or retry is None:
        return set()
    first.status = "preempted"
    first.attributes |= {"capacity": "spot", "interruption": "spot"}
    retry.attributes |= {"capacity": "spot", "retry_of": first.id}
    return {first.id, retry.id}


def _retry_rank(pair: tuple[Workload, Workload]) -> tuple[bool, bool, int, str, str]:
    """How well the second run of a pair reads as the first's retry: lower is better."""
    (family, _, number), (other, _, later) = pair[0].id.rpartition("-r"), pair[1].id.rpartition("-r")
    return family != other, int(later) < int(number), _first_hour(pair[1]) - _last_hour(pair[0]), pair[0].id, pair[1].id


def _first_hour(work: Workload) -> int:
    return min(p.hours[0] for p in work.placements)


def _last_hour(work: Workload) -> int:
    return max(p.hours[1] for p in work.placements)


def _span(work: Workload) -> int:
    """The billed hours of the shortest segment a workload lies in."""
    return min(p.hours[1] - p.hours[0] for p in work.placements)


def _share(work: Workload, rng: random.Random) -> Workload:
    """Halve a run's node: it keeps GPUs 0–3, a new run holds 4–7 for the middle of its span."""
    place = work.placements[0]
    assert place.end is not None  # a running workload is never chosen
    length = place.end - place.start
    start = place.start + length * rng.randint(25, 45) // 100
    end = place.start + length * rng.randint(60, 85) // 100
    place.gpus, place.gpu_index = 4, (0, 1, 2, 3)
    other = Workload(f"{work.id}-ablation", "training", work.team, project=work.project, owner=rng.choice(_USERS))
    other.attributes = dict(work.attributes) | {"shares_node_with": work.id}
    other.placements.append(Placement(place.resource, start, end, 4, (4, 5, 6, 7), place.hours))
    work.attributes["shares_node_with"] = other.id
    return other
