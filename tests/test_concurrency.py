"""Cron overlaps: commands started while a long load holds the store wait (bounded, with a notice) or fail
with the one-line busy error; two loads of different sources both end up loaded. Real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from finops import config, demo, store
from finops.store import StoreBusyError
from tests.conftest import FIXTURES, ROOT, query
from tests.reliability import integrity_problems, report


@pytest.fixture(scope="module")
def bill(tmp_path_factory):
    """A month of two providers' FOCUS files, big enough that loading them takes seconds."""
    return demo.generate(tmp_path_factory.mktemp("concurrency") / "data", rows=100_000, seed=11, month="2025-06")


def finops(db: Path, *args: str, wait: int | None = None, cwd: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FINOPS_")}
    env["PYTHONPATH"] = str(ROOT)
    if wait is not None:
        env["FINOPS_LOCK_WAIT"] = str(wait)
    argv = [sys.executable, "-m", "finops", "--db", str(db), *args]
    return subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_until_held(db: Path, process: subprocess.Popen[str]) -> None:
    """Return once `process` holds the store's lock."""
    settings = config.Settings(database=db, store=config.StoreSettings(lock_wait=0))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            store.connect(settings, read_only=True).close()
        except StoreBusyError:
            return
        time.sleep(0.05)
    raise AssertionError("the load never took the store")


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=120)
    assert "Traceback" not in err, err
    return process.returncode, out, err


READERS = {
    "sql": ("sql", "SELECT count(*) AS n FROM cost_line_items"),
    "report": ("report", "--period", "2025-06", "-o", "report.html"),
    "alert": ("alert", "--as-of", "2025-06-20"),
}


def test_readers_wait_for_a_load_or_fail_with_the_busy_error(bill, tmp_path):
    db = tmp_path / "store.duckdb"
    store.connect(config.Settings(database=db)).close()
    load = finops(db, "collect", "focus", *map(str, bill), cwd=tmp_path)
    wait_until_held(db, load)
    load.send_signal(signal.SIGSTOP)  # hold the load mid-transaction while the others try
    try:
        for name, argv in READERS.items():
            code, out, err = finish(finops(db, *argv, wait=0, cwd=tmp_path))
            assert code == 2, (name, out, err)
            assert err.splitlines() == [
                f"Error: store {db} is busy: another finops process (PID {load.pid}) is using it; "
                "run again when it has finished"
            ], (name, err)
        started = time.monotonic()
        code, _, err = finish(finops(db, *READERS["sql"], wait=1, cwd=tmp_path))
        assert code == 2 and time.monotonic() - started >= 1
        notice, error = err.splitlines()
        assert notice.startswith("notice: ") and "waiting up to 1 s ([store] lock_wait)" in notice
        assert error.endswith("(waited 1 s: [store] lock_wait / FINOPS_LOCK_WAIT)")
        waiting = {name: finops(db, *argv, wait=120, cwd=tmp_path) for name, argv in READERS.items()}
        time.sleep(1.5)
        assert all(p.poll() is None for p in waiting.values())
    finally:
        load.send_signal(signal.SIGCONT)
    assert finish(load)[0] == 0
    results = {name: finish(p) for name, p in waiting.items()}
    (total,) = query(db, "SELECT count(*) FROM cost_line_items")[0]
    assert results["sql"][:2] == (0, f"n\n{total}\n")
    assert results["report"][0] == 0 and (tmp_path / "report.html").stat().st_size > 10_000
    assert results["alert"][0] in (0, 1), results["alert"]
    for name, (_, _, err) in results.items():
        assert err.startswith(f"notice: store {db} is busy"), (name, err)
    assert total > 50_000 and integrity_problems(db) == []
    report("concurrency: sql, report, alert during a load: fail at once with lock_wait=0, wait and succeed with 120 s")


def test_two_loads_of_different_sources_both_end_up_loaded(bill, tmp_path):
    db = tmp_path / "store.duckdb"
    store.connect(config.Settings(database=db)).close()
    aws, gcp = bill
    first = finops(db, "collect", "focus", str(aws), cwd=tmp_path)
    wait_until_held(db, first)
    second = finops(db, "collect", "focus", str(gcp), cwd=tmp_path)
    workloads = finops(db, "collect", "workloads", str(FIXTURES / "report" / "workloads.csv"), cwd=tmp_path)
    assert [finish(p)[0] for p in (first, second, workloads)] == [0, 0, 0]
    assert query(db, "SELECT x_Provider, count(*) > 0 FROM cost_line_items GROUP BY 1 ORDER BY 1") == [
        ("aws", True),
        ("gcp", True),
    ]
    assert query(db, "SELECT count(*) FROM ingest_batches WHERE replaced_batch_id IS NULL") == [(2,)]
    assert query(db, "SELECT count(DISTINCT workload_id) FROM workloads")[0][0] >= 2
    assert integrity_problems(db) == []
    report("concurrency: 3 loads started together (2 billing sources + workloads): all 3 loaded, doctor clean")
