"""The shared writer: one identity rule for workloads, placements and GPU samples of every source."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finops import store
from finops import workloads as wl
from finops.errors import InputError

T0 = datetime(2026, 10, 3, 10, 15, tzinfo=UTC)


def run(workload_id: str = "r1", end: datetime | None = None, **changes) -> wl.Workload:
    fields = dict(
        workload_id=workload_id,
        kind="training",
        started_at=T0,
        ended_at=end,
        team="nlp",
        status="running" if end is None else "finished",
        attributes={"git_sha": "abc"},
        placements=(wl.Placement("i-0abc", gpu_count=Decimal(8)),),
    )
    fields.update(changes)
    return wl.Workload(**fields)


@pytest.fixture(name="con")
def _con(settings):
    connection = store.connect(settings)
    yield connection
    connection.close()


def rows(con, sql):
    return con.execute(sql).fetchall()


def test_recollecting_updates_in_place(con):
    first = wl.write(con, "mlflow", "test", [run()])
    assert (first.new, first.updated, first.placements) == (1, 0, 1)
    assert rows(con, "SELECT status, ended_at FROM workloads") == [("running", None)]
    assert rows(con, "SELECT ended_at FROM workload_placements") == [(None,)]
    end = T0 + timedelta(hours=4, minutes=25)
    second = wl.write(con, "mlflow", "test", [run(end=end)])
    assert (second.new, second.updated) == (0, 1)
    assert rows(con, "SELECT workload_id, status, ended_at, attributes['git_sha'] FROM workloads") == [
        ("r1", "finished", end, "abc")
    ]
    assert rows(con, "SELECT resource_id, gpu_count, started_at, ended_at FROM workload_placements") == [
        ("i-0abc", Decimal(8), T0, end)
    ]
    assert rows(con, "SELECT count(*) FROM ingest_loads WHERE source = 'mlflow'") == [(2,)]


def test_the_same_id_from_two_sources_is_two_workloads(con):
    wl.write(con, "mlflow", "a", [run()])
    wl.write(con, "manifest", "b", [run()])
    assert rows(con, "SELECT source FROM workloads ORDER BY 1") == [("manifest",), ("mlflow",)]


@pytest.mark.parametrize(
    ("workload", "message"),
    [
        (run(kind="experiment"), "kind 'experiment' is not one of training, deployment, batch, notebook"),
        (run(end=T0 - timedelta(minutes=1)), "ends (2026-10-03 10:14:00 UTC) before it starts"),
        (run(workload_id=" "), "a workload has an empty id"),
        (
            run(started_at=None, placements=(wl.Placement("i-0abc"),)),
            "placement on 'i-0abc' has no start and neither has the workload",
        ),
        (run(placements=(wl.Placement("i-0abc", gpu_count=Decimal(-1)),)), "negative GPU count"),
    ],
)
def test_invalid_records_are_refused_and_nothing_is_written(con, workload, message):
    wl.write(con, "manifest", "ok", [run("keep")])
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        wl.write(con, "manifest", "bad", [run("other"), workload])
    assert rows(con, "SELECT workload_id FROM workloads") == [("keep",)]


def test_duplicate_ids_in_one_batch_are_refused(con):
    with pytest.raises(InputError, match="'r1' appears twice"):
        wl.write(con, "manifest", "x", [run(), run()])


def samples(host: str, minutes: range, utilization: float = 50.0):
    ts = [T0 + timedelta(minutes=m) for m in minutes]
    return wl.samples_table(
        {"ts": ts, "host": [host] * len(ts), "gpu_index": [0] * len(ts), "utilization": [utilization] * len(ts)}
    )


def test_file_samples_replace_the_same_host_gpu_and_time(con):
    wl.write(con, "nvidia-smi", "a", samples=samples("h1", range(0, 60)))
    wl.write(con, "nvidia-smi", "b", samples=samples("h2", range(0, 60)))
    report = wl.write(con, "nvidia-smi", "c", samples=samples("h1", range(30, 90), 90.0))
    assert (report.samples, report.hosts) == (60, 1)
    assert rows(con, "SELECT host, count(*), sum(utilization) FROM gpu_samples GROUP BY 1 ORDER BY 1") == [
        ("h1", 90, 30 * 50.0 + 60 * 90.0),
        ("h2", 60, 60 * 50.0),
    ]
    # Two logs of one host with a gap keep what was collected for the gap earlier.
    gap = samples("h1", range(200, 210), 10.0)
    wl.write(con, "nvidia-smi", "d", samples=gap)
    wl.write(con, "nvidia-smi", "e", samples=samples("h1", [*range(190, 200), *range(210, 220)], 70.0))
    assert rows(con, "SELECT count(*) FROM gpu_samples WHERE host = 'h1' AND utilization = 10.0") == [(10,)]


def test_statuses_are_unified():
    assert [wl.status_of(w) for w in ("COMPLETED", "killed", "TIMEOUT", "Running", "weird", "", None)] == [
        "finished",
        "cancelled",
        "failed",
        "running",
        "weird",
        None,
        None,
    ]


def test_window_samples_replace_the_whole_window(con):
    wl.write(con, "dcgm", "a", samples=samples("h1", range(0, 60)))
    window = (T0 + timedelta(minutes=30), T0 + timedelta(minutes=45))
    wl.write(con, "dcgm", "b", samples=samples("h2", range(30, 45)), window=window)
    assert rows(con, "SELECT host, count(*) FROM gpu_samples GROUP BY 1 ORDER BY 1") == [("h1", 45), ("h2", 15)]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    first=st.lists(st.tuples(st.sampled_from("abcdef"), st.integers(0, 48), st.booleans()), max_size=8),
    second=st.lists(st.tuples(st.sampled_from("abcdef"), st.integers(0, 48), st.booleans()), max_size=8),
)
def test_collections_never_duplicate_and_the_latest_record_wins(con, first, second):
    con.execute("DELETE FROM workloads; DELETE FROM workload_placements")

    def batch(items):
        latest = {}
        for workload_id, hours, ended in items:
            latest[workload_id] = run(workload_id, end=T0 + timedelta(hours=hours) if ended else None)
        return list(latest.values())

    wl.write(con, "prop", "1", batch(first))
    wl.write(con, "prop", "2", batch(second))
    expected = {w.workload_id: w.ended_at for w in batch(first)}
    expected.update({w.workload_id: w.ended_at for w in batch(second)})
    assert dict(rows(con, "SELECT workload_id, ended_at FROM workloads")) == expected
    assert rows(con, "SELECT count(*) FROM workload_placements") == [(len(expected),)]
