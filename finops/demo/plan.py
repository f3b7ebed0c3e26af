"""The month's workloads: which machines run when, for whom, and with what tags."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction

from finops.demo.catalogue import (
    EC2,
    GCE_MACHINES,
    GCP_RESEARCH,
    GCP_SERVING,
    PLATFORM,
    RESEARCH,
    SAGEMAKER,
    VERTEX_A2,
    Account,
    Machine,
    Provider,
    ec2,
    sagemaker,
)
from finops.demo.rows import Month, tags

# One unit of the organisation is about _UNIT_ROWS rows.
_UNIT_ROWS = 9_000


@dataclass(frozen=True)
class Resource:
    """Something that runs and is billed by the hour."""

    machine: Machine
    account: Account
    region: str
    zone: str
    id: str
    name: str = ""
    count: int = 1  # instances behind one SageMaker resource


@dataclass(frozen=True)
class Segment:
    """Hours [start, end) of the month a resource ran with the same tags."""

    start: int
    end: int
    resource: Resource
    tags: str

    @property
    def rows(self) -> int:
        return (self.end - self.start) * len(self.resource.machine.lines)


_TEAMS = {  # team -> (project tag, run families)
    "nlp": ("assistant", ("llm-7b-pretrain", "llm-7b-sft", "llm-13b-dpo", "llm-7b-longctx")),
    "vision": ("vision-models", ("vit-l-pretrain", "detr-finetune", "diffusion-xl", "clip-distill")),
    "research": ("scaling-laws", ("moe-1b-scaling", "reward-model", "tokenizer-ablation", "rlhf-ppo")),
}
_USERS = ("ana", "ben", "chen", "dara", "eli", "femi", "gus", "hana", "ivo", "jun")


@dataclass
class Planner:
    """Lays out the month's workloads, unit of organisation by unit, within a row budget."""

    rng: random.Random
    month: Month
    left: int  # rows still free
    scale: Fraction  # share of each duration kept (1 unless the month is small)
    segments: dict[Provider, list[Segment]] = field(default_factory=lambda: {"aws": [], "gcp": []})
    run_numbers: dict[str, int] = field(default_factory=dict)

    def add(self, segments: Sequence[Segment]) -> None:
        """Keep segments while they fit the budget, cutting short the first that does not."""
        for segment in segments:
            per_hour = len(segment.resource.machine.lines)
            hours = min(segment.end - segment.start, self.left // per_hour)
            if hours <= 0:
                return
            self.segments[segment.resource.account.provider].append(replace(segment, end=segment.start + hours))
            self.left -= hours * per_hour

    def hours(self, low: int, high: int) -> int:
        """A duration drawn from [low, high] hours, scaled down for small months."""
        return max(1, min(self.month.hours, int(self.rng.randint(low, high) * self.scale)))

    def window(self, length: int) -> tuple[int, int]:
        """A random [start, end) of the given length inside the month."""
        start = self.rng.randrange(self.month.hours - length + 1)
        return start, start + length

    def instance_id(self) -> str:
        return f"i-0{self.rng.getrandbits(64):016x}"

    def run(self, team: str) -> tuple[str, str]:
        """A new training run id of the team and its tags."""
        project, families = _TEAMS[team]
        family = self.rng.choice(families)
        number = self.run_numbers.get(family) or self.rng.randint(1, 4)
        self.run_numbers[family] = number + 1
        run_id = f"{family}-r{number}"
        return run_id, tags(team=team, project=project, training_run=run_id)

    # ---- workloads

    def ec2_run(self, team: str, instance_type: str, most: int = 4, long: bool = False) -> None:
        """A training run on 1–`most` EC2 instances."""
        region = self.rng.choice(("us-west-2", "us-west-2", "us-east-1"))
        _, run_tags = self.run(team)
        start, end = self.window(self._run_hours(long))
        machine, zone = ec2(instance_type, region), region + self.rng.choice("abc")
        self.add(
            [
                Segment(start, end, Resource(machine, RESEARCH, region, zone, self.instance_id()), run_tags)
                for _ in range(self.rng.randint(1, most))
            ]
        )

    def gce_run(self, team: str, machine: str, most: int = 2, long: bool = False) -> None:
        """A training run on 1–`most` Compute Engine instances."""
        run_id, run_tags = self.run(team)
        start, end = self.window(self._run_hours(long))
        self.add(
            [
                Segment(start, end, _gce(GCE_MACHINES[machine], GCP_RESEARCH, f"{run_id}-{i}"), run_tags)
                for i in range(self.rng.randint(1, most))
            ]
        )

    def sagemaker_job(self, team: str, instance_type: str, long: bool = False) -> None:
        """A SageMaker training job on one or two instances."""
        run_id, _ = self.run(team)
        start, end = self.window(self._run_hours(long))
        name = f"{run_id}-{self.month.stamps[start][:13].replace('T', '-')}".lower()
        arn = f"arn:aws:sagemaker:us-east-1:{RESEARCH.id}:training-job/{name}"
        resource = Resource(
            sagemaker("Train", instance_type), RESEARCH, "us-east-1", "", arn, name, self.rng.randint(1, 2)
        )
        self.add([Segment(start, end, resource, tags(team=team, training_run=run_id))])

    def vertex_job(self, team: str, long: bool = False) -> None:
        """A Vertex AI custom training job on one a2-highgpu-8g."""
        run_id, _ = self.run(team)
        start, end = self.window(self._run_hours(long))
        job_id = self.rng.randrange(10**18, 10**19)
        job = f"//aiplatform.googleapis.com/projects/{GCP_RESEARCH.id}/locations/us-central1/customJobs/{job_id}"
        resource = Resource(VERTEX_A2, GCP_RESEARCH, "us-central1", "", job, run_id)
        self.add([Segment(start, end, resource, tags(team=team, training_run=run_id))])

    def deployment(self, name: str, machine: Machine, account: Account, count: int) -> None:
        """An always-on serving deployment (launched late in the month when the month is small)."""
        end = self.month.hours
        start = end - max(1, int(end * self.scale))
        deployment_tags = tags(team="platform", deployment=name)
        if machine.service == EC2:
            resources = [
                Resource(machine, account, "us-east-1", "us-east-1" + "ab"[i % 2], self.instance_id())
                for i in range(count)
            ]
        elif machine.service == SAGEMAKER:
            arn = f"arn:aws:sagemaker:us-east-1:{account.id}:endpoint/{name}-prod"
            resources = [Resource(machine, account, "us-east-1", "", arn, f"{name}-prod", count)]
        else:
            resources = [_gce(machine, account, f"{name}-{i}") for i in range(count)]
        self.add([Segment(start, end, r, deployment_tags) for r in resources])

    def pool(self, team: str, box: Resource) -> None:
        """A box kept up across several of the team's runs, idle (team tag only) in between."""
        idle = tags(team=team)
        cursor = self.rng.randrange(self.month.hours // 4)
        segments = []
        for _ in range(self.rng.randint(3, 5)):
            gap, busy = self.hours(4, 36), self.hours(8, 72)
            segments.append(Segment(cursor, cursor + gap, box, idle))
            segments.append(Segment(cursor + gap, cursor + gap + busy, box, self.run(team)[1]))
            cursor += gap + busy
        segments.append(Segment(cursor, cursor + self.hours(6, 48), box, idle))
        self.add(_clip(segments, self.month.hours))

    def notebooks(self, count: int) -> None:
        """g5.xlarge notebooks up on weekdays 13:00–23:00 UTC, some left on overnight."""
        weekdays = [d for d in range(self.month.days) if self.month.weekdays[d]]
        for user in self.rng.sample(_USERS, count):
            team = self.rng.choice(tuple(_TEAMS))
            box = Resource(ec2("g5.xlarge", "us-east-1"), RESEARCH, "us-east-1", "us-east-1a", self.instance_id())
            notebook_tags = tags(team=team, notebook=f"{user}-nb")
            days = weekdays[: max(1, int(len(weekdays) * self.scale))]
            spans = [(d * 24 + 13, (d + 1) * 24 + 13 if self.rng.random() < 0.15 else d * 24 + 23) for d in days]
            self.add(_clip([Segment(s, e, box, notebook_tags) for s, e in _merge(spans)], self.month.hours))

    def untagged(self) -> None:
        """A g5.12xlarge someone launched by hand and forgot to tag."""
        start, end = self.window(self.hours(24, 96))
        box = Resource(ec2("g5.12xlarge", "us-east-1"), RESEARCH, "us-east-1", "us-east-1c", self.instance_id())
        self.add([Segment(start, end, box, "")])

    def any_run(self) -> None:
        """A training run of a random team on a random platform."""
        team = self.rng.choice(tuple(_TEAMS))
        kind = self.rng.choices(range(7), weights=(30, 12, 15, 10, 15, 10, 8))[0]
        if kind == 0:
            self.ec2_run(team, "p4d.24xlarge")
        elif kind == 1:
            self.ec2_run(team, "p5.48xlarge", most=2)
        elif kind == 2:
            self.ec2_run(team, "g5.12xlarge", most=2)
        elif kind == 3:
            self.sagemaker_job(team, self.rng.choice(("ml.p4d.24xlarge", "ml.p5.48xlarge")))
        elif kind == 4:
            self.gce_run(team, "a2-highgpu-8g")
        elif kind == 5:
            self.gce_run(team, "a3-highgpu-8g")
        else:
            self.vertex_job(team)

    def unit(self, k: int) -> None:
        """One unit of the organisation: its runs, deployments, notebooks and idle boxes."""
        suffix = "" if k == 0 else f"-{k + 1}"
        self.ec2_run("nlp", "p4d.24xlarge", long=True)
        self.gce_run("vision", "a2-highgpu-8g", long=True)
        self.deployment("chat-api" + suffix, ec2("g5.12xlarge", "us-east-1"), PLATFORM, 2)
        self.sagemaker_job("research", "ml.p4d.24xlarge", long=True)
        self.gce_run("nlp", "a3-highgpu-8g", long=True)
        self.ec2_run("research", "p5.48xlarge", most=2, long=True)
        self.deployment("summarize-api" + suffix, sagemaker("Host", "ml.g5.2xlarge"), PLATFORM, 2)
        self.vertex_job("vision", long=True)
        self.deployment("rerank-api" + suffix, GCE_MACHINES["g2-standard-8"], GCP_SERVING, 1)
        self.pool(
            "research",
            Resource(ec2("p4d.24xlarge", "us-west-2"), RESEARCH, "us-west-2", "us-west-2b", self.instance_id()),
        )
        self.pool("nlp", _gce(GCE_MACHINES["a2-highgpu-8g"], GCP_RESEARCH, f"nlp-devbox{suffix}"))
        self.notebooks(4)
        self.untagged()
        self.deployment("embed-api" + suffix, ec2("g5.xlarge", "us-east-1"), PLATFORM, 1)
        for _ in range(self.rng.randint(8, 14)):
            self.any_run()

    def _run_hours(self, long: bool = False) -> int:
        """A run's length: a few hours to several days (a day to five when `long`)."""
        low, high = (24, 120) if long else self.rng.choice(((3, 12), (3, 12), (12, 48), (12, 48), (48, 144)))
        return self.hours(low, high)


def _gce(machine: Machine, project: Account, name: str) -> Resource:
    """A Compute Engine instance in us-central1-a."""
    resource_id = f"//compute.googleapis.com/projects/{project.id}/zones/us-central1-a/instances/{name}"
    return Resource(machine, project, "us-central1", "us-central1-a", resource_id, name)


def _merge(spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted spans with touching or overlapping ones joined."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _clip(segments: Sequence[Segment], hours: int) -> list[Segment]:
    """The segments cut to the month, empty ones dropped."""
    return [replace(s, end=min(s.end, hours)) for s in segments if s.start < hours]


def plan(rng: random.Random, month: Month, budget: int) -> Planner:
    """Workloads for a month of `budget` workload rows: whole units, durations shrunk if small."""
    units = max(1, round(Fraction(budget, _UNIT_ROWS)))
    planner = Planner(rng, month, budget, min(Fraction(1), Fraction(budget, units * _UNIT_ROWS)))
    for k in range(units):
        planner.unit(k)
    while planner.scale == 1 and planner.left > 0:  # a bigger organisation also runs more
        planner.any_run()
    return planner
