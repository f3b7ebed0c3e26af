"""`finops collect slurm`: sacct jobs, node placements and GPU shares, local times, updates in place, bad input."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finops.collect import slurm
from finops.errors import ConfigError, InputError
from tests.conftest import FIXTURES, one_line_error, query, rows, snapshot

FIRST = FIXTURES / "slurm" / "sacct-2025-01-10.txt"
LATER = FIXTURES / "slurm" / "sacct-2025-01-10-later.txt"
HEADER = "JobID|JobName|User|Account|Partition|State|Start|End|ElapsedRaw|AllocTRES|NodeList"
THIRD = Decimal("2.666666666666666667")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _no_env_timezone(monkeypatch):
    monkeypatch.delenv("FINOPS_TIMEZONE", raising=False)


def sacct(tmp_path: Path, *lines: str, header: str = HEADER, name: str = "sacct.txt") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


def collect(con, path: Path, timezone: str | None = "Europe/Berlin", **kwargs):
    notices: list[str] = []
    report = slurm.collect(con, [str(path)], timezone, notice=notices.append, **kwargs)
    return report, notices


# --- the real-shaped fixture ----------------------------------------------------------------------


def test_sacct_output_loads_each_allocation_once(con):
    report, notices = collect(con, FIRST)
    assert (report.source, report.new, report.updated, report.placements) == ("slurm", 11, 0, 15)
    assert notices == [
        "skipped 8 job step row(s) (123.batch, 123.0, …); run sacct with -X to list allocations only",
        "1 job(s) have GPUs that do not divide evenly over their nodes; each node got an equal share",
    ]
    sql = "SELECT workload_id, kind, name, team, owner, status, started_at, ended_at FROM workloads ORDER BY 1"
    assert rows(con, sql) == [
        ("4101", "batch", "llm-pretrain", "nlp", "alice", "finished", utc(2025, 1, 10, 7), utc(2025, 1, 10, 9)),
        ("4102", "batch", "finetune-7b", "vision", "bob", "running", utc(2025, 1, 10, 8, 30), None),
        ("4103", "batch", "eval-sweep", "nlp", "carol", "pending", None, None),
        (
            "4104_7",
            "batch",
            "hparam",
            "research",
            "dave",
            "finished",
            utc(2025, 1, 10, 6, 15),
            utc(2025, 1, 10, 7, 45, 30),
        ),
        ("4104_[8-10]", "batch", "hparam", "research", "dave", "pending", None, None),
        ("4105+0", "batch", "rl-actor", "robotics", "erin", "finished", utc(2025, 1, 10, 5), utc(2025, 1, 10, 6)),
        ("4105+1", "batch", "rl-env", "robotics", "erin", "finished", utc(2025, 1, 10, 5), utc(2025, 1, 10, 6)),
        ("4106", "batch", "debug", "vision", "frank", "cancelled", utc(2025, 1, 10, 4), utc(2025, 1, 10, 4, 20)),
        ("4107", "batch", "diffusion", "vision", "grace", "failed", utc(2025, 1, 9, 21), utc(2025, 1, 10, 5)),
        ("4108", "batch", "notebook", "research", "heidi", "failed", utc(2025, 1, 10, 8), utc(2025, 1, 10, 8, 0, 42)),
        ("4109", "batch", "eval-sweep", "nlp", "carol", "cancelled", None, utc(2025, 1, 10, 7, 30)),
    ]
    assert rows(con, "SELECT workload_id, attributes FROM workloads WHERE workload_id IN ('4101', '4106', '4108')") == [
        ("4101", {"partition": "gpu", "state": "COMPLETED", "gpu_type": "a100"}),
        ("4106", {"partition": "gpu", "state": "CANCELLED by 1234"}),
        ("4108", {"partition": "gpu", "state": "FAILED", "gpu_type": "a100,v100"}),
    ]


def test_each_node_gets_a_placement_with_an_exact_gpu_share(con):
    collect(con, FIRST)
    sql = "SELECT workload_id, resource_id, gpu_count, started_at, ended_at FROM workload_placements ORDER BY 1, 2"
    assert rows(con, sql) == [
        ("4101", "gpu01", Decimal(4), utc(2025, 1, 10, 7), utc(2025, 1, 10, 9)),
        ("4101", "gpu02", Decimal(4), utc(2025, 1, 10, 7), utc(2025, 1, 10, 9)),
        ("4102", "gpu03", Decimal(1), utc(2025, 1, 10, 8, 30), None),
        ("4104_7", "gpu04", Decimal(2), utc(2025, 1, 10, 6, 15), utc(2025, 1, 10, 7, 45, 30)),
        ("4105+0", "gpu05", Decimal(4), utc(2025, 1, 10, 5), utc(2025, 1, 10, 6)),
        ("4105+1", "cpu1", Decimal(0), utc(2025, 1, 10, 5), utc(2025, 1, 10, 6)),
        ("4105+1", "cpu2", Decimal(0), utc(2025, 1, 10, 5), utc(2025, 1, 10, 6)),
        ("4106", "gpu06", Decimal(4), utc(2025, 1, 10, 4), utc(2025, 1, 10, 4, 20)),
        ("4106", "gpu07", Decimal(4), utc(2025, 1, 10, 4), utc(2025, 1, 10, 4, 20)),
        ("4107", "hgx1", THIRD, utc(2025, 1, 9, 21), utc(2025, 1, 10, 5)),
        ("4107", "hgx2", THIRD, utc(2025, 1, 9, 21), utc(2025, 1, 10, 5)),
        ("4107", "hgx3", THIRD - Decimal("1E-18"), utc(2025, 1, 9, 21), utc(2025, 1, 10, 5)),
        ("4108", "gpu08", Decimal(2), utc(2025, 1, 10, 8), utc(2025, 1, 10, 8, 0, 42)),
        ("4108", "gpu10", Decimal(2), utc(2025, 1, 10, 8), utc(2025, 1, 10, 8, 0, 42)),
        ("4108", "v100-01", Decimal(2), utc(2025, 1, 10, 8), utc(2025, 1, 10, 8, 0, 42)),
    ]
    # 8 H100s over 3 nodes: the shares still add up to exactly 8 GPUs.
    assert rows(con, "SELECT sum(gpu_count) FROM workload_placements WHERE workload_id = '4107'") == [(Decimal(8),)]
    gpu_hours = "SELECT sum(gpu_count * epoch(ended_at - started_at) / 3600) FROM workload_placements"
    assert rows(con, gpu_hours + " WHERE workload_id = '4101'") == [(16.0,)]


def test_the_same_file_twice_leaves_the_same_rows(con):
    collect(con, FIRST)
    every = "SELECT * EXCLUDE (loaded_at) FROM {} ORDER BY ALL"
    before = [rows(con, every.format(t)) for t in ("workloads", "workload_placements")]
    report, _ = collect(con, FIRST)
    assert (report.new, report.updated, report.placements) == (0, 11, 15)
    assert [rows(con, every.format(t)) for t in ("workloads", "workload_placements")] == before


def test_a_job_that_ends_between_collections_is_updated_in_place(con):
    """The later file is `--parsable` (trailing `|`), in another column order, with QOS and Cluster columns."""
    collect(con, FIRST)
    report, notices = collect(con, LATER)
    assert (report.new, report.updated, report.placements) == (1, 2, 4)
    assert notices == []
    sql = "SELECT workload_id, status, started_at, ended_at, attributes FROM workloads WHERE workload_id IN "
    assert rows(con, sql + "('4102', '4103', '4110') ORDER BY 1") == [
        (
            "4102",
            "finished",
            utc(2025, 1, 10, 8, 30),
            utc(2025, 1, 10, 11),
            {"qos": "normal", "partition": "gpu", "state": "COMPLETED", "cluster": "hpc1"},
        ),
        (
            "4103",
            "running",
            utc(2025, 1, 10, 9, 5),
            None,
            {"qos": "high", "partition": "gpu", "state": "RUNNING", "cluster": "hpc1"},
        ),
        (
            "4110",
            "finished",
            utc(2025, 1, 10, 10),
            utc(2025, 1, 10, 10, 30),
            {"qos": "normal", "partition": "cpu", "state": "COMPLETED", "cluster": "hpc1"},
        ),
    ]
    assert rows(con, "SELECT count(*), count(DISTINCT workload_id) FROM workloads") == [(12, 12)]
    placements = "SELECT workload_id, resource_id, gpu_count, ended_at FROM workload_placements"
    assert rows(con, placements + " WHERE workload_id IN ('4102', '4103') ORDER BY 1, 2") == [
        ("4102", "gpu03", Decimal(1), utc(2025, 1, 10, 11)),
        ("4103", "gpu09", Decimal(2), None),
        ("4103", "gpu12", Decimal(2), None),
    ]


def test_a_job_listed_twice_keeps_its_most_complete_row(con, tmp_path):
    ended = sacct(
        tmp_path, "7|j|u|a|gpu|COMPLETED|2025-01-10T08:00:00|2025-01-10T09:00:00|3600|gres/gpu=1|g1", name="a.txt"
    )
    running = sacct(tmp_path, "7|j|u|a|gpu|RUNNING|2025-01-10T08:00:00|Unknown|60|gres/gpu=1|g1", name="b.txt")
    notices: list[str] = []
    report = slurm.collect(con, [str(ended), str(running)], "UTC", notice=notices.append)
    assert (report.new, report.placements) == (1, 1)
    assert notices == ["1 job(s) were listed more than once; kept each job's most complete row"]
    assert rows(con, "SELECT status, ended_at FROM workloads") == [("finished", utc(2025, 1, 10, 9))]


def test_both_collections_in_one_call_keep_the_later_rows(con):
    notices: list[str] = []
    report = slurm.collect(con, [str(LATER), str(FIRST)], "Europe/Berlin", notice=notices.append)
    assert (report.new, report.updated, report.placements) == (12, 0, 18)
    assert "2 job(s) were listed more than once; kept each job's most complete row" in notices
    assert rows(
        con, "SELECT workload_id, status, ended_at FROM workloads WHERE workload_id IN ('4102', '4103') ORDER BY 1"
    ) == [
        ("4102", "finished", utc(2025, 1, 10, 11)),
        ("4103", "running", None),
    ]


def test_cluster_prefixes_the_job_id(con, tmp_path):
    report, _ = collect(con, FIRST, cluster="hpc1")
    assert report.new == 11
    assert rows(con, "SELECT workload_id, attributes['cluster'] FROM workloads WHERE name = 'llm-pretrain'") == [
        ("hpc1:4101", "hpc1")
    ]
    assert rows(con, "SELECT DISTINCT workload_id FROM workload_placements WHERE resource_id = 'gpu01'") == [
        ("hpc1:4101",)
    ]


def test_one_job_id_from_two_clusters_is_refused(con, tmp_path):
    path = sacct(
        tmp_path,
        "7|COMPLETED|2025-01-10T08:00:00|2025-01-10T09:00:00|gres/gpu=1|g1|a",
        "7|COMPLETED|2025-01-10T08:00:00|2025-01-10T09:00:00|gres/gpu=1|g1|b",
        header="JobID|State|Start|End|AllocTRES|NodeList|Cluster",
    )
    with pytest.raises(InputError, match="job '7' is listed for two clusters; collect each cluster's sacct output"):
        collect(con, path)


# --- local times -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timezone", "winter", "summer"),
    [
        ("Europe/Berlin", utc(2025, 1, 15, 11), utc(2025, 7, 15, 10)),
        ("America/New_York", utc(2025, 1, 15, 17), utc(2025, 7, 15, 16)),
        ("UTC", utc(2025, 1, 15, 12), utc(2025, 7, 15, 12)),
    ],
)
def test_a_given_zone_converts_exactly(con, tmp_path, timezone, winter, summer):
    path = sacct(
        tmp_path,
        "1|w|u|a|gpu|COMPLETED|2025-01-15T12:00:00|2025-01-15T12:00:00|0|gres/gpu=1|g1",
        "2|s|u|a|gpu|COMPLETED|2025-07-15T12:00:00|2025-07-15T12:00:00|0|gres/gpu=1|g1",
    )
    collect(con, path, timezone)
    assert rows(con, "SELECT started_at, ended_at FROM workloads ORDER BY workload_id") == [
        (winter, winter),
        (summer, summer),
    ]


@pytest.mark.parametrize(
    ("start", "end", "elapsed", "expected"),
    [
        # Berlin falls back at 03:00 CEST -> 02:00 CET on 2025-10-26: 02:xx happens twice.
        ("2025-10-26T02:30:00", "2025-10-26T02:10:00", "2400", (utc(2025, 10, 26, 0, 30), utc(2025, 10, 26, 1, 10))),
        ("2025-10-26T02:10:00", "2025-10-26T02:40:00", "5400", (utc(2025, 10, 26, 0, 10), utc(2025, 10, 26, 1, 40))),
        ("2025-10-26T02:10:00", "2025-10-26T02:40:00", "1800", (utc(2025, 10, 26, 0, 10), utc(2025, 10, 26, 0, 40))),
        ("2025-10-26T02:10:00", "2025-10-26T02:40:00", "", (utc(2025, 10, 26, 0, 10), utc(2025, 10, 26, 0, 40))),
        # Berlin springs forward at 02:00 CET -> 03:00 CEST on 2025-03-30: 02:30 never happens.
        ("2025-03-30T02:30:00", "2025-03-30T04:00:00", "", (utc(2025, 3, 30, 1, 30), utc(2025, 3, 30, 2))),
        ("2025-03-30T02:30:00", "2025-03-30T04:00:00", "5400", (utc(2025, 3, 30, 0, 30), utc(2025, 3, 30, 2))),
    ],
)
def test_dst_local_times_take_the_fold_that_fits_elapsed(con, tmp_path, start, end, elapsed, expected):
    path = sacct(tmp_path, f"1|j|u|a|gpu|COMPLETED|{start}|{end}|{elapsed}|gres/gpu=1|g1")
    collect(con, path)
    assert rows(con, "SELECT started_at, ended_at FROM workloads") == [expected]


def test_missing_timezone_is_one_error_and_changes_nothing(run, db):
    assert run("collect", "slurm", str(FIRST), "--timezone", "Europe/Berlin").exit_code == 0
    before = snapshot(db)
    counts = "SELECT (SELECT count(*) FROM workloads), (SELECT count(*) FROM workload_placements)"
    assert query(db, counts) == [(11, 15)]
    message = one_line_error(run("collect", "slurm", str(LATER)))
    assert "--timezone AREA/CITY" in message and message.startswith("Error: sacct writes local times without a zone")
    assert snapshot(db) == before
    assert query(db, counts) == [(11, 15)]


def test_cli_collects_and_reports(run, db):
    result = run("collect", "slurm", str(FIRST), "--timezone", "Europe/Berlin", "--cluster", "hpc1", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "source,workloads_new,workloads_updated,placements,gpu_samples,hosts",
        "slurm,11,0,15,0,0",
    ]
    assert "notice: skipped 8 job step row(s)" in result.stderr
    assert query(db, "SELECT count(*) FROM workloads WHERE workload_id LIKE 'hpc1:%'") == [(11,)]


def test_cli_bad_zone_name(run):
    message = one_line_error(run("collect", "slurm", str(FIRST), "--timezone", "Mars/Olympus"))
    assert message == "Error: --timezone: 'Mars/Olympus' is not an IANA time zone such as Europe/Berlin or UTC"


def test_library_refuses_to_guess_a_zone(con):
    with pytest.raises(ConfigError, match="--timezone"):
        collect(con, FIRST, None)
    assert rows(con, "SELECT count(*) FROM ingest_loads") == [(0,)]


# --- bad input -------------------------------------------------------------------------------------


def test_wrong_column_set_names_the_missing_columns(con, tmp_path):
    path = sacct(
        tmp_path, "1|j|COMPLETED|2025-01-10T08:00:00|2025-01-10T09:00:00", header="JobID|JobName|State|Start|End"
    )
    with pytest.raises(InputError) as error:
        collect(con, path)
    assert str(error.value) == (
        f"{path}: the sacct output lacks column(s) AllocTRES, NodeList; run sacct -a -X --parsable2 "
        "--format=JobID,JobName,User,Account,Partition,State,Start,End,ElapsedRaw,AllocTRES,NodeList"
    )


def test_fixed_width_sacct_output_is_refused(con, tmp_path):
    path = tmp_path / "sacct.txt"
    path.write_text("JobID    JobName  State\n------- -------- ------\n4101    train    COMPLETED\n")
    with pytest.raises(InputError, match=r"not sacct --parsable2 output; run sacct -a -X --parsable2 --format=JobID,"):
        collect(con, path)


GOOD = [
    "9",
    "j",
    "u",
    "a",
    "gpu",
    "COMPLETED",
    "2025-01-10T08:00:00",
    "2025-01-10T09:00:00",
    "3600",
    "gres/gpu=2",
    "g[1-2]",
]


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        (9, "cpu=4,gres/gpu=two", "line 2 job 9 AllocTRES: 'gres/gpu=two' is not a whole number of GPUs"),
        (9, "gres/gpu:a100=-1", "line 2 job 9 AllocTRES: 'gres/gpu:a100=-1' is not a whole number of GPUs"),
        (8, "1h", "line 2 job 9: ElapsedRaw '1h' is not a whole number of seconds"),
        (6, "yesterday", "line 2 job 9 Start: 'yesterday' is not a date-time like 2025-01-10T08:00:00"),
        (10, "g[2-1]", r"line 2 job 9 NodeList: 'g\[2-1\]' has a bad range \[2-1\]"),
        (10, "g[1-x]", r"line 2 job 9 NodeList: 'g\[1-x\]' has a bad range \[1-x\]"),
        (10, "g[1-2", r"line 2 job 9 NodeList: 'g\[1-2' has unbalanced brackets"),
        (10, "g1,,g2", "line 2 job 9 NodeList: 'g1,,g2' has an empty node name"),
        (7, "2025-01-10T07:59:59", "line 2 job 9: End 2025-01-10T07:59:59 is before Start 2025-01-10T08:00:00; check"),
    ],
)
def test_garbage_is_refused_naming_line_job_and_column(con, tmp_path, column, value, message):
    collect(con, FIRST)
    fields = list(GOOD)
    fields[column] = value
    path = sacct(tmp_path, "|".join(fields))
    with pytest.raises(InputError, match=message):
        collect(con, path)
    assert rows(con, "SELECT count(*) FROM workloads") == [(11,)]


def test_a_pipe_in_a_job_name_is_a_clear_error(con, tmp_path):
    path = sacct(tmp_path, "9|a|b|u|a|gpu|COMPLETED|2025-01-10T08:00:00|2025-01-10T09:00:00|3600|gres/gpu=2|g1")
    with pytest.raises(InputError, match=r"line 2: 12 fields where the header has 11 \(a `\|` in a name\?\)"):
        collect(con, path)


# --- properties ------------------------------------------------------------------------------------


def compress(names: set[tuple[str, str]]) -> str:
    """Slurm host-list syntax for (prefix, digits) names: consecutive numbers of one width become a range."""
    groups: dict[tuple[str, int], list[int]] = {}
    for prefix, digits in names:
        groups.setdefault((prefix, len(digits)), []).append(int(digits))
    items = []
    for (prefix, width), numbers in groups.items():
        runs: list[list[int]] = []
        for n in sorted(numbers):
            if runs and n == runs[-1][-1] + 1:
                runs[-1].append(n)
            else:
                runs.append([n])
        parts = [f"{r[0]:0{width}d}" + (f"-{r[-1]:0{width}d}" if len(r) > 1 else "") for r in runs]
        items.append(f"{prefix}{parts[0]}" if parts == [f"{numbers[0]:0{width}d}"] else f"{prefix}[{','.join(parts)}]")
    random.Random(len(items)).shuffle(items)
    return ",".join(items)


NAMES = st.sets(
    st.builds(
        lambda prefix, number, width: (prefix, str(number).zfill(width)),
        st.sampled_from(["gpu", "node", "hgx-", "r1n", "a100-x"]),
        st.integers(0, 120),
        st.integers(1, 3),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(NAMES)
def test_node_list_expansion_inverts_compression(names):
    compressed = compress(names)
    expanded = slurm.expand_nodes(compressed)
    assert len(expanded) == len(set(expanded))
    assert set(expanded) == {prefix + digits for prefix, digits in names}


def test_node_list_examples():
    assert slurm.expand_nodes("gpu[01-04,07]") == ["gpu01", "gpu02", "gpu03", "gpu04", "gpu07"]
    assert slurm.expand_nodes("node[1-2],login3") == ["node1", "node2", "login3"]
    assert slurm.expand_nodes("gpu[8-10]") == ["gpu8", "gpu9", "gpu10"]
    assert slurm.expand_nodes("rack[1-2]-n[01-02]") == ["rack1-n01", "rack1-n02", "rack2-n01", "rack2-n02"]
    assert slurm.expand_nodes("None assigned") == []


TRES_OTHER = st.lists(
    st.sampled_from(["billing=96", "cpu=96", "mem=1000G", "node=2", "gres/gpumem=80G", "gres/gpuutil=90", "energy=12"]),
    unique=True,
)


@settings(max_examples=200, deadline=None)
@given(
    other=TRES_OTHER,
    untyped=st.none() | st.integers(0, 64),
    typed=st.dictionaries(
        st.sampled_from(["a100", "h100", "v100", "l40s", "a100_80g"]), st.integers(0, 16), max_size=3
    ),
    seed=st.integers(0, 1000),
)
def test_alloc_tres_counts_untyped_gpus_else_the_typed_sum(other, untyped, typed, seed):
    items = [*other, *(f"gres/gpu:{t}={n}" for t, n in typed.items())]
    if untyped is not None:
        items.append(f"gres/gpu={untyped}")
    random.Random(seed).shuffle(items)
    gpus, types = slurm.allocated_gpus(",".join(items))
    assert gpus == (untyped if untyped is not None else sum(typed.values()))
    assert sorted(types) == sorted(typed)


@settings(max_examples=200, deadline=None)
@given(gpus=st.integers(0, 10_000), nodes=st.integers(1, 64))
def test_gpu_shares_are_equal_to_18_places_and_sum_exactly(gpus, nodes):
    shares = slurm._shares(gpus, nodes)
    assert len(shares) == nodes
    assert sum(shares) == gpus
    assert max(shares) - min(shares) <= Decimal("1E-18")
    assert all(s == s.quantize(Decimal("1E-18")) for s in shares)
    assert re.fullmatch(r"\d+(\.\d{18})?", str(shares[0]))
