"""The shared writer: one identity rule for workloads, placements and GPU samples of every source."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finops import workloads as wl
from finops.errors import InputError
from tests.conftest import rows

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


def test_file_samples_replace_each_hosts_span(con):
    wl.write(con, "nvidia-smi", "a", samples=samples("h1", range(0, 60)))
    wl.write(con, "nvidia-smi", "b", samples=samples("h2", range(0, 60)))
    report = wl.write(con, "nvidia-smi", "c", samples=samples("h1", range(30, 90), 90.0))
    assert (report.samples, report.hosts) == (60, 1)
    assert rows(con, "SELECT host, count(*), sum(utilization) FROM gpu_samples GROUP BY 1 ORDER BY 1") == [
        ("h1", 90, 30 * 50.0 + 60 * 90.0),
        ("h2", 60, 60 * 50.0),
    ]
    # The same log saved again with other timestamps (another start or step) replaces, not doubles.
    shifted = wl.samples_table(
        {
            "ts": [T0 + timedelta(minutes=m, seconds=30) for m in range(30, 89)],
            "host": ["h1"] * 59,
            "gpu_index": [0] * 59,
            "utilization": [80.0] * 59,
        }
    )
    wl.write(con, "nvidia-smi", "d", samples=shifted)
    assert rows(con, "SELECT count(*) FROM gpu_samples WHERE host = 'h1'") == [(31 + 59 + 1,)]  # 0..30, new, 89


def test_keyed_samples_replace_only_the_same_host_gpu_and_time(con):
    wl.write(con, "mlflow", "a", samples=samples("h1", range(200, 210), 10.0), replace="keys")
    wl.write(con, "mlflow", "b", samples=samples("h1", [*range(190, 200), *range(210, 220)], 70.0), replace="keys")
    assert rows(con, "SELECT utilization, count(*) FROM gpu_samples GROUP BY 1 ORDER BY 1") == [(10.0, 10), (70.0, 20)]
    wl.write(con, "mlflow", "c", samples=samples("h1", range(200, 210), 20.0), replace="keys")
    assert rows(con, "SELECT utilization, count(*) FROM gpu_samples GROUP BY 1 ORDER BY 1") == [(20.0, 10), (70.0, 20)]


def test_placements_lie_within_their_workload(con):
    late = wl.Placement("i-0abc", started_at=T0 - timedelta(hours=1), ended_at=T0 + timedelta(hours=1))
    with pytest.raises(InputError, match=r"placement on 'i-0abc' starts .* before the workload does"):
        wl.write(con, "manifest", "x", [run(end=T0 + timedelta(hours=2), placements=(late,))])
    long = wl.Placement("i-0abc", started_at=T0, ended_at=T0 + timedelta(days=90))
    with pytest.raises(InputError, match="placement on 'i-0abc' ends after the workload does"):
        wl.write(con, "manifest", "x", [run(end=T0 + timedelta(hours=2), placements=(long,))])


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
    wl.write(con, "dcgm", "b", samples=samples("h1", range(30, 45), 99.0), window=window)
    assert rows(con, "SELECT utilization, count(*) FROM gpu_samples GROUP BY 1 ORDER BY 1") == [(50.0, 45), (99.0, 15)]
    # A host the window's query did not return (another cluster's) keeps its samples.
    wl.write(con, "dcgm", "c", samples=samples("h2", range(30, 45)), window=window)
    assert rows(con, "SELECT host, count(*) FROM gpu_samples GROUP BY 1 ORDER BY 1") == [("h1", 60), ("h2", 15)]
    with pytest.raises(InputError, match="1 sample\\(s\\) lie outside the collected window"):
        wl.write(con, "dcgm", "d", samples=samples("h2", range(44, 46)), window=window)


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
