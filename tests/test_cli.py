"""The command line: status, sql, export, the error contract, and `python -m finops`."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal

import pyarrow.parquet as pq
import pytest

import finops
from finops import config, store
from tests.conftest import one_line_error, query


def loaded(run, sample):
    result = run("collect", "focus", str(sample))
    assert result.exit_code == 0, result.output


def test_status_per_provider_and_period_with_exact_sums(run, sample):
    loaded(run, sample)
    result = run("status", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["provider"], r["billing_period"], r["rows"], r["billed_cost"], r["effective_cost"]) for r in rows] == [
        ("AWS", "2024-09", "942", "18.0066386184", "13"),
        ("Microsoft", "2024-09", "51", "1.97651418586", "1.97651418586"),
        ("Oracle", "2024-09", "6", "0.29707392473", "0"),
        ("Oracle", "2024-10", "1", "0.24", "0"),
    ]
    assert {r["source"] for r in rows} == {"focus"} and {r["currency"] for r in rows} == {"USD"}
    assert all(r["last_loaded_at"].endswith("Z") for r in rows)
    assert sum(Decimal(r["billed_cost"]) for r in rows) == Decimal("20.520226728990")


def test_status_formats_and_period_filter(run, sample, tmp_path):
    loaded(run, sample)
    table = run("status", "--format", "table", "--period", "2024-10").stdout
    assert table.splitlines()[0].split()[:4] == ["provider", "billing_period", "source", "currency"]
    assert "(1 row)" in table
    data = json.loads(run("status", "--format", "json").stdout, parse_float=Decimal)
    assert data[1]["billed_cost"] == Decimal("1.97651418586") and data[1]["rows"] == 51
    raw = run("status", "--format", "json").stdout
    assert '"billed_cost": 18.0066386184' in raw  # exact decimal text, not a float repr
    out = tmp_path / "status.parquet"
    assert run("status", "-o", str(out)).exit_code == 0
    assert pq.read_table(out).num_rows == 4
    assert "give it with -o FILE.parquet" in one_line_error(run("status", "--format", "parquet"))
    assert "--period '2024-9'" in one_line_error(run("status", "--period", "2024-9"))


def test_status_without_a_store_says_what_to_do(run):
    assert "no store at" in one_line_error(run("status"))


def test_sql_reads_and_formats(run, sample, tmp_path):
    loaded(run, sample)
    result = run(
        "sql",
        "SELECT ProviderName, sum(BilledCost) AS billed FROM cost_line_items GROUP BY 1 ORDER BY 1",
        "--format",
        "csv",
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "ProviderName,billed",
        "AWS,18.0066386184",
        "Microsoft,1.97651418586",
        "Oracle,0.53707392473",
    ]
    out = tmp_path / "tags.json"
    assert run("sql", "SELECT Tags FROM cost_line_items WHERE Tags IS NOT NULL LIMIT 1", "-o", str(out)).exit_code == 0
    assert isinstance(json.loads(out.read_text())[0]["Tags"], dict)
    assert run("sql", "-", "--format", "csv", input="SELECT 41 + 1 AS answer").stdout == "answer\n42\n"
    query_file = tmp_path / "q.sql"
    query_file.write_text("SELECT count(*) AS n FROM cost_line_items")
    assert run("sql", "-f", str(query_file), "--format", "csv").stdout == "n\n1000\n"


def test_sql_refuses_writes_and_file_access(run, db, sample, tmp_path):
    loaded(run, sample)
    assert "read-only: DELETE statements are refused" in one_line_error(run("sql", "DELETE FROM cost_line_items"))
    assert "read-only" in one_line_error(run("sql", "DROP TABLE ingest_batches"))
    leak = tmp_path / "leak.csv"
    for statement in (
        f"COPY cost_line_items TO '{leak}'",
        "SELECT * FROM read_csv('/etc/passwd')",
        "INSTALL httpfs",
        f"ATTACH '{tmp_path / 'other.duckdb'}' AS other",
    ):
        message = one_line_error(run("sql", statement))
        assert "refused" in message or "read-only" in message, (statement, message)
    assert not leak.exists()
    assert query(db, "SELECT count(*) FROM cost_line_items") == [(1000,)]


def test_sql_errors_are_one_line(run, sample):
    loaded(run, sample)
    assert "SQL syntax error" in one_line_error(run("sql", "SELEC 1"))
    assert "tables: cost_line_items" in one_line_error(run("sql", "SELECT * FROM costs"))
    assert "give the SQL" in one_line_error(run("sql"))


def test_export_round_trips_through_the_loader(run, db, sample, tmp_path):
    loaded(run, sample)
    for name in ("sept.csv", "sept.parquet"):
        out = tmp_path / name
        result = run("export", "focus", "--period", "2024-09", "-o", str(out))
        assert result.exit_code == 0, result.output
        assert "wrote 999 rows of 2024-09" in result.stderr
        other = tmp_path / f"{name}.duckdb"
        again = run("--db", str(other), "collect", "focus", str(out), use_db=False)
        assert again.exit_code == 0, again.output
        assert query(
            other, "SELECT count(*), sum(BilledCost), sum(EffectiveCost), sum(ListCost) FROM cost_line_items"
        ) == query(
            db,
            "SELECT count(*), sum(BilledCost), sum(EffectiveCost), sum(ListCost) "
            "FROM cost_line_items WHERE BillingPeriodStart < '2024-10-01'",
        )
        # Tags, ids and extras survive the round trip.
        assert query(other, "SELECT count(*) FROM cost_line_items WHERE Tags['environment'] = 'prod'") == [(234,)]


def test_export_writes_focus_1_2_layout(run, sample, tmp_path):
    loaded(run, sample)
    out = tmp_path / "sept.csv"
    run("export", "focus", "--period", "2024-09", "-o", str(out))
    with out.open(newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        first = dict(zip(header, next(reader), strict=False))
    from finops import focus

    assert header[:57] == [c.name for c in focus.FOCUS_1_2]
    assert all(h.startswith("x_") for h in header[57:])
    assert first["BillingPeriodStart"] == "2024-09-01T00:00:00Z"
    assert first["ChargePeriodStart"].endswith("Z") and "T" in first["ChargePeriodStart"]
    tagged = next(r for r in csv.DictReader(out.open(newline="")) if r["Tags"])
    assert isinstance(json.loads(tagged["Tags"]), dict)


def test_export_errors(run, sample, tmp_path):
    loaded(run, sample)
    assert "no billing rows for 2023-01" in one_line_error(
        run("export", "focus", "--period", "2023-01", "-o", str(tmp_path / "x.csv"))
    )
    assert "a FOCUS export is .csv or .parquet" in one_line_error(
        run("export", "focus", "--period", "2024-09", "-o", str(tmp_path / "x.json"))
    )
    assert not (tmp_path / "x.json").exists() and not (tmp_path / "x.csv").exists()


def test_debug_shows_the_traceback(run, tmp_path):
    plain = run("status")
    assert "Traceback" not in plain.output
    debugged = run("--debug", "status")
    assert debugged.exit_code == 2
    assert "Traceback" in debugged.stderr and "StoreError" in debugged.stderr


def test_version_and_python_dash_m(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "finops", "--version"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0 and finops.__version__ in result.stdout
    failed = subprocess.run(
        [sys.executable, "-m", "finops", "--db", str(tmp_path / "x.duckdb"), "status"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert failed.returncode == 2 and failed.stderr.startswith("Error: no store at")
    assert "Traceback" not in failed.stderr


@pytest.mark.parametrize("unbuffered", ["", "1"])
def test_a_reader_that_leaves_early_ends_the_command_quietly(db, tmp_path, unbuffered):
    store.connect(config.Settings(database=db)).close()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FINOPS_", "PYTHONUNBUFFERED"))}
    env |= {"PYTHONUNBUFFERED": unbuffered} if unbuffered else {}
    finops_cmd = [sys.executable, "-m", "finops", "--db", str(db)]
    # `finops sql … | head -1`: 100,000 lines overflow the pipe, so the reader leaves mid-write.
    with subprocess.Popen(
        [*finops_cmd, "sql", "SELECT * FROM range(100000)"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env=env,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.readline() == b"range\n"
        proc.stdout.close()
        assert (proc.wait(timeout=120), proc.stderr.read()) == (0, b"")
    # `finops status | true`: the reader left before the first write; with buffered output the write
    # fails only when the command has ended.
    with subprocess.Popen(
        [*finops_cmd, "status"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path, env=env
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        assert (proc.wait(timeout=120), proc.stderr.read()) == (0, b"")


def test_usage_errors_exit_2(run):
    result = run("collect", "focus")
    assert result.exit_code == 2
    assert "Missing argument" in result.stderr


def test_demo_generates_loads_and_reports(run, db, tmp_path):
    result = run(
        "demo", "--rows", "3000", "--seed", "5", "--month", "2025-03", "--out", str(tmp_path / "d"), "--format", "csv"
    )
    assert result.exit_code == 0, result.output
    sections = result.stdout.split("\n\n")
    rows = list(csv.DictReader(io.StringIO(sections[0])))
    assert {r["provider"] for r in rows} == {"AWS", "Google Cloud"}
    # Then the month is attributed: the top runs, deployments and idle resources follow.
    titles = [section.splitlines()[0] for section in sections[1:]]
    assert titles == [
        "Top 5 training runs of 2025-03 (EffectiveCost):",
        "Top 5 deployments of 2025-03 (EffectiveCost):",
        "Idle GPU cost, top 5 resources of 2025-03 (EffectiveCost):",
    ]
    runs = list(csv.DictReader(io.StringIO("\n".join(sections[1].splitlines()[1:]))))
    assert 0 < len(runs) <= 5 and runs[0]["run_id"]
    assert query(db, "SELECT sum(effective_cost), sum(billed_cost) FROM allocations") == query(
        db, "SELECT sum(EffectiveCost), sum(BilledCost) FROM cost_line_items"
    )
    # The AWS month is collected as a CUR: one SavingsPlanNegation line per covered-usage line.
    negations = query(db, "SELECT count(*) FROM cost_line_items WHERE x_LineItemType = 'SavingsPlanNegation'")[0][0]
    assert negations > 0 and sum(int(r["rows"]) for r in rows) == 3000 + negations
    assert query(db, "SELECT count(*), count(DISTINCT x_Provider) FROM cost_line_items") == [(3000 + negations, 2)]
    # Amortisation: with the Savings Plan's purchases and covered usage in one month, Σ Effective == Σ Billed.
    assert query(db, "SELECT sum(BilledCost) = sum(EffectiveCost) FROM cost_line_items") == [(True,)]
    # The month's workload records and telemetry are loaded too, and join to the bill except the two
    # host names the demo uses on purpose.
    counts = query(
        db,
        "SELECT (SELECT count(*) FROM workloads), (SELECT count(*) FROM gpu_samples), "
        "(SELECT count(DISTINCT source) FROM gpu_samples)",
    )[0]
    assert counts[0] > 10 and counts[1] > 1000 and counts[2] == 1
    assert "2 host name(s) join to no billed resource" in result.stderr
    joined = query(
        db,
        "SELECT count(*) FILTER (WHERE n.name IS NULL), count(*) FROM workload_placements p "
        "LEFT JOIN (SELECT DISTINCT name FROM resource_names) n ON n.name = lower(p.resource_id)",
    )[0]
    assert 0 < joined[0] < joined[1] / 4
    again = run(
        "demo", "--rows", "3000", "--seed", "5", "--month", "2025-03", "--out", str(tmp_path / "d"), "--format", "table"
    )
    assert again.exit_code == 0
    # As tables the tops print money as `finops status` does: cents, thousands separators, the currency.
    top_runs, top_idle = again.stdout.split("\n\n")[1], again.stdout.split("\n\n")[3]
    idle = list(csv.DictReader(io.StringIO("\n".join(sections[3].splitlines()[1:]))))
    assert runs[0]["currency"] == idle[0]["currency"] == "USD"
    assert f"{Decimal(runs[0]['cost']).quantize(Decimal('0.01'), ROUND_HALF_UP):,} USD" in top_runs
    assert f"{Decimal(idle[0]['idle_cost']).quantize(Decimal('0.01'), ROUND_HALF_UP):,} USD" in top_idle
    assert query(db, "SELECT count(*) FROM ingest_batches") == [(2,)]  # same seed: same files, nothing reloaded
    assert query(db, "SELECT count(*) FROM workloads") == [(counts[0],)]  # updated in place, not doubled


def test_demo_errors(run, tmp_path):
    assert "--rows/--month" in one_line_error(run("demo", "--rows", "10", "--out", str(tmp_path / "d")))
    assert "--month '2025-13'" in one_line_error(run("demo", "--month", "2025-13", "--out", str(tmp_path / "d")))
