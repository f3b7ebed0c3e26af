"""The scale benchmark: `finops` against what DuckDB alone does with the same files, in one run.

    python -m bench [--rows 1000000] [--also-10m] [--memory-limit 1GB] [--json bench-results.json] [--keep DIR]
                    [--peers [--peers-venv DIR]]

For each size it generates a month (bench.generate: CUR 2.0 Parquet and legacy CUR CSV.gz at
realistic width, a workload manifest), then measures, each command as its own process so peak
memory is the command's own:

- ingest: `finops collect aws-cur` of the CUR 2.0 export and of the legacy CSV.gz report, against
  DuckDB loading the same files into a table with no mapping (CREATE TABLE AS SELECT * FROM ...);
- `finops collect dcgm` of the month's GPU utilisation (a saved query_range answer);
- attribution: `finops attribute` (placements and utilisation included) against a DuckDB
  scan-and-group-by of the same line items;
- `finops doctor`, `finops report` and `finops alert --dry-run` wall time on the attributed month;
- `finops sql` of a typical group-by against the same query in plain DuckDB.

Ratios are what to read: both sides run on the same machine in the same minute, so its noise
cancels. finops runs with its default `[store] memory_limit` of 1GB (--memory-limit sets
FINOPS_MEMORY_LIMIT) and its temp directory in the work folder, so DuckDB spills instead of growing
with the month; the DuckDB baselines run with DuckDB's defaults (up to 80% of RAM). With --peers,
focus-converter and a pandas script run on the same files too (bench.peers). Prints one table,
the issue's targets met or missed, and writes the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench import child_value, peers
from bench.generate import CHUNK_ROWS

MONTH = "2026-10"
GROUP_BY = (
    "SELECT ServiceName, SubAccountId, sum(EffectiveCost) AS cost FROM cost_line_items "
    "GROUP BY ALL ORDER BY cost DESC LIMIT 20"
)
# Each peer against the finops command that reads the same files (the peers do less: see bench.peers).
PEERS = {
    "focus_converter_parquet": "finops_ingest_parquet",
    "focus_converter_csv": "finops_ingest_csv",
    "pandas_script_parquet": "finops_ingest_parquet",
    "pandas_script_csv": "finops_ingest_csv",
}
BASELINE_ATTRIBUTION = (
    "CREATE TABLE baseline AS SELECT ResourceId, date_trunc('hour', ChargePeriodStart) AS hour, BillingCurrency, "
    "sum(BilledCost), sum(EffectiveCost), sum(ListCost), count(*) FROM cost_line_items GROUP BY ALL"
)


def measure(
    argv: list[str], env: dict[str, str] | None = None, *, allow_failure: bool = False, timeout: float | None = None
) -> dict[str, Any]:
    """Run one command as its own process: wall seconds, peak resident MiB, exit code.

    A failure stops the benchmark unless `allow_failure` (the peers): then any exit but 0 is recorded with
    the last line of its stderr. After `timeout` seconds the command's whole process group is killed.
    """
    with tempfile.TemporaryFile() as stderr:
        started = time.perf_counter()
        child = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True)
        timer = threading.Timer(timeout, os.killpg, (child.pid, signal.SIGKILL)) if timeout else None
        if timer:
            timer.start()
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        if timer:
            timer.cancel()
        stderr.seek(0)
        message = stderr.read().decode(errors="replace").strip()
    code = os.waitstatus_to_exitcode(status)
    result: dict[str, Any] = {"seconds": round(seconds, 3), "peak_mib": round(usage.ru_maxrss / 1024), "exit": code}
    succeeded = (0,) if allow_failure else (0, 1)  # finops exits 1 when it has something to say (alerts)
    if code not in succeeded:
        if not allow_failure:
            raise SystemExit(f"{' '.join(argv[:6])} ... failed ({code}): {message[-400:]}")
        lines = message.splitlines()
        result["error"] = "killed after the timeout" if code == -signal.SIGKILL else (lines[-1] if lines else "")
    return result


def duckdb_script(db: Path, sql: str) -> list[str]:
    """Plain DuckDB in its own process (same library, same machine), for the baselines."""
    code = f"import duckdb; con = duckdb.connect({str(db)!r}); con.execute({sql!r}).fetchall(); con.close()"
    return [sys.executable, "-c", code]


def finops(db: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "finops", "--db", str(db), *args]


def run_size(rows: int, work: Path, memory_limit: str | None = None, peers_bin: Path | None = None) -> dict[str, Any]:
    data = work / "data"
    # Generated in a child process: Linux carries a parent's peak RSS into its children's ru_maxrss,
    # so this process stays small for the memory figures to be the commands' own.
    subprocess.run(
        [sys.executable, "-m", "bench.generate", str(data), "--rows", str(rows), "--month", MONTH],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    parquet = sorted(data.glob("cur2/*/data/*/*.parquet"))
    csv = sorted(data.glob("legacy/*/*/*/*.csv.gz"))
    workloads = data / f"workloads-{MONTH}.csv"
    assert len(parquet) == len(csv) == -(-rows // CHUNK_ROWS), (parquet, csv)
    result: dict[str, Any] = {"line_items": rows}

    plain = work / "plain.duckdb"
    paths = ", ".join(repr(str(p)) for p in parquet)
    result["duckdb_load_parquet"] = measure(
        duckdb_script(plain, f"CREATE TABLE cur2 AS SELECT * FROM read_parquet([{paths}])")
    )
    paths = ", ".join(repr(str(p)) for p in csv)
    result["duckdb_load_csv"] = measure(
        duckdb_script(plain, f"CREATE TABLE legacy AS SELECT * FROM read_csv([{paths}], all_varchar = true)")
    )

    env = {**os.environ, "FINOPS_TEMP_DIRECTORY": str(work / "spill")}
    if memory_limit:
        env["FINOPS_MEMORY_LIMIT"] = memory_limit
    result["memory_limit"] = memory_limit or "finops default (1GB)"
    legacy_db, db = work / "legacy.duckdb", work / "finops.duckdb"
    result["finops_ingest_csv"] = measure(finops(legacy_db, "collect", "aws-cur", str(data / "legacy")), env)
    result["finops_ingest_parquet"] = measure(finops(db, "collect", "aws-cur", str(data / "cur2")), env)
    assert measure(finops(db, "collect", "workloads", str(workloads)), env)["exit"] == 0
    result["finops_collect_dcgm"] = measure(
        finops(db, "collect", "dcgm", str(data / f"dcgm-gpu-util-{MONTH}.json")), env
    )
    result["exact_total"] = child_value("SELECT sum(BilledCost) FROM cost_line_items", legacy_db)
    legacy_db.unlink()  # the CSV store only measured its load: keep the disk for the month being attributed

    scan_db = work / "scan.duckdb"
    shutil.copy(db, scan_db)
    result["duckdb_scan_group_by"] = measure(duckdb_script(scan_db, BASELINE_ATTRIBUTION))
    result["finops_attribute"] = measure(finops(db, "attribute", "--period", MONTH), env)
    result["finops_doctor"] = measure(finops(db, "doctor", "--format", "csv"), env)
    if result["finops_doctor"]["exit"] != 0:  # the month must be consistent for the figures to mean anything
        raise SystemExit(f"finops doctor found problems in {db}: run `finops --db {db} doctor`")

    config = work / "finops.toml"
    config.write_text(
        f'database = "{db}"\n\n[[budgets]]\nname = "ml"\namount = "1000000"\ncurrency = "USD"\n'
        'thresholds = [50, 80, 100]\n\n[[notify]]\nname = "terminal"\ntype = "terminal"\n'
    )
    result["finops_report"] = measure(finops(db, "report", "--period", MONTH, "-o", str(work / "report.html")), env)
    report = work / "report.html"
    result["report_html_kib"] = round(report.stat().st_size / 1024) if report.exists() else None
    as_of = f"{MONTH}-28"
    result["finops_alert"] = measure(
        [sys.executable, "-m", "finops", "--config", str(config), "alert", "--dry-run", "--as-of", as_of], env
    )
    result["finops_sql_group_by"] = measure(finops(db, "sql", GROUP_BY, "--format", "csv"), env)
    result["duckdb_group_by"] = measure(duckdb_script(scan_db, GROUP_BY))

    if peers_bin:
        result.update(peers.run(peers_bin, parquet, csv, work, measure))

    def ratio(a: str, b: str) -> float:
        return round(float(result[a]["seconds"]) / float(result[b]["seconds"]), 2)

    result["ratios"] = {
        "ingest_parquet_vs_duckdb": ratio("finops_ingest_parquet", "duckdb_load_parquet"),
        "ingest_csv_vs_duckdb": ratio("finops_ingest_csv", "duckdb_load_csv"),
        "attribute_vs_duckdb_scan": ratio("finops_attribute", "duckdb_scan_group_by"),
        "sql_vs_duckdb": ratio("finops_sql_group_by", "duckdb_group_by"),
    }
    for peer, ours in PEERS.items():
        if peer in result and "error" not in result[peer]:
            result["ratios"][f"{peer}_vs_finops"] = ratio(peer, ours)
    return result


def table(results: list[dict[str, Any]]) -> str:
    measured = [k for k, v in results[0].items() if isinstance(v, dict) and "seconds" in v]
    lines = [f"{'measure':40}" + "".join(f"{r['line_items']:>22,}" for r in results)]
    for key in measured:
        cells = "".join(f"{r[key]['seconds']:>12.2f} s {r[key]['peak_mib']:>5} MiB" for r in results)
        lines.append(f"{key:40}{cells}")
    for key in results[0]["ratios"]:
        cells = "".join(f"{r['ratios'][key]:>21.2f}x" if key in r["ratios"] else f"{'-':>22}" for r in results)
        lines.append(f"{'ratio ' + key:40}{cells}")
    lines.append(f"{'report HTML size':40}" + "".join(f"{r['report_html_kib']:>18} KiB" for r in results))
    for peer in (p for p in PEERS if p in results[0]):
        for r in results:
            lines.append(f"{peer} at {r['line_items']:,}: {peer_summary(r[peer], r['line_items'], r['exact_total'])}")
    return "\n".join(lines)


def peer_summary(run: dict[str, Any], rows: int, exact: str) -> str:
    """Whether the peer finished and read every line; for the pandas script, how far its float total is off."""
    if "error" in run:
        return f"FAILED after {run['seconds']:.2f} s: {run['error'][:200]}"
    said = f"{run.get('rows', 0):,} of {rows:,} lines out"
    if "total" in run:
        off = Decimal(run["total"]) - Decimal(exact)
        said += f"; total {run['total']} vs exact {exact} ({off:+.2E} off)"
    return said


def targets(results: list[dict[str, Any]]) -> list[str]:
    """The issue's targets, each met or missed, at the largest size run (and 10M against 1M when both ran)."""
    big = max(results, key=lambda r: r["line_items"])
    ratios, n = big["ratios"], f"{big['line_items']:,}"
    checks = [
        (f"ingest Parquet within 2x of DuckDB ({n})", ratios["ingest_parquet_vs_duckdb"], 2.0),
        (f"ingest CSV.gz within 2x of DuckDB ({n})", ratios["ingest_csv_vs_duckdb"], 2.0),
        (f"ingest peak memory under 2 GiB ({n}, MiB)", big["finops_ingest_parquet"]["peak_mib"], 2048),
        (f"ingest CSV peak memory under 2 GiB ({n}, MiB)", big["finops_ingest_csv"]["peak_mib"], 2048),
        (f"attribution within 10x of a DuckDB scan ({n})", ratios["attribute_vs_duckdb_scan"], 10.0),
        (f"finops alert under 1 s ({n})", big["finops_alert"]["seconds"], 1.0),
        (f"finops report under 5 s ({n})", big["finops_report"]["seconds"], 5.0),
    ]
    sizes = {r["line_items"]: r for r in results}
    if 1_000_000 in sizes and 10_000_000 in sizes:
        for key in ("finops_ingest_parquet", "finops_ingest_csv"):
            growth = sizes[10_000_000][key]["seconds"] / sizes[1_000_000][key]["seconds"]
            checks.append((f"{key} time at 10M <= 12x time at 1M", round(growth, 2), 12.0))
    return [
        f"{'met' if value <= limit else 'MISSED':7}{name}: {value} (limit {limit})" for name, value, limit in checks
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--also-10m", action="store_true", help="also run at 10,000,000 line items")
    parser.add_argument("--json", type=Path, default=Path("bench-results.json"))
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temporary one)")
    parser.add_argument(
        "--memory-limit", help="[store] memory_limit for the finops commands (default: finops's own, 1GB)"
    )
    parser.add_argument(
        "--peers", action="store_true", help="also run focus-converter and a pandas script on the same files"
    )
    parser.add_argument("--peers-venv", type=Path, default=Path.home() / ".cache" / "finops-bench" / "peers")
    args = parser.parse_args()
    peers_bin = peers.install(args.peers_venv) if args.peers else None
    sizes = [args.rows, *([10_000_000] if args.also_10m else [])]
    results = []
    for rows in sizes:
        with tempfile.TemporaryDirectory(prefix="finops-bench-") as tmp:
            work = (args.keep / str(rows)) if args.keep else Path(tmp)
            work.mkdir(parents=True, exist_ok=True)
            print(f"running {rows:,} line items in {work} ...", file=sys.stderr)
            results.append(run_size(rows, work, args.memory_limit, peers_bin))
    machine = f"{platform.machine()} {os.cpu_count()} cores, python {platform.python_version()}"
    print(f"machine: {machine}")
    print(table(results))
    print("\n".join(targets(results)))
    args.json.write_text(json.dumps({"machine": machine, "results": results}, indent=2) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
