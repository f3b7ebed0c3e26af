"""Every named query parses, binds its parameters and plans against the migrated empty schema."""

from __future__ import annotations

import pytest

from finops import queries, store

QUERY_FILES = sorted(queries.directory().glob("*.sql"))


def test_the_library_is_not_empty():
    assert QUERY_FILES, queries.directory()


@pytest.mark.parametrize("path", QUERY_FILES, ids=lambda p: p.stem)
def test_query_header_and_plan(path, settings):
    query = queries.parse(path)
    assert query.description and query.name == path.stem
    con = store.connect(settings)
    try:
        params = {name: None for name in query.params}
        plan = con.execute("EXPLAIN " + query.sql.rstrip().rstrip(";"), params).fetchall()
        assert plan
        con.execute(query.sql, params).fetchall()  # runs on the empty store
    finally:
        con.close()


def test_unknown_query_and_missing_description(tmp_path):
    with pytest.raises(Exception, match="no query named 'nope'"):
        queries.load("nope")
    bad = tmp_path / "bad.sql"
    bad.write_text("SELECT 1")
    with pytest.raises(Exception, match="needs a `-- description"):
        queries.parse(bad)
