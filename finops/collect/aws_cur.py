"""AWS Cost and Usage Reports (legacy CSV/Parquet, CUR 2.0) and the AWS FOCUS export, from a folder or S3.

Incremental semantics: the unit of replacement is (source "aws-cur", BillingAccountId,
BillingPeriodStart). A report folder yields one snapshot per billing period: the newest manifest and
every chunk it names, loaded together in one transaction (a month is never half old, half new).
Loading the same snapshot again changes nothing. A snapshot older than the one the store holds for a
period (an earlier assembly / execution, by its manifest's delivery time) is not loaded: the newest
delivery wins, and the collector says so. The AWS FOCUS export goes through `collect focus` (source
"focus"). The mapping is DuckDB SQL over the files (finops/sql/aws_cur.sql), streamed, no per-row Python.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import duckdb

from finops import gpus, ingest
from finops.collect import aws_columns, aws_exports, aws_session, focus
from finops.collect.aws_exports import LocalTree, S3Tree, Snapshot
from finops.collect.files import SourceFile, fingerprint
from finops.config import AwsSettings
from finops.errors import InputError
from finops.store import fetch_one

SOURCE = "aws-cur"
MAPPING = Path(__file__).parent.parent / "sql" / "aws_cur.sql"
UNUSED = Path(__file__).parent.parent / "sql" / "aws_cur_unused.sql"
Notice = Callable[[str], None]


@dataclass(frozen=True)
class RemoteFile(SourceFile):
    """A data file downloaded from S3: read from its local copy, recorded under its s3:// URI."""

    uri: str = ""

    def as_record(self) -> dict[str, object]:
        return {"path": self.uri, "sha256": self.sha256, "bytes": self.size}


def collect(
    con: duckdb.DuckDBPyConnection,
    paths: Sequence[str] = (),
    s3: str | None = None,
    period: str | None = None,
    aws: AwsSettings | None = None,
    notice: Notice = lambda message: None,
) -> ingest.LoadReport:
    """Load a report folder, its S3 prefix (`s3://bucket/prefix/report`) or explicit CUR files."""
    if bool(paths) == bool(s3):
        raise InputError("give either a local report folder / CUR files, or --s3 s3://bucket/prefix/report-name")
    if s3:
        bucket, prefix = aws_exports.parse_s3_uri(s3)
        tree = S3Tree(aws_session.client("s3", aws or AwsSettings()), bucket, prefix)
        deliveries = aws_exports.snapshots(tree, period)
        with tempfile.TemporaryDirectory(prefix="finops-cur-") as tmp:
            files = [_download(tree, key, Path(tmp)) for s in deliveries for key in s.data_keys]
            try:
                return _load(con, tree.uri, files, deliveries, notice)
            except InputError as exc:
                raise InputError(str(exc).replace(f"{tmp}/", "s3://")) from None
    if len(paths) == 1 and Path(paths[0]).is_dir():
        local = LocalTree(Path(paths[0]))
        deliveries = aws_exports.snapshots(local, period)
        found = [fingerprint(local.path(local.resolve(key) or key)) for s in deliveries for key in s.data_keys]
        return _load(con, local.uri, found, deliveries, notice)
    if any(Path(p).is_dir() for p in paths):
        raise InputError("give one report folder, or data files; not several folders or a mix")
    if period:
        raise InputError(f"--period {period} picks a delivery from a report folder or --s3; data files load as given")
    return _load(con, " ".join(paths), [fingerprint(Path(p)) for p in paths], [], notice)


def _download(tree: S3Tree, key: str, tmp: Path) -> RemoteFile:
    target = tmp / tree.bucket / key
    tree.download(key, target)
    local = fingerprint(target)
    return RemoteFile(local.path, local.format, local.gzipped, local.sha256, local.size, tree.name(key))


def _load(
    con: duckdb.DuckDBPyConnection, uri: str, files: Sequence[SourceFile], deliveries: list[Snapshot], notice: Notice
) -> ingest.LoadReport:
    """Write every file of the snapshots through the mapping SQL, keep the newest deliveries, commit once."""
    layouts = [(source, aws_columns.reader(con, source)) for source in files]
    kinds = {layout.layout for _, layout in layouts}
    if kinds == {"focus"}:
        return focus.collect(con, [str(f.path) for f in files], notice=notice)
    if len(kinds) > 1:
        raise InputError(f"{uri}: mixes CUR and FOCUS files; load the FOCUS export with `finops collect focus`")
    mapping = MAPPING.read_text(encoding="utf-8")
    with CurLoad(con, uri, files, deliveries) as load:
        if load.unchanged:
            return load.report()
        _gpu_variables(con)
        for source, layout in layouts:
            try:
                load.write_file(source, mapping.replace("_cur_raw", layout.query), {"path": str(source.path)})
            except InputError as exc:
                raise InputError(_file_names(str(exc), layout.names)) from None
        kept = load.drop_older(notice)
        report = load.commit() if load.pending() else ingest.LoadReport(SOURCE, len(files), [])
        return ingest.LoadReport(report.source, report.files, report.scopes + kept)


def _gpu_variables(con: duckdb.DuckDBPyConnection) -> None:
    """GPU count and model per instance type as session variables the mapping looks up (no join: joins reorder)."""
    catalog = gpus.catalog_table(con).to_pydict()
    types = catalog["instance_type"]
    con.execute("SET VARIABLE finops_aws_gpu_count = map(?::VARCHAR[], ?::INTEGER[])", [types, catalog["gpus"]])
    con.execute("SET VARIABLE finops_aws_gpu_model = map(?::VARCHAR[], ?::VARCHAR[])", [types, catalog["gpu_model"]])


def _file_names(message: str, names: dict[str, str]) -> str:
    """An error naming columns as the file does (lineItem/UnblendedCost rather than line_item_unblended_cost)."""
    for field, name in sorted(names.items(), key=lambda kv: -len(kv[0])):
        if field != name:
            message = message.replace(field, name)
    return message


class CurLoad(ingest.Load):
    """A Load that records each period's manifest and refuses to replace a newer delivery by an older one."""

    # The FOCUS columns a CUR has no value for: those the mapping writes as `CAST(NULL AS …) AS Column`.
    omits: ClassVar[frozenset[str]] = frozenset(
        re.findall(r"^\s*CAST\(NULL AS .*\) AS (\w+),?$", MAPPING.read_text(encoding="utf-8"), re.MULTILINE)
    )

    def __init__(
        self, con: duckdb.DuckDBPyConnection, uri: str, files: Sequence[SourceFile], deliveries: list[Snapshot]
    ) -> None:
        super().__init__(con, SOURCE, uri, files, [f"manifest:{d.manifest_id}" for d in deliveries])
        self.deliveries = {d.period_start: d for d in deliveries}

    def __enter__(self) -> CurLoad:
        super().__enter__()
        return self

    def expand(self, query: str) -> str:
        """Each file row, and after a Savings Plan / RI fee row the commitment it left unused (aws_cur_unused.sql)."""
        return UNUSED.read_text(encoding="utf-8").replace("{rows}", query)

    def pending(self) -> bool:
        row = fetch_one(self.con, "SELECT count(*) FROM _pending")
        return bool(row and row[0])

    def drop_older(self, notice: Notice) -> list[ingest.ScopeResult]:
        """Drop the pending rows of every scope whose stored rows came from a newer delivery; return those scopes."""
        kept = []
        scopes = self.con.execute(
            "SELECT DISTINCT coalesce(BillingAccountId, ''), BillingPeriodStart FROM _pending ORDER BY 2, 1"
        ).fetchall()
        for account, start in scopes:
            delivery = self.deliveries.get(start)
            current = fetch_one(
                self.con,
                "SELECT manifest_id, manifest_at, provider, billing_account_id, billing_period_start, "
                "billing_period_end, billing_currency, row_count, billed_cost, effective_cost, list_cost, batch_id, "
                "checksum FROM current_batches "
                "WHERE source = ? AND billing_account_id = ? AND billing_period_start = ?",
                [SOURCE, account, start],
            )
            if delivery is None or current is None or current[1] is None:
                continue
            if current[0] == delivery.manifest_id or current[1] <= delivery.delivered_at:
                continue
            notice(
                f"{self.source_uri}: {start:%Y-%m} of account {account or '(none)'}: kept the newer delivery "
                f"{current[0]} ({current[1]:%Y-%m-%dT%H:%M:%SZ}); {delivery.manifest_id} "
                f"({delivery.delivered_at:%Y-%m-%dT%H:%M:%SZ}) is older and was not loaded"
            )
            self.con.execute(
                f"DELETE FROM cost_line_items WHERE x_BatchId = {self.batch} "
                "AND coalesce(BillingAccountId, '') = ? AND BillingPeriodStart = ?",
                [account, start],
            )
            kept.append(ingest.ScopeResult("kept newer", *current[2:]))
        return kept

    def _write(self, load_id: int, new: list[ingest.ScopeResult], rowid_offset: int) -> None:
        """Inside the load's transaction: the rows, then which delivery each batch came from."""
        super()._write(load_id, new, rowid_offset)
        for scope in new:
            delivery = self.deliveries.get(scope.billing_period_start)
            if delivery is not None:
                self.con.execute(
                    "UPDATE ingest_batches SET manifest_id = ?, manifest_at = ? WHERE batch_id = ?",
                    [delivery.manifest_id, delivery.delivered_at, scope.batch_id],
                )
