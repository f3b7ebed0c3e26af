"""Where AWS delivers billing: a report folder (local or S3), its manifests, and the snapshot of each period.

Legacy CUR puts each refresh of a month in `yyyymmdd-yyyymmdd/<assemblyId>/` with a manifest listing
all its chunks (`reportKeys`) and rewrites `yyyymmdd-yyyymmdd/<report>-Manifest.json` to name the
latest assembly. CUR 2.0 and the FOCUS export write `metadata/BILLING_PERIOD=YYYY-MM/…-Manifest.json`
listing `dataFiles` after the data. A snapshot is the newest manifest of a period and exactly the files
it names: a listing can hold chunks of older refreshes, a manifest cannot.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from finops.collect import aws_session
from finops.errors import InputError

_PERIOD_DIR = re.compile(r"^\d{8}-\d{8}$")


@dataclass(frozen=True)
class Entry:
    """One object (or local file) of the tree."""

    key: str
    modified: datetime


class Tree(Protocol):
    """A report folder: list it, read a manifest, fetch a data file."""

    uri: str

    def entries(self) -> list[Entry]: ...

    def read(self, key: str) -> bytes: ...

    def resolve(self, key: str) -> str | None: ...

    def name(self, key: str) -> str: ...


@dataclass(frozen=True)
class Snapshot:
    """The newest delivery of one billing period: its manifest and every data file it names."""

    period_start: datetime
    manifest_key: str
    manifest_id: str  # assemblyId (legacy) or executionId (Data Exports)
    delivered_at: datetime  # when the manifest was written
    data_keys: tuple[str, ...]

    @property
    def period(self) -> str:
        return f"{self.period_start:%Y-%m}"


@dataclass
class LocalTree:
    """A report folder on disk (as `aws s3 sync` leaves it)."""

    root: Path
    uri: str = ""
    _keys: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.uri = str(self.root)

    def entries(self) -> list[Entry]:
        found = [p for p in sorted(self.root.rglob("*")) if p.is_file()]
        self._keys = {p.relative_to(self.root).as_posix() for p in found}
        return [
            Entry(p.relative_to(self.root).as_posix(), datetime.fromtimestamp(p.stat().st_mtime, UTC)) for p in found
        ]

    def read(self, key: str) -> bytes:
        return (self.root / key).read_bytes()

    def resolve(self, key: str) -> str | None:
        """The local file for a bucket key: the longest tail of the key that exists under the folder."""
        parts = PurePosixPath(key).parts
        for i in range(len(parts)):
            tail = "/".join(parts[i:])
            if tail in self._keys:
                return tail
        return None

    def name(self, key: str) -> str:
        return str(self.root / key)

    def path(self, key: str) -> Path:
        return self.root / key


@dataclass
class S3Tree:
    """A report prefix in S3, read through boto3."""

    s3: Any
    bucket: str
    prefix: str
    uri: str = ""
    _keys: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.uri = f"s3://{self.bucket}/{self.prefix}".rstrip("/")

    def entries(self) -> list[Entry]:
        found: list[Entry] = []
        prefix = self.prefix.rstrip("/") + "/" if self.prefix else ""
        with aws_session.errors(self.uri):
            for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
                found += [Entry(o["Key"], o["LastModified"]) for o in page.get("Contents", [])]
        self._keys = {e.key for e in found}
        return found

    def read(self, key: str) -> bytes:
        with aws_session.errors(self.name(key)):
            return bytes(self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())

    def resolve(self, key: str) -> str | None:
        return key if key in self._keys else None

    def name(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def download(self, key: str, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        with aws_session.errors(self.name(key)):
            self.s3.download_file(self.bucket, key, str(target))


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """(bucket, prefix) of s3://bucket/prefix/report-name."""
    match = re.fullmatch(r"s3://([a-z0-9][a-z0-9.\-]{1,62})(?:/(.*))?", uri.strip())
    if not match:
        raise InputError(f"--s3 {uri}: write it as s3://bucket/prefix/report-name")
    return match.group(1), (match.group(2) or "").strip("/")


def snapshots(tree: Tree, period: str | None = None) -> list[Snapshot]:
    """The newest snapshot of every period under the tree (or of `period` only), oldest period first."""
    entries = tree.entries()
    if not entries:
        raise InputError(f"{tree.uri}: empty: nothing is delivered here; check the bucket and report prefix")
    manifests = [e for e in entries if e.key.endswith("Manifest.json")]
    if not manifests:
        raise InputError(
            f"{tree.uri}: no CUR manifest (*-Manifest.json) here; point at the report folder that holds the "
            "yyyymmdd-yyyymmdd/ or metadata/ folders, or give the data files themselves"
        )
    candidates: dict[datetime, list[tuple[int, Entry, Snapshot]]] = {}
    for entry in manifests:
        snapshot, rank = _parse(tree, entry)
        candidates.setdefault(snapshot.period_start, []).append((rank, entry, snapshot))
    chosen = []
    for start in sorted(candidates):
        rank, entry, snapshot = max(candidates[start], key=lambda c: (c[0], c[1].modified, c[1].key))
        if period is None or snapshot.period == period:
            chosen.append(snapshot)
    if not chosen:
        found = ", ".join(f"{s:%Y-%m}" for s in sorted(candidates))
        raise InputError(f"{tree.uri}: no delivery for billing period {period}; periods here: {found}")
    for snapshot in chosen:
        for key in snapshot.data_keys:
            if tree.resolve(key) is None:
                raise InputError(
                    f"{tree.name(snapshot.manifest_key)}: names data file {key}, which is not under {tree.uri}; "
                    "the delivery is incomplete or was moved: wait for AWS to finish it or copy the whole report"
                )
    return chosen


def _parse(tree: Tree, entry: Entry) -> tuple[Snapshot, int]:
    """The snapshot a manifest describes, and its rank (the period-level legacy manifest names the latest)."""
    where = tree.name(entry.key)
    try:
        manifest = json.loads(tree.read(entry.key), object_pairs_hook=_unique)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InputError(f"{where}: not a CUR manifest (invalid JSON); re-download it") from None
    except _DuplicateKey as exc:
        raise InputError(f"{where}: the manifest gives {exc} twice; re-download it") from None
    if not isinstance(manifest, dict):
        raise InputError(f"{where}: not a CUR manifest (expected a JSON object)")
    start = _period_start(manifest.get("billingPeriod"), entry.key, where)
    if isinstance(manifest.get("reportKeys"), list):
        keys = [str(k) for k in manifest["reportKeys"]]
        ident = str(manifest.get("assemblyId") or "")
        rank = 1 if _PERIOD_DIR.match(PurePosixPath(entry.key).parent.name) else 0
    elif isinstance(manifest.get("dataFiles"), list):
        keys = [re.sub(r"^s3://[^/]+/", "", str(uri)) for uri in manifest["dataFiles"]]
        ident = str(manifest.get("executionId") or "")
        rank = 0
    else:
        raise InputError(f"{where}: not a CUR manifest: it has neither reportKeys (legacy CUR) nor dataFiles (CUR 2.0)")
    if not keys:
        raise InputError(f"{where}: the manifest names no data files; the delivery is empty or still running")
    return Snapshot(start, entry.key, ident or entry.key, entry.modified, tuple(keys)), rank


class _DuplicateKey(ValueError):
    """A JSON object names one key twice: which value AWS meant is unknowable."""


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _DuplicateKey(key)
        found[key] = value
    return found


def _period_start(period: Any, key: str, where: str) -> datetime:
    """The billing period start of a manifest: billingPeriod.start, or the BILLING_PERIOD= folder."""
    text = str(period.get("start", "")) if isinstance(period, dict) else ""
    for pattern in ("%Y%m%dT%H%M%S.%fZ", "%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d", "%Y%m%d"):
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    folder = re.search(r"BILLING_PERIOD=(\d{4})-(\d{2})", key)
    if folder:
        return datetime(int(folder.group(1)), int(folder.group(2)), 1, tzinfo=UTC)
    raise InputError(f"{where}: billingPeriod.start {text!r} is not a date; expected e.g. 20250101T000000.000Z")
