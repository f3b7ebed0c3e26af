"""A load killed at any moment leaves the store exactly as before the load or exactly as after it."""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
import time

import pytest

from finops import config, demo, store
from finops.collect import focus
from tests.conftest import snapshot


@pytest.fixture(scope="module")
def states(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("crash")
    files = demo.generate(tmp / "data", rows=150_000, seed=3, month="2025-06")
    before = tmp / "before.duckdb"
    con = store.connect(config.Settings(database=before))
    focus.collect(con, [str(files[1])])  # the GCP file: a scope the big load restates
    con.close()
    after = tmp / "after.duckdb"
    shutil.copy(before, after)
    con = store.connect(config.Settings(database=after))
    focus.collect(con, [str(tmp / "data")])
    con.close()
    return tmp, before, after


def test_sigkill_during_a_load_never_leaves_half_a_load(states, tmp_path):
    tmp, before, after = states
    expected = {"before": snapshot(before), "after": snapshot(after)}
    assert expected["before"] != expected["after"]
    rng = random.Random(20261126)
    seen = set()
    for trial in range(4):
        target = tmp_path / f"trial{trial}.duckdb"
        shutil.copy(before, target)
        process = subprocess.Popen(
            [sys.executable, "-m", "finops", "--db", str(target), "collect", "focus", str(tmp / "data")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.05, 2.5))
        process.send_signal(signal.SIGKILL)
        process.wait()
        state = snapshot(target)  # opening also replays DuckDB's WAL
        matches = [name for name, value in expected.items() if value == state]
        assert matches, f"trial {trial}: the store is neither the state before nor after the load"
        seen.add(matches[0])
    assert "before" in seen  # at least one kill landed mid-load
