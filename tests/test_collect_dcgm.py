"""`finops collect dcgm`: paged range queries against a fake Prometheus, saved scrapes and JSON, and bad input."""

from __future__ import annotations

import json
import shutil
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finops import store
from finops.collect import dcgm, prometheus
from finops.errors import InputError
from tests.conftest import FIXTURES, one_line_error, query, snapshot
from tests.httpfake import Request, serve

T0 = 1759276800  # 2025-10-01T00:00:00Z
STEP = 60
TOKEN = "s3cr3t-t0ken-4711"
SCRAPE = FIXTURES / "dcgm" / "dcgm-exporter-node-a100-1-20251001T120000Z.prom"
FEDERATE = FIXTURES / "dcgm" / "federate-node-h100-2.prom"
SAVED = FIXTURES / "dcgm" / "query_range-node-a100-1.json"
ROUTE = ("GET", "/api/v1/query_range")

# The fake server's GPUs, labelled as Prometheus stores DCGM series (empty labels are dropped on ingestion).
GPUS: list[dict[str, str]] = [
    {"Hostname": "node-1", "gpu": "0", "UUID": "GPU-1111", "modelName": "NVIDIA A100-SXM4-40GB", "pod": "run-42-0",
     "namespace": "ml", "container": "trainer"},
    {"Hostname": "node-1", "gpu": "1", "UUID": "GPU-2222", "modelName": "NVIDIA A100-SXM4-40GB"},
    # a MIG instance on a node with the newer exporter (lower-case hostname); DCGM has no GPU_UTIL for it
    {"hostname": "node-2", "gpu": "0", "UUID": "GPU-3333", "GPU_I_ID": "3", "GPU_I_PROFILE": "1g.10gb",
     "modelName": "NVIDIA A100-SXM4-40GB"},
]  # fmt: skip


def value(metric: str, gpu: int, t: int, bias: float = 0.0) -> float:
    """The fake series: a deterministic function of metric, GPU and instant."""
    k = (t - T0) // STEP
    used = 1000 * (gpu + 1) + k % 7
    return {
        "DCGM_FI_DEV_GPU_UTIL": (k + gpu) % 101,
        "DCGM_FI_DEV_FB_USED": used,
        "DCGM_FI_DEV_FB_FREE": 40000 - used,
        "DCGM_FI_DEV_POWER_USAGE": 100 + gpu + (k % 4) * 0.25 + bias,
        "DCGM_FI_PROF_GR_ENGINE_ACTIVE": (k % 5) / 4,
    }[metric]


def fake(bias: float = 0.0, warnings: tuple[str, ...] = (), fail_from: int | None = None) -> dict[Any, Any]:
    """Routes of a Prometheus answering query_range like the real one (inclusive end, 11,000-point limit)."""

    def handler(request: Request) -> tuple[int, Any]:
        query = request.query["query"][0]
        start, end, step = (float(request.query[k][0]) for k in ("start", "end", "step"))
        if fail_from is not None and start >= fail_from:
            return 503, {"status": "error", "errorType": "timeout", "error": "query timed out in query execution"}
        if (end - start) / step > 11000:
            return 400, {"status": "error", "errorType": "bad_data", "error": "exceeded maximum resolution of 11,000"}
        times = range(int(start), int(end) + 1, int(step))
        result = [
            {
                "metric": {"__name__": query, **labels, "instance": f"10.0.0.{n}:9400", "job": "dcgm"},
                "values": [[t, _text(value(query, n, t, bias))] for t in times],
            }
            for n, labels in enumerate(GPUS)
            if not (query == "DCGM_FI_DEV_GPU_UTIL" and "GPU_I_ID" in labels)
        ]
        body: dict[str, Any] = {"status": "success", "data": {"resultType": "matrix", "result": result}}
        return 200, body | ({"warnings": list(warnings)} if warnings else {})

    return {ROUTE: handler}


def _text(number: float) -> str:
    return str(int(number)) if number == int(number) else repr(number)


def window(first: int, last: int) -> list[str]:
    """--start/--end flags for the steps [first, last) after T0."""
    at = [datetime.fromtimestamp(T0 + n * STEP, UTC).strftime("%Y-%m-%dT%H:%M:%SZ") for n in (first, last)]
    return ["--start", at[0], "--end", at[1]]


def rows(db: Path) -> list[tuple[Any, ...]]:
    return query(
        db,
        "SELECT ts, host, gpu_uuid, gpu_index, gpu_model, utilization, memory_used_mib, memory_total_mib, "
        "power_watts, pod, namespace, container FROM gpu_samples ORDER BY host, gpu_uuid, ts",
    )


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- live mode against a fake Prometheus -------------------------------------------------------------


def test_long_window_is_paged_without_duplicate_boundaries(run, db):
    steps = 25_000  # 3 chunks of at most 10,000 steps
    with serve(fake()) as server:
        result = run("collect", "dcgm", "--prometheus", server.url, *window(0, steps), "--format", "csv")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1] == "dcgm,0,0,0,75000,2"
    assert len(server.requests) == 3 * 5
    starts = sorted({float(r.query["start"][0]) for r in server.requests})
    ends = sorted({float(r.query["end"][0]) for r in server.requests})
    assert starts == [T0, T0 + 600_000, T0 + 1_200_000]
    assert ends == [T0 + 600_000, T0 + 1_200_000, T0 + 1_500_000]
    assert all(r.query["step"] == ["60"] for r in server.requests)
    summary = query(
        db,
        "SELECT count(*), count(DISTINCT (host, gpu_uuid, ts)), min(ts), max(ts), sum(utilization), "
        "sum(memory_used_mib), sum(memory_total_mib), sum(power_watts) FROM gpu_samples",
    )
    util = sum(value("DCGM_FI_DEV_GPU_UTIL", g, T0 + n * STEP) for g in (0, 1) for n in range(steps))
    util += sum(100 * value("DCGM_FI_PROF_GR_ENGINE_ACTIVE", 2, T0 + n * STEP) for n in range(steps))
    used = sum(value("DCGM_FI_DEV_FB_USED", g, T0 + n * STEP) for g in range(3) for n in range(steps))
    power = sum(value("DCGM_FI_DEV_POWER_USAGE", g, T0 + n * STEP) for g in range(3) for n in range(steps))
    assert summary == [
        (75000, 75000, at("2025-10-01T00:00:00+00:00"), at("2025-10-18T08:39:00+00:00"), util, used,
         75000 * 40000.0, power)
    ]  # fmt: skip
    assert (util, used, power) == (3_747_509, 150_224_982, 7_603_125)  # worked out by hand, too
    boundary = query(db, "SELECT count(*) FROM gpu_samples WHERE ts = $1", [at("2025-10-07T22:40:00+00:00")])
    assert boundary == [(3,)]  # T0 + 600,000 s: the first point of chunk 2, not also the last of chunk 1


def test_rows_merge_metrics_and_use_engine_activity_only_without_gpu_util(run, db):
    with serve(fake()) as server:
        result = run("collect", "dcgm", "--prometheus", server.url + "/", *window(10, 12))
    assert result.exit_code == 0, result.output
    t10, t11 = at("2025-10-01T00:10:00+00:00"), at("2025-10-01T00:11:00+00:00")
    model = "NVIDIA A100-SXM4-40GB"
    assert rows(db) == [
        (t10, "node-1", "GPU-1111", 0, model, 10.0, 1003.0, 40000.0, 100.5, "run-42-0", "ml", "trainer"),
        (t11, "node-1", "GPU-1111", 0, model, 11.0, 1004.0, 40000.0, 100.75, "run-42-0", "ml", "trainer"),
        (t10, "node-1", "GPU-2222", 1, model, 11.0, 2003.0, 40000.0, 101.5, None, None, None),
        (t11, "node-1", "GPU-2222", 1, model, 12.0, 2004.0, 40000.0, 101.75, None, None, None),
        (t10, "node-2", "GPU-3333/MIG-3", 0, model, 0.0, 3003.0, 40000.0, 102.5, None, None, None),
        (t11, "node-2", "GPU-3333/MIG-3", 0, model, 25.0, 3004.0, 40000.0, 102.75, None, None, None),
    ]
    assert query(db, "SELECT source_uri FROM ingest_loads") == [(server.url,)]


def test_token_goes_in_the_header_only(run, db, monkeypatch):
    monkeypatch.setenv("FINOPS_PROMETHEUS_TOKEN", TOKEN)
    with serve(fake()) as server:
        result = run("collect", "dcgm", "--prometheus", server.url, *window(0, 5))
    assert result.exit_code == 0, result.output
    assert len(server.requests) == 5
    assert {r.headers.get("authorization") for r in server.requests} == {f"Bearer {TOKEN}"}
    assert not [r for r in server.requests if TOKEN in repr((r.path, r.query))]
    stored = query(db, "SELECT * FROM ingest_loads") + query(db, "SELECT * FROM gpu_samples")
    assert query(db, "SELECT count(*) FROM gpu_samples") == [(15,)]
    assert TOKEN not in repr(stored) and TOKEN not in result.output


def test_credentials_in_the_url_become_basic_auth_and_are_not_kept(run, db):
    with serve(fake()) as server:
        url = server.url.replace("http://", "http://alice:pa%40ss@")
        result = run("collect", "dcgm", "--prometheus", url, *window(0, 1))
    assert result.exit_code == 0, result.output
    assert {r.headers.get("authorization") for r in server.requests} == {"Basic YWxpY2U6cGFAc3M="}  # alice:pa@ss
    assert query(db, "SELECT source_uri FROM ingest_loads") == [(server.url,)]


def test_collecting_the_same_window_again_changes_nothing(run, db):
    with serve(fake()) as server:
        first = run("collect", "dcgm", "--prometheus", server.url, *window(0, 300))
        before = rows(db)
        second = run("collect", "dcgm", "--prometheus", server.url, *window(0, 300))
    assert first.exit_code == second.exit_code == 0, second.output
    assert len(before) == 900
    assert rows(db) == before
    assert query(db, "SELECT count(*) FROM ingest_loads") == [(2,)]


def test_an_overlapping_window_replaces_the_overlap(run, db):
    with serve(fake()) as server:
        run("collect", "dcgm", "--prometheus", server.url, *window(0, 100))
    with serve(fake(bias=1000.0)) as server:
        result = run("collect", "dcgm", "--prometheus", server.url, *window(50, 150))
    assert result.exit_code == 0, result.output
    counts = query(
        db,
        "SELECT count(*), count(DISTINCT (host, gpu_uuid, ts)), count(*) FILTER (WHERE power_watts > 1000), "
        "min(ts) FILTER (WHERE power_watts > 1000), max(ts) FILTER (WHERE power_watts < 1000) FROM gpu_samples",
    )
    assert counts == [(450, 450, 300, at("2025-10-01T00:50:00+00:00"), at("2025-10-01T00:49:00+00:00"))]


def test_prometheus_warnings_are_notices_once(run, db):
    with serve(fake(warnings=("PromQL info: metric might not be a counter",))) as server:
        result = run("collect", "dcgm", "--prometheus", server.url, *window(0, 2))
    assert result.exit_code == 0, result.output
    notices = [line for line in result.stderr.splitlines() if line.startswith("notice: ")]
    assert notices == [f"notice: Prometheus {server.url}: PromQL info: metric might not be a counter"]


def test_a_silent_server_times_out_with_one_clear_error(con):
    start = datetime.fromtimestamp(T0, UTC)
    with socket.socket() as silent:  # accepts connections (the kernel's backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        with pytest.raises(InputError) as caught:
            dcgm.collect(con, prometheus=url, start=start, end=start + timedelta(minutes=1), timeout=0.2)
    assert str(caught.value) == (
        f"{url}/api/v1/query_range (query DCGM_FI_DEV_GPU_UTIL): Prometheus did not answer "
        "(no answer within 0.2 s); check that it is up and try again"
    )
    assert query_count(con) == 0


def query_count(con: Any) -> int:
    return int(store.fetch_one(con, "SELECT count(*) FROM gpu_samples")[0])


# --- errors: one line, exit 2, and the store as it was ------------------------------------------------


def _html(request: Request) -> tuple[int, Any]:
    return 200, b"<html><body>Grafana</body></html>"


def _vector(request: Request) -> tuple[int, Any]:
    return 200, {"status": "success", "data": {"resultType": "vector", "result": []}}


def _server_error(request: Request) -> tuple[int, Any]:
    return 500, {"status": "error", "errorType": "internal", "error": "many-to-many matching not allowed"}


def _unauthorized(request: Request) -> tuple[int, Any]:
    return 401, b"Unauthorized\n"


ERRORS = [
    ("500", {ROUTE: _server_error}, "HTTP 500, Prometheus says internal: many-to-many matching not allowed"),
    ("401", {ROUTE: _unauthorized}, "HTTP 401 Unauthorized: set FINOPS_PROMETHEUS_TOKEN to a token that may read"),
    ("html", {ROUTE: _html}, "the answer is not JSON (starts '<html><body>Grafana</body></html>'); is this a"),
    ("vector", {ROUTE: _vector}, "the result is a vector, expected a matrix of series"),
    ("404", {}, "HTTP 404 Not Found; is this the Prometheus base URL (without /api/v1)?"),
    ("second chunk", fake(fail_from=T0 + 600_000), "HTTP 503, Prometheus says timeout: query timed out"),
]


@pytest.fixture
def loaded(run, db):
    """A store holding some dcgm samples already, and how it looked."""
    assert run("collect", "dcgm", str(FEDERATE)).exit_code == 0
    return snapshot(db), rows(db)


@pytest.mark.parametrize(("routes", "expected"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_server_errors_are_one_line_and_change_nothing(run, db, loaded, routes, expected):
    with serve(routes) as server:
        result = run("collect", "dcgm", "--prometheus", server.url, *window(0, 12_000))
    message = one_line_error(result)
    assert message.startswith(f"Error: {server.url}/api/v1/query_range (query DCGM_FI_DEV_GPU_UTIL")
    assert expected in message
    assert (snapshot(db), rows(db)) == loaded


def test_a_refused_token_is_not_echoed(run, db, loaded, monkeypatch):
    monkeypatch.setenv("FINOPS_PROMETHEUS_TOKEN", TOKEN)
    with serve({ROUTE: lambda request: (403, b"Forbidden")}) as server:
        result = run("collect", "dcgm", "--prometheus", server.url, *window(0, 1))
    message = one_line_error(result)
    assert "HTTP 403 Forbidden: the token was refused; set FINOPS_PROMETHEUS_TOKEN" in message
    assert TOKEN not in result.output
    assert (snapshot(db), rows(db)) == loaded


def test_a_token_with_a_line_break_is_refused_unseen(run, db, loaded, monkeypatch):
    monkeypatch.setenv("FINOPS_PROMETHEUS_TOKEN", f"{TOKEN}\nX-Injected: 1")
    with serve(fake()) as server:
        result = run("collect", "dcgm", "--prometheus", server.url, *window(0, 1))
    assert one_line_error(result) == (
        "Error: FINOPS_PROMETHEUS_TOKEN holds spaces or control characters; set it to the token alone"
    )
    assert server.requests == [] and TOKEN not in result.output
    assert (snapshot(db), rows(db)) == loaded


def test_an_unreachable_server_is_one_line(run, db, loaded):
    url = f"http://127.0.0.1:{closed_port()}"
    message = one_line_error(run("collect", "dcgm", "--prometheus", url, *window(0, 1)))
    assert message == (
        f"Error: {url}/api/v1/query_range (query DCGM_FI_DEV_GPU_UTIL): cannot reach Prometheus "
        "(Connection refused); check the --prometheus URL and that the server is up"
    )
    assert (snapshot(db), rows(db)) == loaded


def test_an_empty_answer_changes_nothing(run, db, loaded):
    empty = {ROUTE: lambda request: (200, {"status": "success", "data": {"resultType": "matrix", "result": []}})}
    with serve(empty) as server:
        message = one_line_error(run("collect", "dcgm", "--prometheus", server.url, *window(0, 60)))
    assert message == (
        f"Error: {server.url} has no DCGM samples from 2025-10-01T00:00:00Z to 2025-10-01T01:00:00Z; the store is "
        "unchanged (is the DCGM exporter scraped, and is the window within the server's retention?)"
    )
    assert (snapshot(db), rows(db)) == loaded


def test_a_url_that_is_not_http_is_one_line(run, db, loaded):
    message = one_line_error(run("collect", "dcgm", "--prometheus", "prometheus:9090", *window(0, 1)))
    assert (
        message
        == "Error: --prometheus: prometheus:9090 is not an http(s)://HOST[:PORT] URL, e.g. http://prometheus:9090"
    )
    assert (snapshot(db), rows(db)) == loaded


def test_a_scrape_without_a_time_is_refused(run, db, loaded, tmp_path):
    path = shutil.copy(SCRAPE, tmp_path / "metrics.prom")
    message = one_line_error(run("collect", "dcgm", str(path)))
    assert message == (
        f"Error: {path}: the scrape's samples carry no time; add a first line '# finops-scraped-at: "
        "2025-10-01T12:00:00Z' or name the file like dcgm-20251001T120000Z.prom (finops does not guess from the "
        "modification time)"
    )
    assert (snapshot(db), rows(db)) == loaded


def test_bad_saved_files_are_one_line(run, db, loaded, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"status": "success", "data": ', encoding="utf-8")
    assert one_line_error(run("collect", "dcgm", str(broken))) == (
        f"Error: {broken}: not valid JSON (Expecting value at line 1)"
    )
    bad_line = tmp_path / "dcgm-20251001T120000Z.prom"
    bad_line.write_text('DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-1"} 97\nDCGM_FI_DEV_FB_USED{gpu="0 12\n')
    assert one_line_error(run("collect", "dcgm", str(bad_line))).startswith(
        f"Error: {bad_line} line 2: not a metric sample (the line ends inside its labels)"
    )
    assert (snapshot(db), rows(db)) == loaded


# --- file mode: a DCGM exporter scrape, a /federate dump, a saved query_range answer ------------------

A100 = "NVIDIA A100-SXM4-80GB"
NOON = at("2025-10-01T12:00:00+00:00")
G0, G1, G2 = (
    "GPU-5a3e1c2b-7d4f-4e8a-9b1c-2d3e4f5a6b7c",
    "GPU-0f9e8d7c-6b5a-4c3d-8e2f-1a0b9c8d7e6f",
    "GPU-9c4b2a1d-3e5f-4a6b-8c7d-0e1f2a3b4c5d",
)
SCRAPE_ROWS = [
    (NOON, "node-a100-1", G1, 1, A100, 0.0, 0.0, 81050.0, 61.2, None, None, None),
    (NOON, "node-a100-1", G0, 0, A100, 97.0, 61234.0, 81050.0, 312.456, "run-42-worker-0", "ml-train", "trainer"),
    (NOON, "node-a100-1", G2, 2, A100, None, None, None, 245.5, None, None, None),
    (NOON, "node-a100-1", f"{G2}/MIG-1", 2, A100, 50.0, 20480.0, 40480.0, None, "notebook-7", "research", "jupyter"),
    (NOON, "node-a100-1", f"{G2}/MIG-2", 2, A100, 0.0, 0.0, 40480.0, None, None, None, None),
]


def test_exporter_scrape_timed_by_its_file_name(run, db):
    result = run("collect", "dcgm", str(SCRAPE), "--format", "csv")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1] == "dcgm,0,0,0,5,1"
    assert rows(db) == SCRAPE_ROWS


def test_scrape_timed_by_its_header_comment(run, db, tmp_path):
    path = tmp_path / "metrics.prom"
    path.write_text("# finops-scraped-at: 2025-10-01T14:00:00+02:00\n" + SCRAPE.read_text(), encoding="utf-8")
    assert run("collect", "dcgm", str(path)).exit_code == 0
    assert rows(db) == SCRAPE_ROWS


def test_federate_dump_uses_line_times_and_exported_pod_labels(run, db):
    assert run("collect", "dcgm", str(FEDERATE)).exit_code == 0
    when = at("2025-10-01T12:00:30.123+00:00")
    h100 = "NVIDIA H100 80GB HBM3"
    assert rows(db) == [
        (when, "node-h100-2", "GPU-c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f", 0, h100, 88.0, 74210.0, 81559.0, 512.75,
         "llama-70b-7f9c8d-abcde", "serving", "vllm"),
        # idle: only the exporter's own pod labels, which are not a workload's
        (when, "node-h100-2", "GPU-d2e3f4a5-b6c7-4d8e-9f0a-1b2c3d4e5f6a", 1, h100, 0.0, 0.0, 81559.0, 72.5,
         None, None, None),
    ]  # fmt: skip


M1, M2, M3 = (at(f"2025-10-01T12:0{n}:00+00:00") for n in (1, 2, 3))
POD = ("run-42-worker-0", "ml-train", "trainer")
SAVED_ROWS = [
    (M1, "node-a100-1", G1, 1, A100, 0.0, 0.0, None, None, None, None, None),
    (M2, "node-a100-1", G1, 1, A100, 0.0, 0.0, None, None, None, None, None),
    (M3, "node-a100-1", G1, 1, A100, None, 0.0, None, None, None, None, None),  # "+Inf"
    (M1, "node-a100-1", G0, 0, A100, 95.0, 61300.0, None, None, *POD),
    (M2, "node-a100-1", G0, 0, A100, None, 61300.0, None, None, *POD),  # "NaN"
    (M3, "node-a100-1", G0, 0, A100, 99.0, 61400.0, None, None, *POD),
]


def test_saved_query_range_with_nan_and_inf(run, db):
    assert run("collect", "dcgm", str(SAVED)).exit_code == 0
    assert rows(db) == SAVED_ROWS


def one_query_per_metric(folder: Path) -> dict[str, Path]:
    """SAVED as Prometheus answers it one query at a time: one saved query_range answer per metric."""
    answer = json.loads(SAVED.read_text(encoding="utf-8"))
    found: dict[str, Path] = {}
    for series in answer["data"]["result"]:
        path = found.setdefault(series["metric"]["__name__"], folder / f"{series['metric']['__name__']}.json")
        part = (
            json.loads(path.read_text())
            if path.exists()
            else {**answer, "data": {"resultType": "matrix", "result": []}}
        )
        part["data"]["result"].append(series)
        path.write_text(json.dumps(part), encoding="utf-8")
    return found


def test_one_saved_query_per_command_keeps_the_metrics_loaded_before(run, db, tmp_path):
    files = one_query_per_metric(tmp_path)
    assert sorted(files) == ["DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_GPU_UTIL"]
    assert run("collect", "dcgm", str(files["DCGM_FI_DEV_GPU_UTIL"])).exit_code == 0
    assert run("collect", "dcgm", str(files["DCGM_FI_DEV_FB_USED"])).exit_code == 0
    assert rows(db) == SAVED_ROWS  # the utilization of the first command is still there, exactly
    for again in (files["DCGM_FI_DEV_FB_USED"], files["DCGM_FI_DEV_GPU_UTIL"], SAVED):
        result = run("collect", "dcgm", str(again), "--format", "csv")
        assert result.stdout.splitlines()[1] == "dcgm,0,0,0,6,1", result.output
        assert rows(db) == SAVED_ROWS  # loading again replaces: no doubles, no change
    assert query(db, "SELECT count(*) FROM ingest_loads") == [(5,)]


# A DCGM exporter scrape cut into one file per metric (FB_USED and FB_FREE together: memory_total is their sum).
UTIL, MEMORY, POWER, ENGINE = (
    ("DCGM_FI_DEV_GPU_UTIL",),
    ("DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE"),
    ("DCGM_FI_DEV_POWER_USAGE",),
    ("DCGM_FI_PROF_GR_ENGINE_ACTIVE",),
)


def scrape_of(folder: Path, metrics: tuple[str, ...]) -> Path:
    path = folder / f"{metrics[0]}-20251001T120000Z.prom"
    lines = SCRAPE.read_text(encoding="utf-8").splitlines()
    path.write_text("".join(f"{line}\n" for line in lines if line.split("{")[0] in metrics), encoding="utf-8")
    return path


@pytest.mark.parametrize("order", [(UTIL, MEMORY, POWER, ENGINE), (ENGINE, POWER, MEMORY, UTIL)])
def test_a_scrape_loaded_one_metric_per_command_adds_up_to_the_whole(run, db, tmp_path, order):
    for metrics in order:
        result = run("collect", "dcgm", str(scrape_of(tmp_path, metrics)))
        assert result.exit_code == 0, result.output
    # GPU_UTIL wins over GR_ENGINE_ACTIVE × 100 (91.2345 for GPU 0) whichever came first; MIG instances keep it
    assert rows(db) == SCRAPE_ROWS
    assert run("collect", "dcgm", str(SCRAPE)).exit_code == 0
    assert rows(db) == SCRAPE_ROWS


def test_free_memory_without_used_memory_is_named(run, db, loaded, tmp_path):
    free = scrape_of(tmp_path, ("DCGM_FI_DEV_FB_FREE",))
    assert one_line_error(run("collect", "dcgm", str(free))) == (
        f"Error: {free}: DCGM_FI_DEV_FB_FREE without DCGM_FI_DEV_FB_USED gives no memory_total_mib (used + free); "
        "collect the two in one command, e.g. finops collect dcgm FB_USED.json FB_FREE.json"
    )
    assert (snapshot(db), rows(db)) == loaded
    power = scrape_of(tmp_path, ("DCGM_FI_DEV_POWER_USAGE", "DCGM_FI_DEV_FB_FREE"))
    result = run("collect", "dcgm", str(power))
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        f"notice: {power}: DCGM_FI_DEV_FB_FREE without DCGM_FI_DEV_FB_USED gives no memory_total_mib "
        "(used + free); collect the two in one command, e.g. finops collect dcgm FB_USED.json FB_FREE.json"
    ]
    assert query(
        db, "SELECT gpu_uuid, memory_total_mib, power_watts FROM gpu_samples WHERE ts = $1 ORDER BY 1", [NOON]
    ) == [
        (G1, None, 61.2),
        (G0, None, 312.456),
        (G2, None, 245.5),
    ]


def test_files_replace_per_host_between_their_first_and_last_instant(run, db, tmp_path):
    assert run("collect", "dcgm", str(FIXTURES / "dcgm" / "*.*")).exit_code == 0  # the CLI refuses directories
    before = rows(db)
    assert len(before) == 5 + 2 + 6
    assert run("collect", "dcgm", str(SAVED), str(SCRAPE)).exit_code == 0
    assert rows(db) == before
    later = tmp_path / "later.json"
    later.write_text(SAVED.read_text().replace("1759320060", "1759320240"), encoding="utf-8")  # 12:01 → 12:04
    assert run("collect", "dcgm", str(later)).exit_code == 0
    by_host = query(db, "SELECT host, count(*), min(ts), max(ts) FROM gpu_samples GROUP BY host ORDER BY host")
    # 12:02 to 12:04 replaced; 12:00 (scrape) and 12:01 (earlier JSON) stay; the other host is untouched
    assert by_host == [
        ("node-a100-1", 5 + 2 + 6, NOON, at("2025-10-01T12:04:00+00:00")),
        ("node-h100-2", 2, at("2025-10-01T12:00:30.123+00:00"), at("2025-10-01T12:00:30.123+00:00")),
    ]


def test_the_library_reads_a_directory(con):
    report = dcgm.collect(con, paths=[str(FIXTURES / "dcgm")])
    assert (report.samples, report.hosts) == (13, 2)
    assert query_count(con) == 13


# --- the exposition parser and the paging, as properties ----------------------------------------------


def escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def test_exposition_lines():
    text = (
        '# HELP x y\nup 1\nm{a="1" , b="q\\"uote\\\\ \\n",} -Inf 1759320030123\nm{} NaN\nm{c="}"} 2.5e3 1759320030.5\n'
    )
    parsed = list(prometheus.exposition(text, "t"))
    assert [(n, lab, str(v), ts) for n, lab, v, ts in parsed] == [
        ("up", {}, "1.0", None),
        ("m", {"a": "1", "b": 'q"uote\\ \n'}, "-inf", 1759320030.123),
        ("m", {}, "nan", None),
        ("m", {"c": "}"}, "2500.0", 1759320030.5),
    ]


label_names = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,12}", fullmatch=True)


@settings(max_examples=200, deadline=None)
@given(labels=st.dictionaries(label_names, st.text(max_size=20), max_size=6), number=st.floats(allow_nan=False))
def test_exposition_round_trips_escaped_label_values(labels, number):
    body = ",".join(f'{name}="{escape(text)}"' for name, text in labels.items())
    line = f"DCGM_FI_DEV_GPU_UTIL{{{body}}} {number!r} 1759320030123"
    assert list(prometheus.exposition(line, "t")) == [("DCGM_FI_DEV_GPU_UTIL", labels, number, 1759320030.123)]


@settings(max_examples=300, deadline=None)
@given(
    start=st.integers(0, 2_000_000_000_000_000),
    step=st.integers(1, 3600),
    steps=st.integers(1, 40_000),
    remainder=st.integers(0, 3600 * 1_000_000),
    points=st.integers(1, prometheus.CHUNK_POINTS),
)
def test_paging_returns_each_instant_once(start, step, steps, remainder, points):
    """Any window (µs) whose end is off the step grid or on it: every instant of [start, end) exactly once."""
    step_us = step * 1_000_000
    begin = start
    end = begin + (steps - 1) * step_us + 1 + remainder % step_us
    seen = []
    for lo, hi in prometheus.chunks(begin, end, step_us, points):
        assert (hi - lo) / step_us <= prometheus.MAX_POINTS  # what Prometheus accepts
        evaluated = range(lo, hi + 1, step_us)  # Prometheus includes both ends
        seen += [t for t in evaluated if lo <= t < hi]
    assert seen == list(range(begin, end, step_us))
    assert len(seen) == steps


def test_an_infinite_or_out_of_range_scrape_timestamp_is_a_one_line_error(run, db, tmp_path):
    # Found by tests/test_parser_fuzz.py: `-1e400` as a sample's timestamp overflowed into a traceback.
    from tests.conftest import one_line_error, query

    for stamp in ("-1e400", "1e400", "NaN", "99999999999999999"):
        path = tmp_path / "dcgm-20251001T120000Z.prom"
        path.write_text(f'DCGM_FI_DEV_GPU_UTIL{{gpu="0",UUID="GPU-1",Hostname="h"}} 5 {stamp}\n')
        error = one_line_error(run("collect", "dcgm", str(path)))
        assert f"line 1: not a metric sample (timestamp {stamp} is outside the years 1970-9999)" in error
        assert query(db, "SELECT count(*) FROM gpu_samples") == [(0,)]
