"""`finops collect workloads`: the CSV/JSON manifest, its identity rule and its errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

from tests.conftest import one_line_error, query, snapshot

CSV = """workload_id,kind,name,team,project,owner,status,start,end,resource_id,gpus,placement_start,placement_end,git_sha
llm-7b-r3,training,llm-7b pretrain,nlp,llm,ana,finished,2026-10-03T10:15:00Z,2026-10-03T14:40:00Z,i-0aaa,8,,,abc
sweep-12,training,lr sweep,vision,cv,ben,running,2026-10-04T00:00:00Z,,i-0bbb,4,,2026-10-04T02:00:00Z,
sweep-12,training,lr sweep,vision,cv,ben,running,2026-10-04T00:00:00Z,,i-0ccc,4,2026-10-04T02:00:00Z,,
chat-api,deployment,chat api,platform,,,running,2026-10-01T00:00:00+02:00,,gpu-node-07,1,,,
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_csv_manifest_loads_workloads_and_placements(run, db, tmp_path):
    result = run("collect", "workloads", write(tmp_path, "w.csv", CSV), "--format", "csv")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1] == "manifest,3,0,4,0,0"
    assert query(
        db, "SELECT workload_id, kind, team, owner, status, started_at, ended_at, attributes FROM workloads ORDER BY 1"
    ) == [
        ("chat-api", "deployment", "platform", None, "running", datetime(2026, 9, 30, 22, tzinfo=UTC), None, None),
        (
            "llm-7b-r3",
            "training",
            "nlp",
            "ana",
            "finished",
            datetime(2026, 10, 3, 10, 15, tzinfo=UTC),
            datetime(2026, 10, 3, 14, 40, tzinfo=UTC),
            {"git_sha": "abc"},
        ),
        ("sweep-12", "training", "vision", "ben", "running", datetime(2026, 10, 4, tzinfo=UTC), None, None),
    ]
    assert query(
        db,
        "SELECT workload_id, resource_id, gpu_count, started_at, ended_at FROM workload_placements "
        "WHERE workload_id = 'sweep-12' ORDER BY started_at",
    ) == [
        ("sweep-12", "i-0bbb", Decimal(4), datetime(2026, 10, 4, tzinfo=UTC), datetime(2026, 10, 4, 2, tzinfo=UTC)),
        ("sweep-12", "i-0ccc", Decimal(4), datetime(2026, 10, 4, 2, tzinfo=UTC), None),
    ]


def test_recollecting_updates_a_run_that_ended(run, db, tmp_path):
    path = write(tmp_path, "w.csv", CSV)
    run("collect", "workloads", path)
    ended = CSV.replace("running,2026-10-04T00:00:00Z,,", "finished,2026-10-04T00:00:00Z,2026-10-04T05:30:00Z,")
    result = run("collect", "workloads", write(tmp_path, "w2.csv", ended), "--format", "csv")
    assert result.stdout.splitlines()[1] == "manifest,0,3,4,0,0"
    assert query(db, "SELECT count(*) FROM workloads") == [(3,)]
    assert query(db, "SELECT status, ended_at FROM workloads WHERE workload_id = 'sweep-12'") == [
        ("finished", datetime(2026, 10, 4, 5, 30, tzinfo=UTC))
    ]
    # The open placement inherits the workload's new end.
    assert query(db, "SELECT max(ended_at) FROM workload_placements WHERE workload_id = 'sweep-12'") == [
        (datetime(2026, 10, 4, 5, 30, tzinfo=UTC),)
    ]


def test_json_manifest_with_nested_placements_and_request_counts(run, db, tmp_path):
    data = {
        "workloads": [
            {
                "workload_id": "embed-api",
                "kind": "Deployment",
                "team": "platform",
                "start": "2026-10-01T00:00:00Z",
                "request_count": 1234567,
                "attributes": {"model": "e5-large"},
                "placements": [
                    {
                        "resource_id": "arn:aws:sagemaker:us-east-1:3:endpoint/embed",
                        "gpus": 1,
                        "gpu_uuids": ["GPU-1"],
                        "start": "2026-10-01T00:00:00Z",
                        "end": "2026-10-15T00:00:00Z",
                    },
                    {"resource_id": "i-0ddd", "gpus": "0.5", "start": "2026-10-15T00:00:00Z"},
                ],
            },
        ]
    }
    assert run("collect", "workloads", write(tmp_path, "w.json", json.dumps(data))).exit_code == 0
    assert query(db, "SELECT kind, request_count, attributes['model'] FROM workloads") == [
        ("deployment", 1234567, "e5-large")
    ]
    assert query(db, "SELECT resource_id, gpu_count, gpu_uuids FROM workload_placements ORDER BY started_at") == [
        ("arn:aws:sagemaker:us-east-1:3:endpoint/embed", Decimal(1), ["GPU-1"]),
        ("i-0ddd", Decimal("0.5"), None),
    ]


def test_naive_times_need_a_timezone(run, db, tmp_path):
    path = write(tmp_path, "w.csv", "workload_id,kind,start\nj1,batch,2026-10-05 08:00:00\n")
    assert "has no time zone" in one_line_error(run("collect", "workloads", path))
    assert run("collect", "workloads", path, "--timezone", "America/New_York").exit_code == 0
    assert query(db, "SELECT started_at FROM workloads") == [(datetime(2026, 10, 5, 12, tzinfo=UTC),)]


def test_bad_manifests_are_one_line_errors_and_change_nothing(run, db, tmp_path):
    run("collect", "workloads", write(tmp_path, "ok.csv", CSV))
    before = snapshot(db), query(db, "SELECT * FROM workloads ORDER BY workload_id")
    cases = {
        "kind": (
            "k.csv",
            "workload_id,kind,start\nx,experiment,2026-10-01T00:00:00Z\n",
            "kind 'experiment' is not one of",
        ),
        "negative": (
            "n.csv",
            "workload_id,kind,start,end\nx,batch,2026-10-02T00:00:00Z,2026-10-01T00:00:00Z\n",
            "ends (2026-10-01 00:00:00 UTC) before it starts",
        ),
        "header": ("h.csv", "id,kind\nx,batch\n", "the header lacks workload_id"),
        "conflict": (
            "c.csv",
            "workload_id,kind,team,start\nx,batch,a,2026-10-01T00:00:00Z\nx,batch,b,2026-10-01T00:00:00Z\n",
            "workload 'x' has different team values",
        ),
        "gpus": (
            "g.csv",
            "workload_id,kind,start,resource_id,gpus\nx,batch,2026-10-01T00:00:00Z,i-1,eight\n",
            "'eight' is not a number of GPUs",
        ),
        "json": ("j.json", '[{"workload_id": ', "not valid JSON"),
        "date": ("d.csv", "workload_id,kind,start\nx,batch,yesterday\n", "'yesterday' is not a date-time"),
        "empty id": ("e.csv", "workload_id,kind\n,batch\n", "workload_id is empty"),
        "ragged": ("r.csv", "workload_id,kind\nx,batch,extra\n", "more fields than the header"),
        "no start": ("s.csv", "workload_id,kind,resource_id\nx,batch,i-1\n", "has placements but no start"),
        "infinity": ("i.json", '[{"workload_id": "x", "kind": "batch", "gpus": Infinity}]', "Infinity is not a value"),
    }
    for name, (file, text, expected) in cases.items():
        message = one_line_error(run("collect", "workloads", write(tmp_path, file, text)))
        assert expected in message, (name, message)
        assert (snapshot(db), query(db, "SELECT * FROM workloads ORDER BY workload_id")) == before, name
    assert "no such file" in one_line_error(run("collect", "workloads", str(tmp_path / "absent.csv")))
