"""The peers a user would otherwise reach for, run by the benchmark on the same generated files as finops.

- The FinOps Foundation's focus_converters (`focus-converter convert`, on PyPI as focus-converter): Polars
  plans over an eager `read_csv` of each legacy CUR file, CUR 2.0 Parquet read as a dataset in batches.
  It converts to FOCUS columns and writes Parquet; it keeps no store, checks no totals and replaces
  nothing.
- A plain pandas script: read the columns it needs from every file, sum the cost per day, service and
  account in float64, write the summary as CSV. Less work than either converter, and inexact.

Neither is a dependency of finops. `python -m bench --peers` installs them from PyPI into their own
virtual environment (`--peers-venv`, default ~/.cache/finops-bench/peers), pinned to what runs today:
focus-converter 1.0.0 (its last release) leaves its requirements open, and its typer 0.9 needs
click < 8.2 and its pandera 0.17 needs multimethod < 1.11.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench import child_value

REQUIREMENTS = ("focus-converter==1.0.0", "click<8.2", "multimethod<1.11", "pandas")
TIMEOUT_SECONDS = 3600  # focus-converter waits forever for its writer processes when its plan fails

PANDAS_SCRIPT = """
import sys
import pandas as pd

fmt, out, *files = sys.argv[1:]
if fmt == "parquet":
    names = ["line_item_usage_start_date", "line_item_product_code", "line_item_usage_account_id",
             "line_item_unblended_cost"]
    frames = [pd.read_parquet(f, columns=names) for f in files]
else:
    names = ["lineItem/UsageStartDate", "lineItem/ProductCode", "lineItem/UsageAccountId", "lineItem/UnblendedCost"]
    frames = [pd.read_csv(f, usecols=names, dtype={"lineItem/UsageAccountId": str}) for f in files]
df = pd.concat(frames, ignore_index=True)[names]
df.columns = ["day", "service", "account", "cost"]
df["day"] = pd.to_datetime(df["day"], utc=True).dt.date
summary = df.groupby(["day", "service", "account"]).agg(cost=("cost", "sum"), lines=("cost", "size"))
summary.reset_index().to_csv(out, index=False)
"""

Measure = Callable[..., dict[str, Any]]


def install(venv: Path) -> Path:
    """The peers' own virtual environment, created and filled from PyPI when missing; its bin folder."""
    bin_dir = venv / "bin"
    marker = venv / "finops-bench-requirements.txt"
    if marker.exists() and marker.read_text() == "\n".join(REQUIREMENTS):
        return bin_dir
    print(f"installing the peers into {venv} ({', '.join(REQUIREMENTS)}) ...", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(bin_dir / "pip"), "install", "--quiet", *REQUIREMENTS], check=True)
    marker.write_text("\n".join(REQUIREMENTS))
    return bin_dir


def _output_rows(folder: Path) -> int:
    files = sorted(folder.rglob("*.parquet"))
    if not files:
        return 0
    paths = ", ".join(repr(str(p)) for p in files)
    return int(child_value(f"SELECT count(*) FROM read_parquet([{paths}])"))


def _each(measure: Measure, argvs: list[list[str]]) -> dict[str, Any]:
    """One process per file, as the tool takes one file at a time: seconds summed, peak the largest."""
    runs = [measure(argv, allow_failure=True, timeout=TIMEOUT_SECONDS) for argv in argvs]
    failed = [r for r in runs if r["exit"] != 0]
    return {
        "seconds": round(sum(r["seconds"] for r in runs), 3),
        "peak_mib": max(r["peak_mib"] for r in runs),
        "exit": failed[0]["exit"] if failed else 0,
        **({"error": failed[0]["error"]} if failed else {}),
    }


def run(bin_dir: Path, parquet: list[Path], legacy: list[Path], work: Path, measure: Measure) -> dict[str, Any]:
    """Each peer on the CUR 2.0 Parquet and the legacy CSV.gz files; what it wrote, to check it read every row."""
    out = work / "peers"
    converter = str(bin_dir / "focus-converter")
    result: dict[str, Any] = {}
    target = out / "focus-converter-parquet"
    result["focus_converter_parquet"] = measure(
        [converter, "convert", "--provider", "aws", "--data-format", "parquet", "--parquet-data-format", "dataset",
         "--data-path", str(parquet[0].parent), "--export-path", f"{target}/"],
        allow_failure=True,
        timeout=TIMEOUT_SECONDS,
    )  # fmt: skip
    result["focus_converter_parquet"]["rows"] = _output_rows(target)
    target = out / "focus-converter-csv"
    result["focus_converter_csv"] = _each(
        measure,
        [
            [converter, "convert", "--provider", "aws-cur", "--data-format", "csv", "--data-path", str(path),
             "--export-path", f"{target / path.name}/"]
            for path in legacy
        ],
    )  # fmt: skip
    result["focus_converter_csv"]["rows"] = _output_rows(target)
    for fmt, files in (("parquet", parquet), ("csv", legacy)):
        summary = out / f"pandas-{fmt}.csv"
        key = f"pandas_script_{fmt}"
        result[key] = measure(
            [str(bin_dir / "python"), "-c", PANDAS_SCRIPT, fmt, str(summary), *map(str, files)],
            allow_failure=True,
            timeout=TIMEOUT_SECONDS,
        )
        if summary.exists():
            lines, total = _summary_totals(summary)
            result[key].update(rows=lines, total=str(total))
    return result


def _summary_totals(summary: Path) -> tuple[int, Decimal]:
    """Lines read and the cost a pandas user would report: the sum of the summary's float sums, as written."""
    with summary.open(newline="") as f:
        rows = list(csv.DictReader(f))
    return sum(int(r["lines"]) for r in rows), sum((Decimal(r["cost"]) for r in rows), Decimal(0))
