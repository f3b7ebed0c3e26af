"""`finops collect mlflow`: the on-disk mlruns/ fixture, a fake MLflow REST server, re-collection and errors."""

from __future__ import annotations

import base64
import itertools
import json
import re
import shutil
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import Result
from hypothesis import given, settings
from hypothesis import strategies as st

from finops.collect import mlflow, mlflow_files, mlflow_rest
from finops.config import MlflowSettings
from finops.errors import InputError
from tests.conftest import FIXTURES, one_line_error, query, snapshot
from tests.httpfake import FakeServer, Request, serve

MLRUNS = FIXTURES / "mlflow" / "mlruns"
LLM = "472983756120398745"  # an 18-digit experiment id, quoted in meta.yaml: must stay text
PARENT, CHILD, DDP = (
    "5f1a9c2e7b3d4a6f8e0c1b2d3a4f5e6d",
    "a3c9e1f7b5d24c68a0e2f4b6d8c0a1e3",
    "c7e5a3b1d9f84e26b4c2a0e8f6d4b2a9",
)
NOTEBOOK, OOM, KILLED = (
    "0d2f4b6a8c1e43a5b7d9f1e3c5a7b9d1",
    "e8b6d4f2a0c94e17a5c3b1f9d7e5c3a2",
    "9b7d5f3e1a0c4b28d6f4e2a0c8b6d4f5",
)
Runner = Callable[..., Result]
TOKEN, PASSWORD = "tok-3b9f1c-SECRET", "pw-77d2e0-SECRET"
LONG_NAME = "retry of lora sweep trial 7 with gradient checkpointing enabled, killed by the spot reclaim"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def ms(text: str) -> int:
    return int(utc(text).timestamp() * 1000)


def mib(mb: float) -> float:
    return mb * 1e6 / 1048576


@pytest.fixture(autouse=True)
def no_mlflow_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests set the MLFLOW_TRACKING_* variables they need; none leak in from the environment."""
    for name in ("MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def mlruns(tmp_path: Path) -> Path:
    """A writable copy of the fixture store."""
    return Path(shutil.copytree(MLRUNS, tmp_path / "mlruns"))


def q(source: duckdb.DuckDBPyConnection | Path, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    """Rows from the test's open connection, or from the store file once the CLI has closed it."""
    if isinstance(source, Path):
        return query(source, sql, params)
    return source.execute(sql, params or []).fetchall()


def workloads(source: duckdb.DuckDBPyConnection | Path) -> list[tuple[Any, ...]]:
    return q(
        source,
        "SELECT workload_id, kind, name, team, project, owner, status, started_at, ended_at FROM workloads ORDER BY 1",
    )


def placements(source: duckdb.DuckDBPyConnection | Path) -> list[tuple[Any, ...]]:
    return q(source, "SELECT workload_id, resource_id, gpu_count, ended_at FROM workload_placements ORDER BY 1, 2")


def samples(source: duckdb.DuckDBPyConnection | Path) -> list[tuple[Any, ...]]:
    return q(
        source,
        "SELECT ts, host, gpu_index, utilization, memory_used_mib, power_watts FROM gpu_samples "
        "WHERE source = 'mlflow' ORDER BY host, gpu_index, ts",
    )


def everything(db: Path) -> tuple[Any, ...]:
    return (snapshot(db), workloads(db), placements(db), samples(db))


def set_meta(meta: Path, key: str, value: str) -> None:
    text, count = re.subn(rf"(?m)^{key}: .*$", f"{key}: {value}", meta.read_text())
    assert count == 1, key
    meta.write_text(text)


# --- the on-disk mlruns/ fixture ------------------------------------------------------------------------


def test_fixture_store_maps_runs_placements_and_samples(con: duckdb.DuckDBPyConnection) -> None:
    notices: list[str] = []
    report = mlflow.collect(con, path=str(MLRUNS), notice=notices.append)
    assert report.as_row() == {
        "source": "mlflow",
        "workloads_new": 6,
        "workloads_updated": 0,
        "placements": 6,
        "gpu_samples": 15,
        "hosts": 4,
    }
    assert notices == [f"{MLRUNS}: skipped 1 deleted run(s)"]
    assert workloads(con) == [
        (NOTEBOOK, "notebook", "eda-notebook", "vision", None, "bob", "running", utc("2025-01-17T09:00"), None),
        (
            PARENT,
            "training",
            "lora-sweep",
            "nlp",
            "support-bot",
            "alice",
            "finished",
            utc("2025-01-15T08:00"),
            utc("2025-01-15T12:00"),
        ),
        (
            KILLED,
            "training",
            LONG_NAME,
            None,
            None,
            "frank",
            "cancelled",
            utc("2025-01-17T11:00"),
            utc("2025-01-17T11:20"),
        ),
        (
            CHILD,
            "training",
            "lora-r16",
            "nlp",
            "support-bot",
            "alice",
            "finished",
            utc("2025-01-15T08:05"),
            utc("2025-01-15T09:05"),
        ),
        (
            DDP,
            "training",
            "ddp-2node",
            "nlp",
            "support-bot",
            "dave",
            "finished",
            utc("2025-01-16T00:00"),
            utc("2025-01-16T06:00"),
        ),
        (
            OOM,
            "batch",
            "oom-crash",
            "vision",
            None,
            "carol",
            "failed",
            utc("2025-01-17T10:00"),
            utc("2025-01-17T10:07:30"),
        ),
    ]
    # One placement per host; GPUs from the tag, else counted from gpu_<i> metrics; no host tag, no placement.
    assert placements(con) == [
        (NOTEBOOK, "i-0a1b2c3d4e5f60718", Decimal(1), None),
        (PARENT, "gpu-node-01", None, utc("2025-01-15T12:00")),
        (CHILD, "gpu-node-01", Decimal(2), utc("2025-01-15T09:05")),
        (DDP, "gpu-node-02", Decimal(2), utc("2025-01-16T06:00")),
        (DDP, "gpu-node-03", Decimal(2), utc("2025-01-16T06:00")),
        (OOM, "ip-10-0-1-23.ec2.internal", Decimal(4), utc("2025-01-17T10:07:30")),
    ]
    assert samples(con) == [
        (utc("2025-01-15T08:10:00"), "gpu-node-01", 0, 97.5, mib(42513.4), 351.2),
        (utc("2025-01-15T08:10:10.012"), "gpu-node-01", 0, 98.25, mib(42513.4), 349.87),
        (utc("2025-01-15T08:10:20.025"), "gpu-node-01", 0, 96.0, mib(42600.1), 360.0),
        (utc("2025-01-15T08:10:00"), "gpu-node-01", 1, 95.0, 39062.5, 340.5),
        (utc("2025-01-15T08:10:10.012"), "gpu-node-01", 1, 99.5, mib(41000.5), 338.0),
        (utc("2025-01-15T08:10:20.025"), "gpu-node-01", 1, 12.75, mib(41000.5), 120.25),
        (utc("2025-01-16T00:30:00"), "gpu-node-02", 0, 88.0, mib(70000.0), None),
        (utc("2025-01-16T00:30:10"), "gpu-node-02", 0, 91.5, mib(70100.0), None),
        (utc("2025-01-16T00:30:00"), "gpu-node-02", 1, 87.25, None, None),
        (utc("2025-01-16T00:30:10"), "gpu-node-02", 1, 90.0, None, None),
        (utc("2025-01-16T00:30:00.5"), "gpu-node-03", 0, 85.5, None, 402.1),
        (utc("2025-01-16T00:30:10.5"), "gpu-node-03", 0, 89.0, None, 398.6),
        (utc("2025-01-16T00:30:00.5"), "gpu-node-03", 1, 86.0, None, None),
        (utc("2025-01-16T00:30:10.5"), "gpu-node-03", 1, 0.0, None, None),
        (utc("2025-01-17T09:15:00"), "i-0a1b2c3d4e5f60718", 0, 3.5, None, None),
    ]


def test_fixture_attributes_keep_ids_as_text_and_drop_mlflow_internals(con: duckdb.DuckDBPyConnection) -> None:
    mlflow.collect(con, path=str(MLRUNS))
    child = q(con, "SELECT attributes FROM workloads WHERE workload_id = ?", [CHILD])[0][0]
    assert child == {
        "experiment_id": LLM,
        "experiment_name": "llm-finetune",
        "parent_run_id": PARENT,
        "user_id": "alice",
        "host": "gpu-node-01",
        "lora_rank": "16",
        "mlflow.source.git.commit": "3f2a9d1c8b7e6f5a4d3c2b1a0f9e8d7c6b5a4f3e",
        "mlflow.source.name": "sweep.py",
        "mlflow.source.type": "LOCAL",
        "project": "support-bot",
        "team": "nlp",
    }
    parent = q(
        con,
        "SELECT attributes['cluster/zone'], attributes['mlflow.runName'] FROM workloads WHERE workload_id = ?",
        [PARENT],
    )
    assert parent == [("us-east-1a", None)]  # a `/` in a tag key is a sub-folder; runName is the name
    ids = q(con, "SELECT DISTINCT attributes['experiment_id'] FROM workloads ORDER BY 1")
    assert ids == [("0",), (LLM,)]


def test_cli_loads_fixture_and_filters_experiments_by_id_or_name(run: Runner, db: Path) -> None:
    result = run("collect", "mlflow", "--path", str(MLRUNS), "--experiment", LLM, "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["workloads_new"] == 3
    result = run("collect", "mlflow", "--path", str(MLRUNS), "--experiment", "Default", "--format", "json")
    assert result.exit_code == 0, result.output
    assert "skipped 1 deleted run(s)" in result.stderr
    assert query(db, "SELECT count(*), count(DISTINCT attributes['experiment_name']) FROM workloads") == [(6, 2)]
    assert query(db, "SELECT count(*) FROM workloads WHERE name IN ('scratch', 'old')") == [(0,)]  # deleted, .trash


def test_collecting_twice_leaves_the_same_rows(con: duckdb.DuckDBPyConnection) -> None:
    first = mlflow.collect(con, path=str(MLRUNS))
    before = (workloads(con), placements(con), samples(con))
    second = mlflow.collect(con, path=str(MLRUNS))
    assert (workloads(con), placements(con), samples(con)) == before
    assert (second.new, second.updated, second.samples) == (0, first.new, first.samples)
    assert q(con, "SELECT count(*), count(DISTINCT load_checksum) FROM ingest_loads") == [(2, 1)]


def test_running_run_that_finished_is_updated_in_place(con: duckdb.DuckDBPyConnection, mlruns: Path) -> None:
    mlflow.collect(con, path=str(mlruns))
    run_dir = mlruns / "0" / NOTEBOOK
    set_meta(run_dir / "meta.yaml", "status", "3")
    set_meta(run_dir / "meta.yaml", "end_time", str(ms("2025-01-17T13:30")))
    with (run_dir / "metrics" / "system" / "gpu_0_utilization_percentage").open("a") as fh:
        fh.write(f"{ms('2025-01-17T13:00')} 61.0 1\n")
    report = mlflow.collect(con, path=str(mlruns))
    assert (report.new, report.updated) == (0, 6)
    assert q(con, "SELECT count(*) FROM workloads") == [(6,)]
    assert q(con, "SELECT status, ended_at FROM workloads WHERE workload_id = ?", [NOTEBOOK]) == [
        ("finished", utc("2025-01-17T13:30"))
    ]
    assert q(con, "SELECT ended_at FROM workload_placements WHERE workload_id = ?", [NOTEBOOK]) == [
        (utc("2025-01-17T13:30"),)
    ]
    assert q(con, "SELECT ts, utilization FROM gpu_samples WHERE host = 'i-0a1b2c3d4e5f60718' ORDER BY 1") == [
        (utc("2025-01-17T09:15"), 3.5),
        (utc("2025-01-17T13:00"), 61.0),
    ]


# --- a fake MLflow tracking server ------------------------------------------------------------------------


def token(offset: int) -> str:
    """A page token shaped like MLflow's (base64 of {"offset": n})."""
    return base64.b64encode(json.dumps({"offset": offset}).encode()).decode()


def page(items: list[Any], request_token: str | None, size: int) -> tuple[list[Any], dict[str, str]]:
    start = json.loads(base64.b64decode(request_token))["offset"] if request_token else 0
    more = {"next_page_token": token(start + size)} if start + size < len(items) else {}
    return items[start : start + size], more


def rest_run(run_id: str, exp: str, name: str, status: str, start: int | str, end: int | None, **tags: str) -> Any:
    keys = tags.pop("metrics", "").split()
    info: dict[str, Any] = {
        "run_id": run_id,
        "run_uuid": run_id,
        "run_name": name,
        "experiment_id": exp,
        "user_id": "svc-train",
        "status": status,
        "start_time": start,
        "artifact_uri": f"s3://ml/{run_id}",
        "lifecycle_stage": "active",
    }
    if end is not None:
        info["end_time"] = end
    metrics = [{"key": k, "value": 1.0, "timestamp": ms("2025-02-01T10:00"), "step": 0} for k in keys]
    tag_list = [{"key": "mlflow.runName", "value": name}] + [{"key": k, "value": v} for k, v in tags.items()]
    return {"info": info, "data": {"metrics": metrics, "params": [{"key": "lr", "value": "1e-4"}], "tags": tag_list}}


EXPERIMENTS = [
    {"experiment_id": "0", "name": "Default", "lifecycle_stage": "active"},
    {"experiment_id": "11", "name": "bert-pretrain", "lifecycle_stage": "active"},
    {"experiment_id": "12", "name": "other-team", "lifecycle_stage": "active"},
]
T0 = ms("2025-02-01T10:00")
RUNS = [
    rest_run(
        "r1",
        "11",
        "bert-base",
        "FINISHED",
        T0,
        T0 + 3_600_000,
        host="gpu-a",
        gpus="8",
        team="nlp",
        metrics="system/gpu_0_utilization_percentage system/gpu_0_memory_usage_megabytes loss",
    ),
    rest_run("r2", "11", "bert-large", "RUNNING", str(T0), None, host="gpu-a", team="nlp"),
    rest_run("r3", "11", "bert-3node", "FAILED", T0, T0 + 60_000, host="gpu-b,gpu-c, gpu-d", gpus="8"),
    rest_run(
        "r4", "0", "endpoint-load", "KILLED", T0, T0 + 120_000, resource_id="arn:aws:sagemaker:job/x", kind="deployment"
    ),
    rest_run("r5", "0", "queued", "SCHEDULED", T0, None),
    rest_run("r6", "12", "not-selected", "FINISHED", T0, T0 + 1000),
]
HISTORY: dict[tuple[str, str], list[Any]] = {
    ("r1", "system/gpu_0_utilization_percentage"): [10.0, 20.0, 30.0, 40.0, "NaN"],
    ("r1", "system/gpu_0_memory_usage_megabytes"): [1000.0, 1048.576, 2000.0, 0.0, 5.0],
}


@dataclass
class FakeMlflow:
    """What the module's fake MLflow server answers; every test starts from these defaults."""

    server: FakeServer
    page_size: int = 2
    runs: list[Any] = field(default_factory=lambda: list(RUNS))
    status: int = 200  # with `body`: the answer to every request
    body: Any = None
    broken: str | None = None  # an endpoint that answers 503

    @property
    def url(self) -> str:
        return self.server.url

    def requests_to(self, endpoint: str) -> list[Request]:
        return [r for r in self.server.requests if r.path.endswith(endpoint)]


def mlflow_routes(current: list[FakeMlflow]) -> dict[tuple[str, str], Callable[[Request], tuple[int, Any]]]:
    """Routes of a small MLflow tracking server that paginates every list, as `current[0]` says."""

    def experiments(api: FakeMlflow, request: Request) -> tuple[int, Any]:
        items, more = page(EXPERIMENTS, request.json().get("page_token"), api.page_size)
        return 200, {"experiments": items, **more}

    def search(api: FakeMlflow, request: Request) -> tuple[int, Any]:
        asked = request.json()
        assert asked["max_results"] == mlflow_rest.PAGE and asked["run_view_type"] == "ACTIVE_ONLY"
        chosen = [r for r in api.runs if r["info"]["experiment_id"] in asked["experiment_ids"]]
        items, more = page(chosen, asked.get("page_token"), api.page_size)
        return 200, {"runs": items, **more} if items else more  # proto JSON leaves out an empty list

    def history(api: FakeMlflow, request: Request) -> tuple[int, Any]:
        run_id, key = request.query["run_id"][0], request.query["metric_key"][0]
        points = [
            {"key": key, "value": v, "timestamp": T0 + 10_000 * i, "step": i}
            for i, v in enumerate(HISTORY[run_id, key])
        ]
        items, more = page(points, request.query.get("page_token", [None])[0], api.page_size)
        return 200, {"metrics": items, **more}

    def route(endpoint: str, handler: Callable[[FakeMlflow, Request], tuple[int, Any]]) -> Any:
        def answer(request: Request) -> tuple[int, Any]:
            api = current[0]
            if api.status != 200 or api.body is not None:
                return api.status, api.body
            if api.broken == endpoint:
                return 503, {"error_code": "TEMPORARILY_UNAVAILABLE", "message": "overloaded"}
            return handler(api, request)

        return answer

    return {
        ("POST", "/api/2.0/mlflow/experiments/search"): route("experiments/search", experiments),
        ("POST", "/api/2.0/mlflow/runs/search"): route("runs/search", search),
        ("GET", "/api/2.0/mlflow/metrics/get-history"): route("metrics/get-history", history),
    }


@pytest.fixture(scope="module")
def mlflow_server() -> Iterator[tuple[FakeServer, list[FakeMlflow]]]:
    """One server for the module (stopping one takes half a second); tests change what it answers."""
    current: list[FakeMlflow] = []
    with serve(mlflow_routes(current)) as server:
        yield server, current


@pytest.fixture
def api(mlflow_server: tuple[FakeServer, list[FakeMlflow]]) -> FakeMlflow:
    server, current = mlflow_server
    server.requests.clear()
    current[:] = [FakeMlflow(server)]
    return current[0]


def test_rest_paginates_every_list_and_maps_runs(con: duckdb.DuckDBPyConnection, api: FakeMlflow) -> None:
    report = mlflow.collect(con, tracking_uri=api.url + "/", experiments=["bert-pretrain", "0"], token=TOKEN)
    assert (report.new, report.placements, report.samples, report.hosts) == (5, 6, 5, 1)
    assert len(api.requests_to("experiments/search")) == 2  # 3 experiments, 2 a page
    searches = api.requests_to("runs/search")
    assert len(searches) == 3  # 5 runs of the chosen experiments, 2 a page
    assert [s.json().get("page_token") for s in searches] == [None, token(2), token(4)]
    assert all(sorted(s.json()["experiment_ids"]) == ["0", "11"] for s in searches)
    histories = api.requests_to("get-history")
    assert len(histories) == 6  # 2 GPU metrics x 5 points, 2 a page; `loss` is not fetched
    assert {r.query["max_results"][0] for r in histories} == {str(mlflow_rest.HISTORY_PAGE)}
    assert {r.headers.get("authorization") for r in api.server.requests} == {f"Bearer {TOKEN}"}
    assert workloads(con) == [
        (
            "r1",
            "training",
            "bert-base",
            "nlp",
            None,
            "svc-train",
            "finished",
            utc("2025-02-01T10:00"),
            utc("2025-02-01T11:00"),
        ),
        ("r2", "training", "bert-large", "nlp", None, "svc-train", "running", utc("2025-02-01T10:00"), None),
        (
            "r3",
            "training",
            "bert-3node",
            None,
            None,
            "svc-train",
            "failed",
            utc("2025-02-01T10:00"),
            utc("2025-02-01T10:01"),
        ),
        (
            "r4",
            "deployment",
            "endpoint-load",
            None,
            None,
            "svc-train",
            "cancelled",
            utc("2025-02-01T10:00"),
            utc("2025-02-01T10:02"),
        ),
        ("r5", "training", "queued", None, None, "svc-train", "pending", utc("2025-02-01T10:00"), None),
    ]
    # 8 GPUs over 3 hosts: equal shares to 18 places that still sum to 8 exactly.
    third = Decimal("2.666666666666666667")
    assert placements(con) == [
        ("r1", "gpu-a", Decimal(8), utc("2025-02-01T11:00")),
        ("r2", "gpu-a", None, None),
        ("r3", "gpu-b", Decimal(8) - 2 * third, utc("2025-02-01T10:01")),
        ("r3", "gpu-c", third, utc("2025-02-01T10:01")),
        ("r3", "gpu-d", third, utc("2025-02-01T10:01")),
        ("r4", "arn:aws:sagemaker:job/x", None, utc("2025-02-01T10:02")),
    ]
    assert q(con, "SELECT sum(gpu_count) FROM workload_placements WHERE workload_id = 'r3'") == [(Decimal(8),)]
    assert [s[2:5] for s in samples(con)] == [
        (0, 10.0, mib(1000.0)),
        (0, 20.0, 1000.0),
        (0, 30.0, mib(2000.0)),
        (0, 40.0, 0.0),
        (0, None, mib(5.0)),  # NaN utilization is no value
    ]
    assert q(con, "SELECT DISTINCT source_uri FROM ingest_loads") == [(api.url,)]


def test_rest_basic_auth_keeps_secrets_out_of_urls_store_and_messages(
    con: duckdb.DuckDBPyConnection, api: FakeMlflow
) -> None:
    mlflow.collect(con, tracking_uri=api.url, username="ci-bot", password=PASSWORD, token=TOKEN)
    basic = "Basic " + base64.b64encode(f"ci-bot:{PASSWORD}".encode()).decode()
    assert {r.headers.get("authorization") for r in api.server.requests} == {basic}  # basic wins over a token
    for request in api.server.requests:
        assert PASSWORD not in request.path + json.dumps(request.query) and TOKEN not in json.dumps(request.query)
    stored = str(q(con, "SELECT * FROM workloads")) + str(q(con, "SELECT * FROM ingest_loads"))
    assert PASSWORD not in stored and TOKEN not in stored and "ci-bot" not in stored
    # Credentials written into the URL are used as basic auth and dropped from everything shown.
    api.server.requests.clear()
    api.status, api.body = 500, {"error_code": "INTERNAL_ERROR", "message": f"bad {PASSWORD}"}
    with pytest.raises(InputError) as caught:
        mlflow.collect(con, tracking_uri=api.url.replace("//", f"//ci-bot:{PASSWORD}@"))
    assert PASSWORD not in str(caught.value) and "bad ***" in str(caught.value)
    assert api.server.requests[0].headers["authorization"] == basic


def test_configurable_tag_names(con: duckdb.DuckDBPyConnection, api: FakeMlflow) -> None:
    tagged = rest_run(
        "t1",
        "11",
        "custom",
        "FINISHED",
        T0,
        T0 + 1000,
        squad="ranking",
        team="ignored",
        requested_by="zoe",
        cost_center="cc-42",
        workload_type="Batch",
        machine="node-7, node-8",
        accelerators="4",
        host="ignored-host",
    )
    custom = MlflowSettings(
        team_tags=("squad",),
        owner_tags=("requested_by",),
        project_tags=("cost_center",),
        kind_tag="workload_type",
        host_tags=("machine",),
        resource_tags=(),
        gpu_tags=("accelerators",),
    )
    api.runs = [tagged]
    mlflow.collect(con, tracking_uri=api.url, settings=custom)
    assert workloads(con)[0][:6] == ("t1", "batch", "custom", "ranking", "cc-42", "zoe")
    assert placements(con) == [
        ("t1", "node-7", Decimal(2), utc("2025-02-01T10:00:01")),
        ("t1", "node-8", Decimal(2), utc("2025-02-01T10:00:01")),
    ]


@given(runs=st.integers(min_value=0, max_value=9), size=st.integers(min_value=1, max_value=6))
@settings(max_examples=40, deadline=None)
def test_pagination_returns_every_run_once_for_any_page_size(
    mlflow_server: tuple[FakeServer, list[FakeMlflow]], runs: int, size: int
) -> None:
    server, current = mlflow_server
    server.requests.clear()
    made = [rest_run(f"p{i}", "11", f"run-{i}", "FINISHED", T0, T0 + i) for i in range(runs)]
    current[:] = [api := FakeMlflow(server, page_size=size, runs=made)]
    fetched = mlflow_rest.read(server.url, ["11"], None, None, None)
    assert [r.run_id for r in fetched.runs] == [f"p{i}" for i in range(runs)]  # each once, in the server's order
    assert len(api.requests_to("runs/search")) == max(1, -(-runs // size))


# --- errors through the CLI: one line, exit 2, store unchanged ------------------------------------------------


@pytest.fixture
def loaded(run: Runner, db: Path) -> tuple[Any, ...]:
    """A store with the fixture loaded, and everything a failed collection must leave as it was."""
    assert run("collect", "mlflow", "--path", str(MLRUNS)).exit_code == 0
    return everything(db)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_server_is_named(run: Runner, db: Path, loaded: tuple[Any, ...]) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    error = one_line_error(run("collect", "mlflow", "--tracking-uri", url))
    assert f"cannot reach MLflow at {url}" in error and "check --tracking-uri" in error
    assert everything(db) == loaded


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (
            500,
            {"error_code": "INTERNAL_ERROR", "message": "database is locked"},
            "HTTP 500 Internal Server Error: database is locked",
        ),
        (
            401,
            {"error_code": "UNAUTHENTICATED"},
            "HTTP 401 Unauthorized (the credentials were refused): set MLFLOW_TRACKING_TOKEN",
        ),
        (403, {}, "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD"),
        (302, {}, "HTTP 302 redirect refused; give the server's final address as --tracking-uri"),
        (200, b"<html><body>Sign in</body></html>", "the answer is not JSON (starts '<html><body>Sign in"),
        (200, [1, 2], "the answer is JSON but not an object"),
        (404, {"error_code": "ENDPOINT_NOT_FOUND"}, "check --tracking-uri: the server's base URL"),
    ],
)
def test_server_errors(
    run: Runner,
    db: Path,
    loaded: tuple[Any, ...],
    api: FakeMlflow,
    monkeypatch: pytest.MonkeyPatch,
    status: int,
    body: Any,
    expected: str,
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", TOKEN)
    api.status, api.body = status, body
    error = one_line_error(run("collect", "mlflow", "--tracking-uri", api.url))
    assert expected in error
    assert TOKEN not in error
    assert everything(db) == loaded


def test_server_failing_midway_writes_nothing(run: Runner, db: Path, loaded: tuple[Any, ...], api: FakeMlflow) -> None:
    api.broken = "metrics/get-history"
    error = one_line_error(run("collect", "mlflow", "--tracking-uri", api.url))
    assert "HTTP 503 Service Unavailable: overloaded" in error and "metrics/get-history" in error
    assert len(api.requests_to("runs/search")) == 3  # runs were read, then nothing was written
    assert everything(db) == loaded


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("file:///srv/mlruns", "is not an http(s)://HOST[:PORT][/PATH] URL"),
        ("http://mlflow:5000/?token=x", "is not an http(s)://HOST[:PORT][/PATH] URL"),
        (f"databricks://ci:{PASSWORD}@ws", "--tracking-uri the URI is not"),
    ],
)
def test_bad_tracking_uri(run: Runner, uri: str, expected: str) -> None:
    error = one_line_error(run("collect", "mlflow", "--tracking-uri", uri))
    assert expected in error and PASSWORD not in error


def test_not_an_mlflow_store(run: Runner, db: Path, loaded: tuple[Any, ...], tmp_path: Path) -> None:
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "runs.csv").write_text("a,b\n")
    error = one_line_error(run("collect", "mlflow", "--path", str(tmp_path / "exports")))
    assert "not an MLflow file store: no <experiment id>/meta.yaml inside" in error
    error = one_line_error(run("collect", "mlflow", "--path", str(MLRUNS / LLM)))
    assert "this is an MLflow experiment or run folder; pass the mlruns/ folder above it" in error
    error = one_line_error(run("collect", "mlflow", "--path", str(tmp_path / "missing")))
    assert "no such directory" in error
    assert everything(db) == loaded


def test_unknown_experiment_is_named(run: Runner, db: Path, loaded: tuple[Any, ...]) -> None:
    error = one_line_error(run("collect", "mlflow", "--path", str(MLRUNS), "--experiment", "llm-finetun"))
    assert "no active experiment with id or name 'llm-finetun'; known: 'Default' (0), 'llm-finetune'" in error
    assert everything(db) == loaded


def test_unparseable_meta_yaml_names_file_and_line(
    run: Runner, db: Path, loaded: tuple[Any, ...], mlruns: Path
) -> None:
    meta = mlruns / LLM / CHILD / "meta.yaml"
    meta.write_text(meta.read_text().replace("tags: []", "tags:\n- key: team\n  value: nlp"))  # PyYAML's list form
    error = one_line_error(run("collect", "mlflow", "--path", str(mlruns)))
    assert f"{meta} line 16: '- key: team' is not a flat `key: value` line of MLflow" in error
    assert everything(db) == loaded


def test_run_ending_before_it_starts_is_named(run: Runner, db: Path, loaded: tuple[Any, ...], mlruns: Path) -> None:
    set_meta(mlruns / LLM / DDP / "meta.yaml", "end_time", str(ms("2025-01-15T23:00")))
    error = one_line_error(run("collect", "mlflow", "--path", str(mlruns)))
    assert f"run 'ddp-2node' ({DDP}) ends (2025-01-15 23:00:00 UTC) before it starts" in error
    assert everything(db) == loaded


def test_bad_metric_line_and_status_are_named(con: duckdb.DuckDBPyConnection, mlruns: Path) -> None:
    metric = mlruns / LLM / CHILD / "metrics" / "system" / "gpu_1_power_usage_watts"
    metric.write_text(metric.read_text() + "1736928620025 n/a\n")
    with pytest.raises(InputError, match=re.escape(f"{metric} line 4: expected `<epoch ms> <value> <step>`")):
        mlflow.collect(con, path=str(mlruns))
    set_meta(mlruns / "0" / OOM / "meta.yaml", "status", "9")
    with pytest.raises(InputError, match="status 9 is not one of RUNNING, SCHEDULED, FINISHED, FAILED, KILLED"):
        mlflow.collect(con, path=str(mlruns), experiments=["0"])


# --- the meta.yaml parser -----------------------------------------------------------------------------------

BOOLS_AND_NULLS = {w for b in ("yes", "no", "true", "false", "on", "off", "null") for w in (b, b.title(), b.upper())}
PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9_./-]*(?: [A-Za-z0-9_./-]+)*")


def dump(mapping: dict[str, Any]) -> str:
    """A meta.yaml as PyYAML's safe_dump writes one: plain when safe, else quoted; long values folded."""
    lines = []
    for key, value in mapping.items():
        if value is None or value == [] or isinstance(value, int):
            lines.append(f"{key}: {'null' if value is None else '[]' if value == [] else value}")
        elif "\n" not in value and all(c.isprintable() for c in value):
            quoted = "'" + value.replace("'", "''") + "'"
            text = value if PLAIN.fullmatch(value) and value not in BOOLS_AND_NULLS else quoted
            words = text.split(" ")
            line = f"{key}: {words[0]}"
            for before, word in itertools.pairwise(words):
                if len(line) > 80 and before and word:  # break at a single space past column 80
                    lines.append(line)
                    line = "  " + word
                else:
                    line += " " + word
            lines.append(line)
        else:
            lines.append(f"{key}: {json.dumps(value, ensure_ascii=False)}")
    return "\n".join(lines) + "\n"


@given(
    st.dictionaries(
        st.from_regex(r"[a-z_][a-z0-9_]{0,20}", fullmatch=True),
        st.one_of(st.none(), st.integers(), st.just([]), st.text(max_size=150), st.from_regex(PLAIN, fullmatch=True)),
        max_size=8,
    )
)
@settings(max_examples=300, deadline=None)
def test_meta_parser_round_trips_any_flat_mapping(mapping: dict[str, Any]) -> None:
    assert mlflow_files.parse_meta(dump(mapping), "meta.yaml") == mapping


def test_meta_parser_reads_what_mlflow_writes() -> None:
    text = (MLRUNS / "0" / KILLED / "meta.yaml").read_text()
    meta = mlflow_files.parse_meta(text, "meta.yaml")
    assert meta["run_name"] == LONG_NAME and meta["experiment_id"] == "0" and meta["entry_point_name"] == ""
    assert (meta["status"], meta["deleted_time"], meta["tags"]) == (5, None, [])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: 1\nnested:\n  b: 2\n", "line 2: a nested block"),
        ("tags: [a, b]\n", "line 1: '[a, b]' is a YAML collection"),
        ("name: &x run\n", "line 1: '&x run' is a YAML collection, anchor"),
        ("flag: yes\n", "line 1: 'yes' is a YAML bool, float, date or non-decimal int"),
        ("when: 2025-01-15\n", "line 1: '2025-01-15' is a YAML bool"),
        ("id: 0123\n", "line 1: '0123' is a YAML bool"),
        ("name: 'open\n", "line 1: a single-quoted value must end with '"),
        ('name: "a\\qb"\n', "line 1: \\q is not a YAML escape"),
        ("a: 1\na: 2\n", "line 2: 'a' appears twice"),
        ("---\na: 1\n", "line 1: '---' is not a flat `key: value` line"),
        ("  a: 1\n", "line 1: '  a: 1' is not a flat"),
        ("note: a: b\n", "line 1: 'a: b' needs quotes"),
    ],
)
def test_meta_parser_refuses_anything_else(text: str, expected: str) -> None:
    with pytest.raises(InputError, match=re.escape(f"meta.yaml {expected}")):
        mlflow_files.parse_meta(text, "meta.yaml")
