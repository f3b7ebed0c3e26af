"""Write the hostile-input corpus: broken, hostile and odd inputs for every reader finops has.

Run from the repository root: `python -m tests.corpus.make_corpus` (it rewrites tests/corpus/ and
README.md there). Every case is one file or folder, one `finops` command and the expected outcome:
a one-line error containing `expect` (exit 2, store unchanged), or a documented tolerance (`ok`).
The output is deterministic (gzip mtime 0), so regenerating changes no bytes.
"""

from __future__ import annotations

import codecs
import gzip
import io
import json
import random
import shutil
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent
FIXTURES = ROOT.parent.parent / "fixtures"
BOMB_MB = 64  # each bomb expands a few dozen KB of gzip to this many MB


@dataclass(frozen=True)
class Case:
    """One corpus entry: where it lives, the command that reads it, and what must happen."""

    path: str  # relative to tests/corpus
    what: str
    argv: tuple[str, ...]  # `{}` is replaced by the case's absolute path
    expect: str  # "ok" or a substring of the one-line error
    check: str = ""  # for "ok": SQL whose single value must equal `value`
    value: str = ""


# ---------------------------------------------------------------- base inputs


def focus_text() -> str:
    """Three lines of the report fixture bill (USD, one EUR line kept out): header + 3 rows."""
    lines = (FIXTURES / "report" / "bill.csv").read_text(encoding="utf-8").splitlines()
    return "\n".join(lines[:4]) + "\n"


def focus_cell(text: str, column: str, row: int, value: str) -> str:
    """The FOCUS text with one cell replaced (rows counted from 1, header excluded)."""
    import csv

    rows = list(csv.reader(io.StringIO(text)))
    rows[row][rows[0].index(column)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def edit_line(text: str, number: int, change: Callable[[str], str]) -> str:
    """The text with line `number` (0 = the header) changed."""
    lines = text.splitlines()
    lines[number] = change(lines[number])
    return "\n".join(lines) + "\n"


def gz(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as fh:
        fh.write(data)
    return buffer.getvalue()


def bomb(unit: bytes = b"0", head: bytes = b"") -> bytes:
    """A small gzip stream: `head`, then BOMB_MB MiB of `unit` (deflate's ratio is at most ~1000:1)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip container
    chunk = unit * (1 << 20)
    body = compressor.compress(head) + b"".join(compressor.compress(chunk) for _ in range(BOMB_MB))
    body += compressor.flush()
    return body[:4] + b"\x00\x00\x00\x00" + body[8:]  # zero the mtime field: deterministic bytes


def truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def corrupt(data: bytes) -> bytes:
    """A gzip stream whose compressed body is overwritten with noise after the header."""
    noise = random.Random(7).randbytes(max(64, len(data) - 10))
    return data[:10] + noise


def gcp_lines() -> list[str]:
    return (FIXTURES / "gcp" / "billing-export-detailed.ndjson").read_text(encoding="utf-8").splitlines()[:3]


def gcp_with(field: str, raw: str) -> str:
    """The first GCP export line with a top-level field's JSON text replaced by `raw` (may be invalid JSON)."""
    first = json.loads(gcp_lines()[0])
    first[field] = "@@"
    return json.dumps(first).replace('"@@"', raw) + "\n"


def cur_rows(cost: str = "98.32", **fields: str) -> list[dict[str, object]]:
    from tests.test_aws_layouts import line

    return [
        line("Usage", cost, "2025-01", tags={"team": "nlp"}, line_item_resource_id="i-0a1", **fields),
        line("Usage", "1.5", "2025-01", hour=9, tags={"team": "vision"}, line_item_resource_id="i-0b2"),
    ]


def legacy(
    root: Path, rows: list[dict[str, object]] | None = None, edit: Callable[[dict[str, bytes]], None] | None = None
) -> None:
    from tests.test_aws_layouts import legacy_report, write_local

    tree, _ = legacy_report(rows or cur_rows(), "2025-01", "asm-1", chunks=1)
    if edit:
        edit(tree)
    write_local(tree, root)


def cur2(
    root: Path, rows: list[dict[str, object]] | None = None, edit: Callable[[dict[str, bytes]], None] | None = None
) -> None:
    from tests.test_aws_layouts import cur2_export, write_local

    tree = cur2_export(rows or cur_rows(), "2025-01", "exec-1", files=1)
    if edit:
        edit(tree)
    write_local(tree, root)


def manifest_key(tree: dict[str, bytes], period_level: bool = True) -> list[str]:
    return [k for k in tree if k.endswith("Manifest.json")]


def set_manifest(tree: dict[str, bytes], field: str, value: object) -> None:
    for key in manifest_key(tree):
        manifest = json.loads(tree[key])
        manifest[field] = value
        tree[key] = json.dumps(manifest).encode()


def duplicate_manifest_key(tree: dict[str, bytes], field: str, value: object) -> None:
    """Write the manifest with `field` twice: the real value first, then another."""
    for key in manifest_key(tree):
        text = tree[key].decode()
        tree[key] = (text[:-1] + f', "{field}": {json.dumps(value)}}}').encode()


def data_key(tree: dict[str, bytes]) -> str:
    return next(k for k in tree if not k.endswith("Manifest.json"))


def map_data(tree: dict[str, bytes], change: Callable[[bytes], bytes]) -> None:
    key = data_key(tree)
    tree[key] = change(tree[key])


def legacy_text(tree: dict[str, bytes], change: Callable[[str], str]) -> None:
    map_data(tree, lambda body: gz(change(gzip.decompress(body).decode()).encode("utf-8")))


def mlflow(root: Path, meta: str | None = None, metric: str | None = None, tag: tuple[str, str] | None = None) -> None:
    """One MLflow file-store run copied from the fixture, with its meta.yaml or a metric file replaced."""
    source = FIXTURES / "mlflow" / "mlruns" / "472983756120398745"
    run = "c7e5a3b1d9f84e26b4c2a0e8f6d4b2a9"
    target = root / "mlruns" / "472983756120398745"
    target.mkdir(parents=True)
    shutil.copy(source / "meta.yaml", target / "meta.yaml")
    shutil.copytree(source / run / "tags", target / run / "tags")
    (target / run / "metrics" / "system" / "gpu-node-03").mkdir(parents=True)
    (target / run / "meta.yaml").write_bytes(
        (source / run / "meta.yaml").read_bytes() if meta is None else meta.encode()
    )
    (target / run / "metrics" / "system" / "gpu-node-03" / "gpu_0_utilization_percentage").write_text(
        metric or "1736987400500 85.5 0\n1736987410500 89.0 1\n"
    )
    if tag:
        (target / run / "tags" / tag[0]).write_text(tag[1])


# ---------------------------------------------------------------- the cases

FOCUS = ("collect", "focus", "{}")
LEGACY = ("collect", "aws-cur", "{}")
GCP = ("collect", "gcp-billing", "--path", "{}")
DCGM = ("collect", "dcgm", "{}")
SMI = ("collect", "nvidia-smi", "--host", "gpu01", "--timezone", "UTC", "{}")
SLURM = ("collect", "slurm", "--cluster", "c1", "--timezone", "UTC", "{}")
MLFLOW = ("collect", "mlflow", "--path", "{}/mlruns")
WORKLOADS = ("collect", "workloads", "{}")
CONFIG = ("--config", "{}", "doctor")
ROWS = "SELECT count(*) FROM cost_line_items"
FOCUS_ROWS = "4"  # the baseline bill's (account 111111111111, 2025-10) scope restated by the file's 2 lines

CASES: list[tuple[Case, Callable[[Path], None]]] = []


def case(path: str, what: str, argv: tuple[str, ...], expect: str, check: str = "", value: str = ""):
    def register(build: Callable[[Path], None]) -> Callable[[Path], None]:
        CASES.append((Case(path, what, argv, expect, check, value), build))
        return build

    return register


def text_file(path: str, what: str, argv: tuple[str, ...], expect: str, data: Callable[[], bytes], **kw: str) -> None:
    def build(target: Path) -> None:
        target.write_bytes(data())

    case(path, what, argv, expect, **kw)(build)


F = focus_text
text_file(
    "focus/truncated.csv.gz",
    "gzip stream cut in half",
    FOCUS,
    "gzip stream is truncated",
    lambda: truncated(gz(F().encode() * 50)),
)
text_file(
    "focus/corrupt.csv.gz", "gzip header followed by noise", FOCUS, "gzip", lambda: corrupt(gz(F().encode() * 50))
)
text_file("focus/not-gzip.csv.gz", "plain CSV named .gz", FOCUS, "not gzip-compressed", lambda: F().encode())
text_file(
    "focus/bomb.csv.gz",
    f"~64 KB of gzip expanding to {BOMB_MB} MiB of one line (header read stops at 4 MiB)",
    FOCUS,
    "not a CSV header",
    lambda: bomb(),
)
text_file(
    "focus/bomb-lines.csv.gz",
    f"a header, then gzip expanding to {BOMB_MB} MiB of empty lines (streamed)",
    FOCUS,
    "cannot read",
    lambda: bomb(b"\n", F().splitlines()[0].encode() + b"\n"),
)
text_file(
    "focus/latin1.csv",
    "latin-1 bytes (é) in a name",
    FOCUS,
    "UTF-8",
    lambda: F().replace("ml-research", "ml-récherche").encode("latin-1"),
)
text_file("focus/utf16.csv", "UTF-16 with BOM", FOCUS, "UTF-8", lambda: F().encode("utf-16"))
text_file(
    "focus/bom.csv",
    "UTF-8 with BOM: tolerated, BOM stripped",
    FOCUS,
    "ok",
    lambda: codecs.BOM_UTF8 + F().encode(),
    check=ROWS,
    value=FOCUS_ROWS,
)
text_file(
    "focus/crlf.csv",
    "CRLF line ends: tolerated",
    FOCUS,
    "ok",
    lambda: F().replace("\n", "\r\n").encode(),
    check="SELECT count(*) FROM cost_line_items WHERE ChargeDescription LIKE '%\r%'",
    value="0",
)
text_file(
    "focus/ragged-short.csv",
    "a row missing its last fields",
    FOCUS,
    "line 3",
    lambda: edit_line(F(), 2, lambda row: row.rsplit(",", 5)[0]).encode(),
)
text_file(
    "focus/ragged-long.csv",
    "a row with extra fields",
    FOCUS,
    "line 3",
    lambda: edit_line(F(), 2, lambda row: row + ",x,y").encode(),
)
text_file(
    "focus/duplicate-header.csv",
    "BilledCost twice in the header",
    FOCUS,
    "BilledCost",
    lambda: F().replace("EffectiveCost", "BilledCost", 1).encode(),
)
text_file(
    "focus/huge-field.csv.gz",
    "a 3 MiB ChargeDescription",
    FOCUS,
    "Maximum line size",
    lambda: gz(focus_cell(F(), "ChargeDescription", 1, "A" * (3 << 20)).encode()),
)
text_file(
    "focus/nan-cost.csv",
    "BilledCost NaN",
    FOCUS,
    "BilledCost",
    lambda: focus_cell(F(), "BilledCost", 1, "NaN").encode(),
)
text_file(
    "focus/infinity-cost.csv",
    "BilledCost Infinity",
    FOCUS,
    "BilledCost",
    lambda: focus_cell(F(), "BilledCost", 1, "Infinity").encode(),
)
text_file(
    "focus/1e400-cost.csv",
    "BilledCost 1e400",
    FOCUS,
    "BilledCost",
    lambda: focus_cell(F(), "BilledCost", 1, "1e400").encode(),
)
text_file(
    "focus/exponent-cost.csv",
    "BilledCost 1.5E2: tolerated, read exactly as 150",
    FOCUS,
    "ok",
    lambda: focus_cell(F(), "BilledCost", 1, "1.5E2").encode(),
    check="SELECT count(*) FROM cost_line_items WHERE BilledCost = 150",
    value="1",
)
text_file(
    "focus/39-digits.csv",
    "a 39-digit BilledCost",
    FOCUS,
    "BilledCost",
    lambda: focus_cell(F(), "BilledCost", 1, "1" * 39).encode(),
)
text_file(
    "focus/21-integer-digits.csv",
    "21 integer digits (DECIMAL(38,18) holds 20)",
    FOCUS,
    "BilledCost",
    lambda: focus_cell(F(), "BilledCost", 1, "1" * 21 + ".5").encode(),
)
text_file(
    "focus/19-decimals.csv",
    "19 decimal places: tolerated, rounded half-up to the store's 18",
    FOCUS,
    "ok",
    lambda: focus_cell(F(), "BilledCost", 1, "0.1234567890123456789").encode(),
    check="SELECT count(*) FROM cost_line_items WHERE BilledCost = 0.123456789012345679",
    value="1",
)
text_file(
    "focus/year-99999.csv",
    "ChargePeriodStart in year 99999",
    FOCUS,
    "ChargePeriodStart",
    lambda: focus_cell(F(), "ChargePeriodStart", 1, "99999-01-01T00:00:00Z").encode(),
)
text_file(
    "focus/month-13.csv",
    "ChargePeriodStart 2025-13-45",
    FOCUS,
    "ChargePeriodStart",
    lambda: focus_cell(F(), "ChargePeriodStart", 1, "2025-13-45T00:00:00Z").encode(),
)
text_file(
    "focus/offset-time.csv",
    "times with a +02:00 offset: tolerated, stored in UTC",
    FOCUS,
    "ok",
    lambda: focus_cell(F(), "ChargePeriodStart", 1, "2025-09-10T12:00:00+02:00").encode(),
    check="SELECT strftime(min(ChargePeriodStart), '%Y-%m-%dT%H:%M') FROM cost_line_items WHERE BilledCost = 100",
    value="2025-09-10T10:00",
)
text_file(
    "focus/negative-duration.csv",
    "ChargePeriodEnd before ChargePeriodStart",
    FOCUS,
    "ChargePeriodEnd",
    lambda: focus_cell(F(), "ChargePeriodEnd", 1, "2025-09-10T09:00:00Z").encode(),
)
text_file("focus/empty.csv", "an empty file", FOCUS, "empty", lambda: b"")
text_file(
    "focus/header-only.csv", "a header and no rows", FOCUS, "no rows", lambda: F().splitlines()[0].encode() + b"\n"
)
text_file("focus/binary.csv", "random bytes", FOCUS, "not UTF-8", lambda: random.Random(1).randbytes(4096))

# ---- AWS CUR legacy (CSV.gz chunks + manifests) and CUR 2.0 (Parquet + manifest)
case("cur-legacy/traversal", "reportKeys naming ../../../../etc/passwd", LEGACY, "not under")(
    lambda root: legacy(root, edit=lambda t: set_manifest(t, "reportKeys", ["../../../../../../etc/passwd"]))
)
case("cur-legacy/absolute-key", "reportKeys naming /etc/passwd", LEGACY, "not under")(
    lambda root: legacy(root, edit=lambda t: set_manifest(t, "reportKeys", ["/etc/passwd"]))
)
case("cur-legacy/duplicate-manifest-keys", "reportKeys twice in one manifest", LEGACY, "reportKeys")(
    lambda root: legacy(root, edit=lambda t: duplicate_manifest_key(t, "reportKeys", ["cur/other.csv.gz"]))
)
case("cur-legacy/manifest-not-json", "a manifest that is not JSON", LEGACY, "invalid JSON")(
    lambda root: legacy(root, edit=lambda t: [t.__setitem__(k, b"{not json") for k in manifest_key(t)])
)
case("cur-legacy/truncated-chunk", "a data chunk cut in half", LEGACY, "truncated")(
    lambda root: legacy(root, edit=lambda t: map_data(t, truncated))
)
case("cur-legacy/nan-cost", "lineItem/UnblendedCost NaN", LEGACY, "UnblendedCost")(
    lambda root: legacy(root, cur_rows("NaN"))
)
case("cur-legacy/39-digits", "a 39-digit lineItem/UnblendedCost", LEGACY, "UnblendedCost")(
    lambda root: legacy(root, cur_rows("9" * 39))
)
case("cur-legacy/latin1", "latin-1 bytes in a chunk", LEGACY, "UTF-8")(
    lambda root: legacy(root, edit=lambda t: map_data(t, lambda b: gz(gzip.decompress(b).replace(b"nlp", b"nl\xe9"))))
)
case("cur-legacy/crlf", "CRLF line ends: tolerated", LEGACY, "ok", check=ROWS, value="11")(
    lambda root: legacy(root, edit=lambda t: legacy_text(t, lambda s: s.replace("\n", "\r\n")))
)
case("cur-legacy/bomb", f"a chunk that expands to {BOMB_MB} MiB of one line", LEGACY, "not a CSV header")(
    lambda root: legacy(root, edit=lambda t: map_data(t, lambda b: bomb()))
)
case("cur2/traversal", "dataFiles naming s3://bucket/../../etc/passwd", LEGACY, "not under")(
    lambda root: cur2(root, edit=lambda t: set_manifest(t, "dataFiles", ["s3://cur-bucket/../../../../etc/passwd"]))
)
case("cur2/duplicate-manifest-keys", "dataFiles twice in one manifest", LEGACY, "dataFiles")(
    lambda root: cur2(root, edit=lambda t: duplicate_manifest_key(t, "dataFiles", ["s3://cur-bucket/x.parquet"]))
)
case("cur2/truncated-parquet", "a Parquet file cut in half", LEGACY, "Parquet")(
    lambda root: cur2(root, edit=lambda t: map_data(t, truncated))
)
case("cur2/not-parquet", "CSV text named .parquet", LEGACY, "Parquet")(
    lambda root: cur2(root, edit=lambda t: map_data(t, lambda b: F().encode()))
)
case("cur2/infinity-cost", "line_item_unblended_cost +Infinity (DOUBLE)", LEGACY, "unblended_cost")(
    lambda root: cur2(root, cur_rows("Infinity"))
)
case("cur2/nan-cost", "line_item_unblended_cost NaN (DOUBLE)", LEGACY, "unblended_cost")(
    lambda root: cur2(root, cur_rows("NaN"))
)

# ---- GCP billing export (NDJSON)
G = lambda: "\n".join(gcp_lines()) + "\n"  # noqa: E731
text_file(
    "gcp/truncated.ndjson.gz", "gzip stream cut in half", GCP, "truncated", lambda: truncated(gz(G().encode() * 20))
)
text_file(
    "gcp/bad-json-line.ndjson",
    "line 2 is not JSON",
    GCP,
    "line 2",
    lambda: (gcp_lines()[0] + '\n{"cost": 1,\n' + gcp_lines()[2] + "\n").encode(),
)
text_file(
    "gcp/nan-cost.ndjson",
    "cost: NaN (not JSON)",
    GCP,
    "cost: 'NaN' is not a number",
    lambda: gcp_with("cost", "NaN").encode(),
)
text_file("gcp/1e400-cost.ndjson", "cost: 1e400", GCP, "cost", lambda: gcp_with("cost", "1e400").encode())
text_file(
    "gcp/huge-integer-cost.ndjson", "cost: a 40-digit integer", GCP, "cost", lambda: gcp_with("cost", "9" * 40).encode()
)
text_file(
    "gcp/string-cost.ndjson", 'cost: "12.5" (a string)', GCP, "cost", lambda: gcp_with("cost", '"twelve"').encode()
)
text_file(
    "gcp/year-99999.ndjson",
    "usage_start_time in year 99999",
    GCP,
    "usage_start_time",
    lambda: gcp_with("usage_start_time", '"99999-01-10 08:00:00 UTC"').encode(),
)
text_file("gcp/utf16.ndjson", "UTF-16 with BOM", GCP, "UTF-8", lambda: G().encode("utf-16"))
text_file(
    "gcp/bom.ndjson", "a UTF-8 BOM (BigQuery never writes one)", GCP, "BOM", lambda: codecs.BOM_UTF8 + G().encode()
)
text_file(
    "gcp/crlf.ndjson",
    "CRLF line ends: tolerated",
    GCP,
    "ok",
    lambda: G().replace("\n", "\r\n").encode(),
    check="SELECT count(*) FROM cost_line_items WHERE x_Provider = 'gcp'",
    value="3",
)
text_file(
    "gcp/duplicate-keys.ndjson",
    'a record with "cost" twice',
    GCP,
    "cost",
    lambda: (gcp_lines()[0][:-1] + ', "cost": 999999}\n').encode(),
)
text_file(
    "gcp/bomb.ndjson.gz",
    f"gzip expanding to {BOMB_MB} MiB of spaces (read up to 16 MiB)",
    GCP,
    "longer than 16 MiB",
    lambda: bomb(b" "),
)

# ---- DCGM / Prometheus
DCGM_JSON = (FIXTURES / "dcgm" / "query_range-node-a100-1.json").read_text(encoding="utf-8")
text_file("dcgm/not-json.json", "a query_range file that is not JSON", DCGM, "JSON", lambda: DCGM_JSON[:200].encode())
text_file(
    "dcgm/error-status.json",
    "a Prometheus error response",
    DCGM,
    "error",
    lambda: b'{"status":"error","errorType":"bad_data","error":"parse error"}',
)
text_file(
    "dcgm/nan-values.json",
    "sample values NaN and +Inf: tolerated, dropped",
    DCGM,
    "ok",
    lambda: DCGM_JSON.replace('"61300"', '"NaN"').replace('"61400"', '"+Inf"').encode(),
    check="SELECT count(*) FROM gpu_samples WHERE isnan(coalesce(memory_used_mib, 0)) OR isinf(coalesce(memory_used_mib, 0))",
    value="0",
)
text_file(
    "dcgm/1e400-timestamp.json",
    "a sample timestamp of 1e400",
    DCGM,
    "finite time",
    lambda: DCGM_JSON.replace("[1759320060,", "[1e400,", 1).encode(),
)
text_file(
    "dcgm/truncated.prom",
    "a scrape file cut mid-line",
    DCGM,
    "line 5",
    lambda: (FIXTURES / "dcgm" / "federate-node-h100-2.prom").read_bytes()[:1500],
)

# ---- nvidia-smi CSV logs
SMI_TEXT = (FIXTURES / "nvidia-smi" / "gpu01.csv").read_text(encoding="utf-8")
text_file("nvidia-smi/utf16.csv", "UTF-16 with BOM", SMI, "UTF-8", lambda: SMI_TEXT.encode("utf-16"))
text_file(
    "nvidia-smi/ragged.csv",
    "a row missing fields",
    SMI,
    "line 3",
    lambda: edit_line(SMI_TEXT, 2, lambda row: row.rsplit(",", 4)[0]).encode(),
)
text_file(
    "nvidia-smi/bad-date.csv",
    "timestamp 2025/13/45",
    SMI,
    "line 2",
    lambda: SMI_TEXT.replace("2025/01/10 09:00:00.512", "2025/13/45 09:00:00.512").encode(),
)
text_file(
    "nvidia-smi/bom-crlf.csv",
    "UTF-8 BOM and CRLF: tolerated",
    SMI,
    "ok",
    lambda: codecs.BOM_UTF8 + SMI_TEXT.replace("\n", "\r\n").encode(),
    check="SELECT count(*) > 0 FROM gpu_samples",
    value="True",
)
text_file(
    "nvidia-smi/bomb.csv.gz",
    f"gzip expanding to {BOMB_MB} MiB of newlines",
    SMI,
    "decompression bomb",
    lambda: bomb(b"\n"),
)

# ---- Slurm sacct
SACCT = (FIXTURES / "slurm" / "sacct-2025-01-10.txt").read_text(encoding="utf-8")
text_file(
    "slurm/latin1.txt",
    "latin-1 bytes in a user name",
    SLURM,
    "UTF-8",
    lambda: SACCT.replace("alice", "alicé").encode("latin-1"),
)
text_file(
    "slurm/negative-elapsed.txt",
    "End before Start, negative ElapsedRaw",
    SLURM,
    "ElapsedRaw",
    lambda: SACCT.replace(
        "|2025-01-10T08:00:00|2025-01-10T10:00:00|7200|", "|2025-01-10T10:00:00|2025-01-10T08:00:00|-7200|", 1
    ).encode(),
)
text_file(
    "slurm/year-99999.txt",
    "Start in year 99999",
    SLURM,
    "Start",
    lambda: SACCT.replace("2025-01-10T08:00:00", "99999-01-10T08:00:00", 1).encode(),
)
text_file(
    "slurm/ragged.txt",
    "a job line missing fields",
    SLURM,
    "line 2",
    lambda: edit_line(SACCT, 1, lambda row: "|".join(row.split("|")[:5])).encode(),
)

# ---- MLflow file store
case("mlflow/bad-meta", "a run's meta.yaml that is not YAML", MLFLOW, "meta.yaml")(
    lambda root: mlflow(root, meta="run_id: [unclosed\n  : :")
)
case("mlflow/huge-start-time", "start_time 1e30 ms", MLFLOW, "start_time")(
    lambda root: mlflow(
        root,
        meta=(FIXTURES / "mlflow" / "mlruns" / "472983756120398745" / "c7e5a3b1d9f84e26b4c2a0e8f6d4b2a9" / "meta.yaml")
        .read_text()
        .replace("start_time: 1736985600000", "start_time: 1000000000000000000000000000000"),
    )
)
case(
    "mlflow/nan-metric",
    "a GPU metric of NaN: tolerated, kept as an empty (NULL) sample",
    MLFLOW,
    "ok",
    check="SELECT count(*) FROM gpu_samples WHERE source = 'mlflow' AND utilization IS NULL",
    value="1",
)(lambda root: mlflow(root, metric="1736987400500 NaN 0\n1736987410500 89.0 1\n"))

# ---- workload manifests
WL = (FIXTURES / "report" / "workloads.csv").read_text(encoding="utf-8")
text_file(
    "workloads/duplicate-keys.json",
    "an object with workload_id twice",
    WORKLOADS,
    "workload_id",
    lambda: b'[{"workload_id": "run-a", "kind": "training", "workload_id": "run-b", "start": "2025-10-03T10:00:00Z"}]',
)
text_file(
    "workloads/negative-duration.csv",
    "end before start",
    WORKLOADS,
    "before it starts",
    lambda: WL.replace(
        "2025-10-03T10:00:00Z,2025-10-03T11:00:00Z,i-0aaa", "2025-10-03T11:00:00Z,2025-10-03T10:00:00Z,i-0aaa", 1
    ).encode(),
)
text_file(
    "workloads/1e400-gpus.csv",
    "gpus = 1e400",
    WORKLOADS,
    "gpus",
    lambda: WL.replace("i-0aaa,4,", "i-0aaa,1e400,", 1).encode(),
)
text_file(
    "workloads/latin1.csv",
    "latin-1 bytes in a name",
    WORKLOADS,
    "UTF-8",
    lambda: WL.replace("llm pretrain", "llm prétrain").encode("latin-1"),
)
text_file(
    "workloads/duplicate-header.csv",
    "the start column twice",
    WORKLOADS,
    "start",
    lambda: WL.replace(",end,", ",start,", 1).encode(),
)

# ---- finops.toml
text_file(
    "config/duplicate-key.toml",
    "database set twice",
    CONFIG,
    "not valid TOML",
    lambda: b'database = "a.duckdb"\ndatabase = "b.duckdb"\n',
)
text_file(
    "config/utf16.toml", "UTF-16 with BOM", CONFIG, "not valid TOML", lambda: "[store]\nthreads = 2\n".encode("utf-16")
)
text_file(
    "config/nan-budget.toml",
    "a budget amount of nan",
    CONFIG,
    "finite",
    lambda: b'[[budgets]]\nname = "b"\namount = nan\ncurrency = "USD"\n',
)
text_file(
    "config/1e400-budget.toml",
    "a budget amount of 1e400 (TOML inf)",
    CONFIG,
    "finite",
    lambda: b'[[budgets]]\nname = "b"\namount = 1e400\ncurrency = "USD"\n',
)
text_file(
    "config/bad-timezone.toml",
    "a time zone that does not exist",
    CONFIG,
    "IANA",
    lambda: b'[collect]\ntimezone = "../../etc/passwd"\n',
)


def write(root: Path = ROOT) -> list[Case]:
    """Rebuild every case under root and its README; return the cases."""
    for child in root.iterdir():
        if child.is_dir() and child.name != "__pycache__":
            shutil.rmtree(child)
    for item, build in CASES:
        target = root / item.path
        target.parent.mkdir(parents=True, exist_ok=True)
        if "." not in target.name:
            target.mkdir()
        build(target)
    (root / "README.md").write_text(readme(), encoding="utf-8")
    return [c for c, _ in CASES]


def readme() -> str:
    lines = [
        "# Hostile-input corpus",
        "",
        "Generated by `python -m tests.corpus.make_corpus` (deterministic); run by `tests/test_corpus.py`.",
        "Every entry goes through the CLI against a store holding a baseline bill. **error** means exit 2,",
        "one `Error:` line (containing the text shown, if any), no traceback and the store unchanged;",
        "**ok** means a documented tolerance: the load succeeds and the check shown holds.",
        "",
        "| file | what it is | command | expected |",
        "|---|---|---|---|",
    ]
    for item, _ in CASES:
        command = "finops " + " ".join(a.replace("{}", "FILE") for a in item.argv)
        if item.expect == "ok":
            expected = f"ok: `{item.check}` = {item.value}"
        else:
            expected = "error" + (f" naming `{item.expect}`" if item.expect else "")
        lines.append(f"| `{item.path}` | {item.what} | `{command}` | {expected} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(f"{len(write())} cases written under {ROOT}")
