"""`make demo`'s alert step: on the demo month, `finops alert --dry-run` shows a crossed budget and exits 1."""

from __future__ import annotations

from finops import config, store
from finops.demo.budgets import demo_config
from finops.demo.load import load_demo
from tests.conftest import query


def test_demo_budget_is_crossed_and_shown(run, tmp_path, db):
    con = store.connect(config.Settings(database=db))
    try:
        load_demo(con, tmp_path / "data", rows=20_000, seed=7, month="2026-10")
    finally:
        con.close()
    path = tmp_path / "demo.toml"
    path.write_text(demo_config(db))
    result = run("--config", str(path), "alert", "--dry-run", "--as-of", "2026-11-26", use_db=False)
    assert result.exit_code == 1, result.output
    assert "Budget nlp-training (2026-10): actual spend 60,249.66 USD is 120.50% of 50,000.00 USD, over 100%" in (
        result.stdout
    )
    assert "Budget whole-bill (2026-10): actual spend 176,675.84 USD is 88.34% of 200,000.00 USD, over 80%" in (
        result.stdout
    )
    assert "top workloads: llm-7b-pretrain-r2 17,113.28" in result.stdout
    assert "Spend anomaly: team nlp spent 6,302.44 USD on 2026-10-29" in result.stdout
    assert query(db, "SELECT count(*) FROM alert_events") == [(0,)]  # a dry run records nothing
    assert run("--config", str(path), "alert", "--dry-run", use_db=False).exit_code == 1  # default: today
