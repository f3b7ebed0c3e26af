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


def partial(gpu: int, minutes: list[float], column: str, values: list[float]):
    """One GPU's samples holding values in one column only, as a one-metric file gives them."""
    ts = [T0 + timedelta(minutes=m) for m in minutes]
    return wl.samples_table({"ts": ts, "host": ["h1"] * len(ts), "gpu_index": [gpu] * len(ts), column: values})


def test_a_partial_collection_replaces_only_the_columns_it_carries(con):
    def write(samples, carries):
        wl.write(con, "dcgm", "f", samples=samples, carries=carries)
        return rows(con, "SELECT gpu_index, ts, utilization, power_watts FROM gpu_samples ORDER BY 1, 2")

    def at(minute: float) -> datetime:
        return T0 + timedelta(minutes=minute)

    power, util, fill = {"power_watts": "replace"}, {"utilization": "replace"}, {"utilization": "fill"}
    write(partial(0, [0, 1, 2, 3], "power_watts", [200.0, 201.0, 202.0, 203.0]), power)
    write(partial(1, [0], "utilization", [50.0]), util)
    assert write(partial(0, [0, 1, 2, 3], "utilization", [10.0, 11.0, 12.0, 13.0]), util) == [
        (0, at(0), 10.0, 200.0),
        (0, at(1), 11.0, 201.0),
        (0, at(2), 12.0, 202.0),
        (0, at(3), 13.0, 203.0),
        (1, at(0), 50.0, None),
    ]
    # Saved again with another step: the utilization between 0:30 and 1:30 is replaced, the power kept.
    assert write(partial(0, [0.5, 1.5], "utilization", [90.0, 91.0]), util) == [
        (0, at(0), 10.0, 200.0),
        (0, at(0.5), 90.0, None),
        (0, at(1), None, 201.0),
        (0, at(1.5), 91.0, None),
        (0, at(2), 12.0, 202.0),
        (0, at(3), 13.0, 203.0),
        (1, at(0), 50.0, None),
    ]
    # "fill" writes only where the stored sample has no value; a sample left with no value at all goes.
    write(partial(0, [1, 2], "utilization", [77.0, 78.0]), fill)
    assert write(partial(1, [-1, 1], "utilization", [60.0, 61.0]), util) == [
        (0, at(0), 10.0, 200.0),
        (0, at(0.5), 90.0, None),
        (0, at(1), 77.0, 201.0),
        (0, at(1.5), 91.0, None),
        (0, at(2), 12.0, 202.0),
        (0, at(3), 13.0, 203.0),
        (1, at(-1), 60.0, None),
        (1, at(1), 61.0, None),
    ]
    before = rows(con, "SELECT * FROM gpu_samples ORDER BY ALL")
    write(partial(0, [0, 1, 2, 3], "power_watts", [200.0, 201.0, 202.0, 203.0]), power)
    write(partial(0, [1, 2], "utilization", [77.0, 78.0]), fill)
    assert rows(con, "SELECT * FROM gpu_samples ORDER BY ALL") == before  # loading again changes nothing


def test_a_partial_collection_holds_values_only_in_the_columns_it_carries(con):
    both = wl.samples_table({"ts": [T0], "host": ["h1"], "utilization": [1.0], "power_watts": [2.0]})
    with pytest.raises(ValueError, match="samples hold values in power_watts, which the collection does not carry"):
        wl.write(con, "dcgm", "f", samples=both, carries={"utilization": "replace"})
    with pytest.raises(ValueError, match="a window collection asks for every metric"):
        wl.write(con, "dcgm", "f", samples=both, window=(T0, T0 + timedelta(hours=1)), carries={"utilization": "fill"})
    assert rows(con, "SELECT count(*) FROM gpu_samples") == [(0,)]


def test_an_unmatched_name_still_in_use_has_no_last_seen(con):
    end = T0 + timedelta(hours=3)
    done = run("done", end=end, placements=(wl.Placement("gpu-a"), wl.Placement("gpu-b")))
    going = run("going", started_at=T0 + timedelta(hours=1), placements=(wl.Placement("gpu-b"),))
    wl.write(con, "manifest", "m", [done, going])
    wl.write(con, "nvidia-smi", "n", samples=samples("gpu-a", range(0, 3)))
    assert rows(con, "SELECT * FROM unmatched_resources ORDER BY record, name") == [
        ("gpu telemetry", "nvidia-smi", "gpu-a", None, T0, T0 + timedelta(minutes=2), None),
        ("placement", "manifest", "gpu-a", 1, T0, end, 0),
        ("placement", "manifest", "gpu-b", 2, T0, None, 1),  # "going" has not ended: no last_seen
    ]


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
