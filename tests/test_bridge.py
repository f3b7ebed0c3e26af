"""The bridge from workload host names to the bill's ResourceId, and `finops status` views of it."""

from __future__ import annotations

import csv
import io

import pytest

from finops import bridge, config
from finops.errors import ConfigError
from tests.conftest import one_line_error, query

BILL = """BilledCost,EffectiveCost,BillingCurrency,BillingAccountId,BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,ResourceId,ResourceName,Tags
32.77,32.77,USD,111,2026-10-01T00:00:00Z,2026-11-01T00:00:00Z,2026-10-03T10:00:00Z,2026-10-03T11:00:00Z,Usage,i-0aaa,train-box,"{""hostname"": ""ip-10-0-1-23.ec2.internal""}"
32.77,32.77,USD,111,2026-10-01T00:00:00Z,2026-11-01T00:00:00Z,2026-10-03T10:00:00Z,2026-10-03T11:00:00Z,Usage,i-0bbb,,
1.00,1.00,USD,111,2026-10-01T00:00:00Z,2026-11-01T00:00:00Z,2026-10-03T10:00:00Z,2026-10-03T11:00:00Z,Usage,i-0ccc,,
"""
MANIFEST = """workload_id,kind,start,end,resource_id,gpus
direct,training,2026-10-03T10:00:00Z,2026-10-03T11:00:00Z,I-0AAA,8
by-name,training,2026-10-03T10:00:00Z,2026-10-03T11:00:00Z,Train-Box,8
by-tag,training,2026-10-03T10:00:00Z,2026-10-03T11:00:00Z,ip-10-0-1-23.ec2.internal,8
by-alias,training,2026-10-03T10:00:00Z,2026-10-03T11:00:00Z,gpu-node-07,8
by-file,training,2026-10-03T10:00:00Z,2026-10-03T11:00:00Z,slurm-gpu03,8
lost,training,2026-10-03T10:00:00Z,2026-10-03T11:00:00Z,mystery-host,8
"""


@pytest.fixture
def loaded(run, tmp_path):
    (tmp_path / "bill.csv").write_text(BILL)
    (tmp_path / "w.csv").write_text(MANIFEST)
    assert run("collect", "focus", str(tmp_path / "bill.csv")).exit_code == 0
    return tmp_path


def unmatched(run) -> list[str]:
    result = run("status", "unmatched", "--format", "csv")
    assert result.exit_code == 0, result.output
    return [row["name"] for row in csv.DictReader(io.StringIO(result.stdout))]


def test_names_join_by_id_name_tag_alias_and_alias_file(run, db, loaded):
    run("collect", "workloads", str(loaded / "w.csv"))
    assert unmatched(run) == ["gpu-node-07", "mystery-host", "slurm-gpu03"]
    (loaded / "hosts.csv").write_text("alias,resource_id\nslurm-gpu03,i-0ccc\n")
    (loaded / "finops.toml").write_text('[bridge]\naliases = { "gpu-node-07" = "i-0bbb" }\nalias_file = "hosts.csv"\n')
    # Read commands see an edited [bridge] at once; write commands also copy it into the store.
    assert run("--config", str(loaded / "finops.toml"), "status", "unmatched").exit_code == 0
    result = run("--config", str(loaded / "finops.toml"), "status", "unmatched", "--format", "csv")
    assert [row["name"] for row in csv.DictReader(io.StringIO(result.stdout))] == ["mystery-host"]
    assert query(db, "SELECT count(DISTINCT name) FROM unmatched_resources") == [(3,)]  # stored snapshot: not synced
    assert run("--config", str(loaded / "finops.toml"), "collect", "workloads", str(loaded / "w.csv")).exit_code == 0
    assert query(db, "SELECT count(*) FROM unmatched_resources") == [(1,)]
    joined = query(
        db,
        "SELECT p.workload_id, n.resource_id, n.via FROM workload_placements p "
        "JOIN resource_names n ON n.name = lower(p.resource_id) ORDER BY 1",
    )
    assert joined == [
        ("by-alias", "i-0bbb", "config"),
        ("by-file", "i-0ccc", str(loaded / "hosts.csv")),
        ("by-name", "i-0aaa", "ResourceName"),
        ("by-tag", "i-0aaa", "tag:hostname"),
        ("direct", "i-0aaa", "ResourceId"),
    ]


def test_billing_status_mentions_unmatched_names(run, loaded):
    run("collect", "workloads", str(loaded / "w.csv"))
    result = run("status", "--format", "csv")
    assert result.exit_code == 0
    assert "notice: 3 host/instance name(s) in workload records join to no bill ResourceId" in result.stderr


def test_workloads_and_telemetry_status(run, loaded):
    run("collect", "workloads", str(loaded / "w.csv"))
    rows = list(csv.DictReader(io.StringIO(run("status", "workloads", "--format", "csv").stdout)))
    assert [
        (r["source"], r["kind"], r["workloads"], r["placements"], r["open_placements"], r["gpu_hours_closed"])
        for r in rows
    ] == [("manifest", "training", "6", "6", "0", "48")]
    assert "--period applies to `finops status billing`" in one_line_error(
        run("status", "workloads", "--period", "2026-10")
    )
    telemetry = run("status", "telemetry", "--format", "csv")
    assert telemetry.exit_code == 0 and telemetry.stdout.splitlines()[1:] == []


def test_a_null_bill_tag_does_not_hide_unmatched_names(run, tmp_path):
    (tmp_path / "bill.csv").write_text(BILL.replace('""hostname"": ""ip-10-0-1-23.ec2.internal""', '""Name"": null'))
    (tmp_path / "w.csv").write_text(MANIFEST)
    run("collect", "focus", str(tmp_path / "bill.csv"))
    run("collect", "workloads", str(tmp_path / "w.csv"))
    assert unmatched(run) == ["gpu-node-07", "ip-10-0-1-23.ec2.internal", "mystery-host", "slurm-gpu03"]


def test_bad_alias_file_is_a_config_error(run, loaded):
    (loaded / "hosts.csv").write_text("host,instance\nx,y\n")
    (loaded / "finops.toml").write_text('[bridge]\nalias_file = "hosts.csv"\n')
    message = one_line_error(
        run("--config", str(loaded / "finops.toml"), "collect", "workloads", str(loaded / "w.csv"))
    )
    assert "needs a header with columns alias,resource_id" in message
    with pytest.raises(ConfigError, match="row 1: alias and resource_id must both be set"):
        (loaded / "bad.csv").write_text("alias,resource_id\nx,\n")
        bridge.aliases(config.BridgeSettings(alias_file=loaded / "bad.csv"))
    with pytest.raises(ConfigError, match="cannot read"):
        bridge.aliases(config.BridgeSettings(alias_file=loaded / "missing.csv"))
