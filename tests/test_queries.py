"""Every named query parses, binds its parameters and plans against the migrated empty schema; user
folders extend and override the library."""

from __future__ import annotations

from pathlib import Path

import pytest

from finops import config, queries, store
from finops.errors import QueryError

QUERY_FILES = sorted(queries.directory().glob("*.sql"))
# A value for each parameter a query may take, to run it with every parameter given too.
SAMPLE = {"period": "2026-10", "basis": "billed", "top": 3, "tag": "team"}
CLASSIC = {
    "cost_by_service",
    "cost_by_sub_account",
    "cost_by_region",
    "cost_by_tag",
    "cost_by_resource",
    "gpu_cost_by_instance_family",
    "cost_by_pricing_category",
    "commitment_coverage_by_service",
    "commitment_utilization_by_commitment",
    "untagged_cost_by_service",
    "cost_change_by_service",
    "total_cost_by_currency",
    "daily_cost_by_service_category",
    "gpu_hours_by_instance_type",
    "last_load_by_source",
    "cost_by_team",
    "cost_by_training_run",
    "cost_by_deployment",
    "idle_gpu_cost_by_resource",
    "unattributed_cost_by_reason",
}


def test_the_library_has_the_classic_questions():
    assert CLASSIC <= {p.stem for p in QUERY_FILES}


@pytest.mark.parametrize("path", QUERY_FILES, ids=lambda p: p.stem)
def test_query_header_and_plan(path, settings):
    query = queries.parse(path)
    assert query.description and query.name == path.stem
    con = store.connect(settings)
    try:
        nulls = {name: (SAMPLE.get(name) if "(required)" in text else None) for name, text in query.params.items()}
        plan = con.execute("EXPLAIN " + query.sql.rstrip().rstrip(";"), nulls).fetchall()
        assert plan
        con.execute(query.sql, nulls).fetchall()  # runs on the empty store
        if set(query.params) <= set(SAMPLE):
            con.execute(query.sql, {name: SAMPLE[name] for name in query.params}).fetchall()
    finally:
        con.close()


def test_unknown_query_and_missing_description(tmp_path):
    with pytest.raises(Exception, match="no query named 'nope'"):
        queries.load("nope")
    with pytest.raises(QueryError, match="a query name is a file stem"):
        queries.load("../etc/passwd")
    bad = tmp_path / "bad.sql"
    bad.write_text("SELECT 1")
    with pytest.raises(Exception, match="needs a `-- description"):
        queries.parse(bad)


def user_settings(tmp_path: Path, *paths: str) -> config.Settings:
    toml = tmp_path / "finops.toml"
    toml.write_text("[queries]\npaths = [" + ", ".join(f'"{p}"' for p in paths) + "]\n")
    return config.load(toml, {})


def test_a_user_folder_extends_and_overrides_the_library(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "cost_by_team.sql").write_text("-- description: my teams\n-- param period: month\nSELECT $period AS p\n")
    (mine / "gpu_spend_of_llms.sql").write_text("-- description: LLM GPU spend\nSELECT 1 AS one\n")
    settings = user_settings(tmp_path, "mine")
    library = queries.library(settings)
    assert library["cost_by_team"].description == "my teams"
    assert library["cost_by_team"].path == mine / "cost_by_team.sql"
    assert library["gpu_spend_of_llms"].params == {}
    assert library["cost_by_service"].path.parent == queries.directory()
    assert queries.load("cost_by_team", settings).description == "my teams"
    assert queries.load("cost_by_team").description.startswith("Cost per team")


def test_a_missing_user_folder_is_named(tmp_path):
    with pytest.raises(QueryError, match=r"\[queries\] paths: .*nowhere is not a folder"):
        queries.library(user_settings(tmp_path, "nowhere"))


def test_binding_refuses_unknown_parameters():
    query = queries.load("cost_by_service")
    assert queries.bind(query, {"period": "2026-10"}) == {"period": "2026-10", "basis": None}
    with pytest.raises(QueryError, match="has no parameter 'month' \\(its parameters: period, basis\\)"):
        queries.bind(query, {"month": "2026-10"})
