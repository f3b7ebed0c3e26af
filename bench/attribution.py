"""Attribution throughput on the generated demo month, against a plain DuckDB scan-and-aggregate.

    python -m bench.attribution [--rows 1000000] [--repeat 3] [--json out.json]

Generates the demo month (bill, workloads, telemetry) at --rows line items into a temporary store,
then times, in the same run, `finops attribute` for the month (read, allocate, write) and a DuckDB
baseline that scans the same line items and writes their cost per resource and hour to a table (what
any attribution must at least do).
Reports the best of --repeat runs of each and their ratio; the machine's noise cancels in the ratio.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

from finops import allocations, config, store
from finops.demo.load import load_demo

MONTH = "2026-10"
BASELINE = """
SELECT ResourceId, date_trunc('hour', ChargePeriodStart) AS hour, BillingCurrency,
       sum(BilledCost), sum(EffectiveCost), sum(ListCost), count(*)
FROM cost_line_items GROUP BY ALL
"""


def best(repeat: int, work) -> float:
    """The fastest of `repeat` timed runs of `work()`, in seconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = config.Settings(database=Path(tmp) / "bench.duckdb")
        con = store.connect(settings)
        started = time.perf_counter()
        load_demo(con, Path(tmp) / "data", args.rows, 7, MONTH)
        load_seconds = time.perf_counter() - started
        baseline = best(args.repeat, lambda: con.execute(f"CREATE OR REPLACE TEMP TABLE _baseline AS {BASELINE}"))
        attribution = best(args.repeat, lambda: allocations.attribute_period(con, MONTH, settings.attribution))
        allocated = con.execute("SELECT count(*) FROM allocations").fetchone()
        con.close()
    result = {
        "machine": f"{platform.machine()} {platform.processor() or ''} python {platform.python_version()}".strip(),
        "line_items": args.rows,
        "allocations": allocated[0] if allocated else 0,
        "demo_generate_and_load_s": round(load_seconds, 3),
        "baseline_scan_aggregate_s": round(baseline, 3),
        "attribute_s": round(attribution, 3),
        "attribute_line_items_per_s": round(args.rows / attribution),
        "ratio_attribute_to_baseline": round(attribution / baseline, 1),
    }
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"{key.ljust(width)}  {value}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
