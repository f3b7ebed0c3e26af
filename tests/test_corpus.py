"""Every file of the hostile-input corpus through the CLI: a one-line error with the store unchanged,
or its documented tolerance; never a traceback, an unexpected exception or half a load."""

from __future__ import annotations

import io
import json
import os
import shutil
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from finops import config, store
from finops.cli import cli
from finops.collect import aws_exports
from finops.errors import InputError
from tests.conftest import FIXTURES, one_line_error, snapshot
from tests.corpus.make_corpus import CASES, ROOT, Case, write
from tests.reliability import integrity_problems, report

OUTCOMES: Counter[str] = Counter()


def state(db: Path) -> tuple[Any, ...]:
    """Everything any collector writes: billing (exact sums), workloads, placements, resources, samples."""
    con = store.connect(config.Settings(database=db), read_only=True)
    try:
        counts = con.execute(
            "SELECT (SELECT count(*) FROM workloads), (SELECT count(*) FROM workload_placements), "
            "(SELECT count(*) FROM resources), (SELECT count(*) FROM gpu_samples)"
        ).fetchall()
    finally:
        con.close()
    return (*snapshot(db), counts)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    """A store holding the report fixture bill (9 line items) and its workloads."""
    db = tmp_path_factory.mktemp("corpus") / "baseline.duckdb"
    for argv in (["collect", "focus", str(FIXTURES / "report" / "bill.csv")],
                 ["collect", "workloads", str(FIXTURES / "report" / "workloads.csv")]):  # fmt: skip
        assert CliRunner().invoke(cli, ["--db", str(db), *argv], catch_exceptions=False).exit_code == 0
    return db


def test_the_corpus_is_large_and_committed():
    cases = [c for c, _ in CASES]
    assert len(cases) >= 40
    assert all((ROOT / c.path).exists() for c in cases), [c.path for c in cases if not (ROOT / c.path).exists()]
    size = sum(p.stat().st_size for p in ROOT.rglob("*") if p.is_file())
    assert size < 2_000_000
    assert {c.path.split("/")[0] for c in cases} >= {
        "focus", "cur-legacy", "cur2", "gcp", "dcgm", "nvidia-smi", "slurm", "mlflow", "workloads", "config"
    }  # fmt: skip


def test_the_committed_corpus_is_what_the_script_writes(tmp_path):
    write(tmp_path)
    made = {p.relative_to(tmp_path).as_posix(): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    kept = {
        p.relative_to(ROOT).as_posix(): p.read_bytes()
        for p in ROOT.rglob("*")
        if p.is_file() and p.suffix != ".pyc" and p.name not in ("make_corpus.py", "__init__.py")
    }
    assert made.keys() == kept.keys()
    assert [k for k in made if made[k] != kept[k]] == []


@pytest.mark.parametrize("item", [c for c, _ in CASES], ids=[c.path for c, _ in CASES])
def test_corpus_case(item: Case, baseline: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    db = tmp_path / "store.duckdb"
    shutil.copy(baseline, db)
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith(("FINOPS_", "MLFLOW_TRACKING_"))]:
        monkeypatch.delenv(name)
    before = state(db)
    argv = [a.replace("{}", str(ROOT / item.path)) for a in item.argv]
    result = CliRunner().invoke(cli, ["--db", str(db), *argv], catch_exceptions=False)
    assert "Traceback" not in result.output
    if item.expect == "ok":
        assert result.exit_code == 0, result.output
        con = store.connect(config.Settings(database=db), read_only=True)
        try:
            (value,) = con.execute(item.check).fetchone() or (None,)
        finally:
            con.close()
        assert str(value) == item.value, (item.check, value)
        OUTCOMES["tolerated"] += 1
    else:
        message = one_line_error(result)
        assert "unexpected" not in message, message
        assert item.expect.lower() in message.lower(), message
        assert len(message) < 600, message
        assert state(db) == before  # so the doctor finds what it found before: nothing
        OUTCOMES["refused"] += 1
        return
    assert integrity_problems(db) == []


def test_corpus_outcomes_are_reported():
    if sum(OUTCOMES.values()) == len(CASES):
        report(
            f"corpus: {len(CASES)} hostile inputs -> {OUTCOMES['refused']} one-line errors with the store unchanged, "
            f"{OUTCOMES['tolerated']} documented tolerances, 0 tracebacks"
        )


class _Bucket:
    """Just enough of an S3 client: a listing and object bodies (a manifest naming keys outside its prefix)."""

    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects

    def get_paginator(self, name: str) -> Any:
        objects = self.objects

        class Pages:
            def paginate(self, Bucket: str, Prefix: str) -> list[dict[str, Any]]:
                at = datetime(2025, 2, 1, tzinfo=UTC)
                return [{"Contents": [{"Key": k, "LastModified": at} for k in objects if k.startswith(Prefix)]}]

        return Pages()

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        return {"Body": io.BytesIO(self.objects[Key])}


@pytest.mark.parametrize(
    "key",
    ["s3://cur-bucket/other-team/secret.csv.gz", "other-team/secret.csv.gz", "../../other-team/secret.csv.gz",
     "cur/ml-cur/../../other-team/secret.csv.gz", "/etc/passwd"],
)  # fmt: skip
def test_s3_manifest_keys_outside_the_report_prefix_are_never_read(key: str):
    manifest = {"billingPeriod": {"start": "20250101T000000.000Z"}, "reportKeys": [key], "assemblyId": "a"}
    bucket = _Bucket(
        {
            "cur/ml-cur/20250101-20250201/ml-cur-Manifest.json": json.dumps(manifest).encode(),
            "other-team/secret.csv.gz": b"not yours",
        }
    )
    tree = aws_exports.S3Tree(bucket, "cur-bucket", "cur/ml-cur")
    with pytest.raises(InputError, match="which is not under s3://cur-bucket/cur/ml-cur"):
        aws_exports.snapshots(tree)
