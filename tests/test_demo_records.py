"""The demo's workload manifest and DCGM telemetry: deterministic, and true to the bill beside them."""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from finops import demo
from finops.demo import runs

ORIGIN = datetime(2026, 10, 1, tzinfo=UTC)
MONTH_END = datetime(2026, 11, 1, tzinfo=UTC)
IP_HOST = re.compile(r"ip-10-0-\d{1,3}-\d{1,3}\.us-west-2\.compute\.internal")
MODELS = {
    "p4d.24xlarge": (8, "NVIDIA A100-SXM4-40GB"),
    "p5.48xlarge": (8, "NVIDIA H100 80GB HBM3"),
    "g5.xlarge": (1, "NVIDIA A10G"),
    "g5.12xlarge": (4, "NVIDIA A10G"),
    "a2-highgpu-8g": (8, "NVIDIA A100-SXM4-40GB"),
    "a3-highgpu-8g": (8, "NVIDIA H100 80GB HBM3"),
    "g2-standard-8": (1, "NVIDIA L4"),
}
Workload = dict[str, Any]


def rows_of(path: Path) -> Iterator[dict[str, str]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="", encoding="utf-8") as f:
        yield from csv.DictReader(f)


def instant(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def hour(moment: datetime) -> int:
    return int((moment - ORIGIN).total_seconds()) // 3600


@dataclass
class Bill:
    """What the billing CSVs say about each resource."""

    hours: dict[str, set[int]]  # ResourceId -> hours [ChargePeriodStart, ChargePeriodEnd) billed by the hour
    names: dict[str, str]  # ResourceName -> ResourceId
    types: dict[str, str]  # ResourceId -> x_InstanceType
    pool: str  # the research team's kept-up p4d box in us-west-2
    devbox: str  # nlp-devbox

    def resolve(self, name: str) -> str:
        """The ResourceId a record's host or resource name stands for (the two documented host names too)."""
        if name in self.hours:
            return name
        if name == "gpu-node-07":
            return self.devbox
        if IP_HOST.fullmatch(name):
            return self.pool
        return self.names[name]


def read_bill(paths: list[Path]) -> Bill:
    quantity: dict[tuple[str, int], Decimal] = defaultdict(Decimal)
    names, types, idle_research_p4d = {}, {}, set()
    for path in paths:
        for row in rows_of(path):
            start, end = instant(row["ChargePeriodStart"]), instant(row["ChargePeriodEnd"])
            if not row["ResourceId"] or end - start != timedelta(hours=1) or row["ConsumedUnit"] != "Hours":
                continue
            quantity[row["ResourceId"], hour(start)] += Decimal(row["ConsumedQuantity"])
            if row["ResourceName"]:
                names[row["ResourceName"]] = row["ResourceId"]
            types[row["ResourceId"]] = row["x_InstanceType"]
            if (row["x_InstanceType"], row["RegionId"], row["Tags"]) == (
                "p4d.24xlarge",
                "us-west-2",
                '{"team":"research"}',
            ):
                idle_research_p4d.add(row["ResourceId"])
    hours: dict[str, set[int]] = defaultdict(set)
    for (resource, h), amount in quantity.items():
        assert amount > 0, (resource, h)
        hours[resource].add(h)
    [pool] = idle_research_p4d
    return Bill(dict(hours), names, types, pool, names["nlp-devbox"])


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], list[Path]]:
    out = tmp_path_factory.mktemp("demo")
    return demo.generate(out), demo.generate_records(out)


@pytest.fixture(scope="module")
def bill(month: tuple[list[Path], list[Path]]) -> Bill:
    return read_bill(month[0])


@pytest.fixture(scope="module")
def manifest(month: tuple[list[Path], list[Path]]) -> list[Workload]:
    data: list[Workload] = json.loads(month[1][1].read_text())
    return data


@pytest.fixture(scope="module")
def series(month: tuple[list[Path], list[Path]]) -> list[dict[str, Any]]:
    response = json.loads(month[1][0].read_text())
    assert response["status"] == "success" and response["data"]["resultType"] == "matrix"
    result: list[dict[str, Any]] = response["data"]["result"]
    return result


def sha(paths: list[Path]) -> list[str]:
    return [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]


def test_files_are_named_by_kind_and_month(month: tuple[list[Path], list[Path]]) -> None:
    assert [p.name for p in month[1]] == ["dcgm-2026-10.json", "workloads-2026-10.json"]


def test_same_arguments_give_the_same_bytes(month: tuple[list[Path], list[Path]], tmp_path: Path) -> None:
    again = demo.generate_records(tmp_path / "again")
    assert sha(again) == sha(month[1])
    other = demo.generate_records(tmp_path / "other", seed=8)
    assert all(a != b for a, b in zip(sha(other), sha(month[1]), strict=True))


@pytest.mark.parametrize(("rows", "seed", "period"), [(20_000, 7, "2026-10"), (2_000, 3, "2025-02")])
def test_billing_bytes_do_not_change(tmp_path: Path, rows: int, seed: int, period: str) -> None:
    fresh = demo.generate(tmp_path / "fresh", rows=rows, seed=seed, month=period)
    records = demo.generate_records(tmp_path / "both", rows=rows, seed=seed, month=period)
    both = demo.generate(tmp_path / "both", rows=rows, seed=seed, month=period)
    after = demo.generate(tmp_path / "after", rows=rows, seed=seed, month=period)
    assert sha(both) == sha(fresh) == sha(after)
    assert sorted(p.name for p in (tmp_path / "both").iterdir()) == sorted(p.name for p in both + records)


def test_too_few_rows_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 2000"):
        demo.generate_records(tmp_path, rows=1999)


def test_placements_lie_inside_the_billed_hours_and_start_mid_hour(manifest: list[Workload], bill: Bill) -> None:
    assert {w["kind"] for w in manifest} == {"training", "deployment", "notebook"}
    assert len({w["workload_id"] for w in manifest}) == len(manifest)
    for work in manifest:
        starts, ends = [], []
        for place in work["placements"]:
            resource = bill.resolve(place["resource_id"])
            start = instant(place["start"])
            end = instant(place["end"]) if place["end"] else MONTH_END
            assert start < end
            assert set(range(hour(start), hour(end - timedelta(seconds=1)) + 1)) <= bill.hours[resource], work
            assert start == ORIGIN or start.minute or start.second, work  # mid-hour, unless running since before
            assert place["end"] is None or end.minute or end.second, work
            gpus = MODELS[bill.types[resource]][0] if resource.startswith(("i-", "//compute")) else None
            assert gpus is None or place["gpus"] == (4 if "gpu_uuids" in place else gpus), work
            starts.append(start)
            ends.append(place["end"] and end)
        assert instant(work["start"]) == min(starts)
        assert work["end"] == (None if None in ends else max(ends).strftime("%Y-%m-%dT%H:%M:%SZ"))


def test_only_the_documented_hosts_are_unmatched(
    manifest: list[Workload], series: list[dict[str, Any]], bill: Bill
) -> None:
    placed = {p["resource_id"] for w in manifest for p in w["placements"]} - set(bill.hours)
    sampled = {s["metric"]["Hostname"] for s in series} - set(bill.hours) - set(bill.names)
    assert placed == sampled
    [ip] = placed - {"gpu-node-07"}
    assert IP_HOST.fullmatch(ip) and "gpu-node-07" in placed
    assert "gpu-node-07" in (runs.__doc__ or "") and "us-west-2.compute.internal" in (runs.__doc__ or "")


def test_two_runs_share_one_node(manifest: list[Workload], series: list[dict[str, Any]], bill: Bill) -> None:
    shared = [w for w in manifest if "shares_node_with" in w["attributes"]]
    assert len(shared) == 2
    first, second = shared
    assert first["attributes"]["shares_node_with"] == second["workload_id"]
    assert second["attributes"]["shares_node_with"] == first["workload_id"]
    [a], [b] = first["placements"], second["placements"]
    assert a["resource_id"] == b["resource_id"] and a["gpus"] == b["gpus"] == 4
    assert instant(a["start"]) < instant(b["start"]) < instant(b["end"]) < instant(a["end"])
    resource = bill.resolve(a["resource_id"])
    on_node = {s["metric"]["UUID"] for s in series if bill.resolve(s["metric"]["Hostname"]) == resource}
    assert set(a["gpu_uuids"]) | set(b["gpu_uuids"]) == on_node and len(on_node) == 8


def test_a_run_fails_early_and_leaves_its_instances_idle(manifest: list[Workload], bill: Bill) -> None:
    [failed] = [w for w in manifest if w["status"] == "failed"]
    assert failed["kind"] == "training"
    end = instant(failed["end"])
    assert timedelta(minutes=18) <= end - instant(failed["start"]) <= timedelta(minutes=23)
    for place in failed["placements"]:
        assert {hour(end) + 1, hour(end) + 2} <= bill.hours[bill.resolve(place["resource_id"])]


def test_a_spot_run_is_interrupted_and_retried(manifest: list[Workload], bill: Bill) -> None:
    [retry] = [w for w in manifest if "retry_of" in w["attributes"]]
    [first] = [w for w in manifest if w["workload_id"] == retry["attributes"]["retry_of"]]
    assert first["status"] == "preempted" and retry["status"] == "finished"
    assert first["attributes"]["capacity"] == retry["attributes"]["capacity"] == "spot"
    assert instant(first["end"]) < instant(retry["start"])
    reclaimed = {p["resource_id"] for p in first["placements"]}
    assert reclaimed.isdisjoint(p["resource_id"] for p in retry["placements"])
    for place in first["placements"]:  # billing stops in the hour the spot instance was reclaimed
        assert max(bill.hours[place["resource_id"]]) == hour(instant(place["end"]))


def test_workloads_at_the_month_end_are_running(manifest: list[Workload], bill: Bill) -> None:
    last = hour(MONTH_END) - 1
    deployments = [w for w in manifest if w["kind"] == "deployment"]
    assert len(deployments) == 4
    assert all(w["status"] == "running" and w["end"] is None and w["request_count"] > 0 for w in deployments)
    for work in manifest:
        assert (work["end"] is None) == (work["status"] == "running"), work
        for place in work["placements"]:
            assert (place["end"] is None) == (last in bill.hours[bill.resolve(place["resource_id"])]), work


def test_a_training_run_still_running_at_the_month_end(tmp_path: Path) -> None:
    paths = demo.generate_records(tmp_path, rows=200_000)
    running = [w for w in json.loads(paths[1].read_text()) if w["kind"] == "training" and w["status"] == "running"]
    assert [w["workload_id"] for w in running] == ["diffusion-xl-r20"]
    assert running[0]["end"] is None and all(p["end"] is None for p in running[0]["placements"])


def test_gpu_samples_are_high_exactly_while_a_placement_holds_the_gpu(
    manifest: list[Workload], series: list[dict[str, Any]], bill: Bill
) -> None:
    holds: dict[str, list[tuple[datetime, datetime, set[str] | None]]] = defaultdict(list)
    for work in manifest:
        for place in work["placements"]:
            end = instant(place["end"]) if place["end"] else MONTH_END
            uuids = set(place["gpu_uuids"]) if "gpu_uuids" in place else None
            holds[bill.resolve(place["resource_id"])].append((instant(place["start"]), end, uuids))
    seen: dict[tuple[str, str], set[int]] = defaultdict(set)
    nan = 0
    for s in series:
        metric = s["metric"]
        assert set(metric) == {"__name__", "Hostname", "UUID", "gpu", "modelName", "namespace", "pod"}
        resource = bill.resolve(metric["Hostname"])
        assert resource.startswith(("i-", "//compute.googleapis.com/"))  # no SageMaker or Vertex
        assert metric["modelName"] == MODELS[bill.types[resource]][1]
        for ts, value in s["values"]:
            assert isinstance(ts, int) and ts % 900 == 0 and isinstance(value, str)
            moment = datetime.fromtimestamp(ts, UTC)
            assert hour(moment) in bill.hours[resource]
            assert ts not in seen[resource, metric["UUID"]]
            seen[resource, metric["UUID"]].add(ts)
            held = any(a <= moment < b and (u is None or metric["UUID"] in u) for a, b, u in holds[resource])
            assert held == (metric["pod"] != ""), (metric, moment)
            if value == "NaN":
                nan += 1
            else:
                assert (70 <= int(value) <= 98) if held else (0 <= int(value) <= 3), (metric, moment, value)
    assert 0 < nan < 100
    instances = {r for r in bill.hours if r.startswith(("i-", "//compute.googleapis.com/"))}
    assert {r for r, _ in seen} == instances
    for (resource, _), stamps in seen.items():
        assert len(stamps) == 4 * len(bill.hours[resource])  # every billed hour, every 15 minutes
    for resource in instances:
        assert sum(r == resource for r, _ in seen) == MODELS[bill.types[resource]][0]


def test_status_unmatched_shows_the_host_names_until_bridged(run: Any, tmp_path: Path) -> None:
    billing, records = demo.generate(tmp_path / "d"), demo.generate_records(tmp_path / "d")
    assert run("collect", "focus", *map(str, billing)).exit_code == 0
    assert run("collect", "workloads", str(records[1])).exit_code == 0
    assert run("collect", "dcgm", str(records[0])).exit_code == 0
    result = run("status", "unmatched", "--format", "csv")
    listed = list(csv.DictReader(result.stdout.splitlines()))
    found = sorted((row["record"], row["name"]) for row in listed)
    ip = next(name for _, name in found if IP_HOST.fullmatch(name))
    assert found == sorted((r, n) for r in ("gpu telemetry", "placement") for n in ("gpu-node-07", ip))
    # A placement row spans its name's placements; every placement on these two hosts has ended.
    placed = defaultdict(list)
    for work in json.loads(records[1].read_text()):
        for place in work["placements"]:
            placed[place["resource_id"]].append((work["workload_id"], place["start"], place["end"]))
    assert [
        (row["name"], row["workloads"], row["first_seen"], row["last_seen"])
        for row in listed
        if row["record"] == "placement"
    ] == [
        (name, str(len({w for w, _, _ in placed[name]})), min(s for _, s, _ in placed[name]),
         max(e for _, _, e in placed[name]))
        for name in sorted(("gpu-node-07", ip))
    ]  # fmt: skip
    bill = read_bill(billing)
    (tmp_path / "finops.toml").write_text(
        f'[bridge]\naliases = {{ "gpu-node-07" = "{bill.devbox}", "{ip}" = "{bill.pool}" }}\n'
    )
    assert run("--config", str(tmp_path / "finops.toml"), "collect", "workloads", str(records[1])).exit_code == 0
    assert (
        run("status", "unmatched", "--format", "csv").stdout.strip()
        == "record,source,name,workloads,running,first_seen,last_seen"
    )
