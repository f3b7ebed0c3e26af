"""Two `finops alert` processes at once (cron overlapping a manual run) send each alert once."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import date

from tests import billdata
from tests.conftest import ROOT, query
from tests.httpfake import serve

CONFIG = (
    billdata.CONFIG
    + """
[[notify]]
name = "hook"
type = "webhook"
url_env = "FINOPS_TEST_HOOK_URL"
"""
)


def test_concurrent_runs_do_not_double_send(tmp_path, db):
    billdata.load_file(db, billdata.october(tmp_path / "bill.csv", date(2026, 11, 1)))
    (tmp_path / "finops.toml").write_text(CONFIG)

    def slow(request):
        time.sleep(0.5)  # the first run holds the store while it sends
        return 200, b""

    with serve({("POST", "/hook"): slow}) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FINOPS_")}
        env.update(FINOPS_TEST_HOOK_URL=server.url + "/hook", PYTHONPATH=str(ROOT))
        argv = [
            sys.executable,
            "-m",
            "finops",
            "--config",
            str(tmp_path / "finops.toml"),
            "--db",
            str(db),
            "alert",
            "--as-of",
            "2026-11-05",
        ]
        runs = [
            subprocess.Popen(argv, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        results = [(p.wait(timeout=60), *p.communicate()) for p in runs]
    assert sorted(code for code, _, _ in results) == [0, 1], results
    assert len(server.requests) == 1
    assert server.requests[0].json()["threshold"] == "100"
    assert query(db, "SELECT count(*) FROM alert_deliveries") == [(1,)]
    quiet = next(err for code, _, err in results if code == 0)
    assert "nothing new" in quiet
