"""A load killed at any moment leaves the store exactly as before the load or exactly as after it.

Each trial copies the "before" store, starts the command as a subprocess on a large input, SIGKILLs
it after a seeded random delay, then opens the store (replaying DuckDB's WAL), runs the doctor's
integrity checks and compares the state with the two expected ones.
"""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from finops import config, demo, store
from finops.collect import focus
from finops.demo import cur, gcp_export
from tests.conftest import snapshot
from tests.reliability import integrity_problems, report


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


def full_snapshot(db: Path) -> tuple[Any, ...]:
    """`snapshot` plus the allocations (what `finops attribute` writes)."""
    con = store.connect(config.Settings(database=db), read_only=True)
    try:
        allocations = con.execute(
            "SELECT count(*), sum(billed_cost), sum(effective_cost), sum(list_cost), count(DISTINCT line_item_id) "
            "FROM allocations"
        ).fetchall()
    finally:
        con.close()
    return (*snapshot(db), allocations)


def kill_trials(
    name: str,
    argv: list[str],
    before: Path,
    after: Path,
    tmp: Path,
    trials: int,
    seed: int,
    window: tuple[float, float],
    state: Callable[[Path], tuple[Any, ...]] = full_snapshot,
) -> dict[str, int]:
    """Run `trials` seeded SIGKILL trials of `finops --db COPY ARGV`; every outcome is before or after."""
    expected = {"before": state(before), "after": state(after)}
    assert expected["before"] != expected["after"]
    rng = random.Random(seed)
    seen = {"before": 0, "after": 0}
    for trial in range(trials):
        target = tmp / f"{name}-{trial}.duckdb"
        shutil.copy(before, target)
        process = subprocess.Popen(
            [sys.executable, "-m", "finops", "--db", str(target), *argv],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(*window))
        process.send_signal(signal.SIGKILL)
        process.wait()
        result = state(target)  # opening also replays DuckDB's WAL
        matches = [label for label, value in expected.items() if value == result]
        assert matches, f"{name} trial {trial}: the store is neither the state before nor after the load"
        assert integrity_problems(target) == [], f"{name} trial {trial}"
        seen[matches[0]] += 1
        target.unlink()
    report(f"crash safety: {name}: {trials} SIGKILL trials -> {seen['before']} before, {seen['after']} after, 0 other")
    return seen


def test_sigkill_during_a_load_never_leaves_half_a_load(states, tmp_path):
    tmp, before, after = states
    seen = kill_trials(
        "collect focus", ["collect", "focus", str(tmp / "data")], before, after, tmp_path, 4, 20261126, (0.05, 2.5)
    )
    assert seen["before"]  # at least one kill landed mid-load


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """A month as a CUR 2.0 report folder and a GCP billing export; the stores before and after each
    command, and how long each command took (the kill window spans it)."""
    tmp = tmp_path_factory.mktemp("crash-exports")
    aws_focus, gcp_focus = demo.generate(tmp / "focus", rows=50_000, seed=5, month="2025-07")
    cur.write_cur2([aws_focus], tmp / "cur")
    gcp_export.write_gcp_export([gcp_focus], tmp / "gcp")
    commands = {
        "aws": ["collect", "aws-cur", str(next((tmp / "cur").iterdir()))],
        "gcp": ["collect", "gcp-billing", "--path", str(tmp / "gcp")],
        "attribute": ["attribute"],
    }
    took = {}

    def build(name: str, step: str, start: Path | None = None) -> Path:
        path = tmp / f"{name}.duckdb"
        if start is not None:
            shutil.copy(start, path)
        began = time.monotonic()
        subprocess.run([sys.executable, "-m", "finops", "--db", str(path), *commands[step]], check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        took[step] = time.monotonic() - began
        return path

    aws_only = build("aws", "aws")
    gcp_only = build("gcp", "gcp")
    both = build("both", "gcp", aws_only)
    gcp_then_aws = build("gcp-then-aws", "aws", gcp_only)  # ids follow load order: its own "after"
    attributed = build("attributed", "attribute", both)
    stores = {"aws": (gcp_only, gcp_then_aws), "gcp": (aws_only, both), "attribute": (both, attributed)}
    return commands, stores, took


@pytest.mark.parametrize(
    ("step", "trials", "seed"),
    [("aws", 6, 1), ("gcp", 6, 2), ("attribute", 5, 3)],
    ids=["collect-aws-cur", "collect-gcp-billing", "attribute"],
)
def test_sigkill_during_aws_gcp_loads_and_attribution(exports, tmp_path, step, trials, seed):
    commands, stores, took = exports
    before, after = stores[step]
    window = (0.1, took[step] * 1.3)  # from interpreter start-up to past the commit
    name = " ".join(commands[step][:2])
    seen = kill_trials(name, commands[step], before, after, tmp_path, trials, seed, window)
    assert seen["before"] + seen["after"] == trials
