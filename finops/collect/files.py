"""Finding source files (file, directory or glob), fingerprinting them, and reading CSV headers."""

from __future__ import annotations

import csv
import glob
import gzip
import hashlib
import io
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from finops.errors import InputError

Format = Literal["csv", "parquet", "json", "text"]
SUFFIXES: dict[str, tuple[Format, bool]] = {
    ".csv": ("csv", False),
    ".csv.gz": ("csv", True),
    ".parquet": ("parquet", False),
    ".pq": ("parquet", False),
}
_CHUNK = 1 << 20


@dataclass(frozen=True)
class SourceFile:
    """One input file: where it is, how to read it, and its content fingerprint."""

    path: Path
    format: Format
    gzipped: bool
    sha256: str
    size: int

    def as_record(self) -> dict[str, object]:
        """The JSON form kept in ingest_batches.files."""
        return {"path": str(self.path), "sha256": self.sha256, "bytes": self.size}


def kind_of(path: Path) -> tuple[Format, bool] | None:
    """(format, gzipped) from the file name, or None when finops does not read it."""
    name = path.name.lower()
    for suffix, kind in sorted(SUFFIXES.items(), key=lambda kv: -len(kv[0])):
        if name.endswith(suffix):
            return kind
    return None


def expand(
    arguments: Sequence[str],
    what: str = "billing",
    kind: Callable[[Path], tuple[Format, bool] | None] = kind_of,
    wanted: str = "",
) -> list[SourceFile]:
    """Resolve files, directories (recursively) and globs to readable source files, sorted by path.

    `kind` tells a file finops reads (its format and whether gzipped) from one it skips; `wanted` names
    those files in errors (default: the billing suffixes).
    """
    wanted = wanted or ", ".join(f"*{suffix}" for suffix in SUFFIXES)
    found: dict[Path, tuple[Format, bool]] = {}
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            matches = [p for p in sorted(path.rglob("*")) if p.is_file() and kind(p)]
            if not matches:
                raise InputError(f"{path}: no {what} files ({wanted}) in this directory")
        elif path.is_file():
            if kind(path) is None:
                raise InputError(f"{path}: not a file finops reads; expected one of {wanted}")
            matches = [path]
        elif glob.has_magic(argument):
            matches = [Path(p) for p in sorted(glob.glob(argument, recursive=True)) if Path(p).is_file()]
            matches = [p for p in matches if kind(p)]
            if not matches:
                raise InputError(f"{argument}: the pattern matches no {what} files ({wanted})")
        else:
            raise InputError(f"{path}: no such file or directory")
        for match in matches:
            found_kind = kind(match)
            assert found_kind is not None
            found[match] = found_kind
    return [_fingerprint(p, *found_kind) for p, found_kind in sorted(found.items())]


def fingerprint(path: Path) -> SourceFile:
    """Any one input file (billing or workload record), checked to exist and fingerprinted."""
    if not path.is_file():
        raise InputError(f"{path}: no such file" + (" (a directory)" if path.is_dir() else ""))
    fmt, gzipped = kind_of(path) or ("json" if path.suffix.lower() == ".json" else "text", path.suffix.lower() == ".gz")
    return _fingerprint(path, fmt, gzipped)


def _fingerprint(path: Path, fmt: Format, gzipped: bool) -> SourceFile:
    """Hash the file (streaming) and check a .gz file starts like gzip."""
    digest = hashlib.sha256()
    size = 0
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                if size == 0 and gzipped and not chunk.startswith(b"\x1f\x8b"):
                    raise InputError(f"{path}: named .gz but not gzip-compressed; rename or re-compress it")
                digest.update(chunk)
                size += len(chunk)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    if size == 0:
        raise InputError(f"{path}: the file is empty; re-download or re-export it")
    return SourceFile(path, fmt, gzipped, digest.hexdigest(), size)


def combined_checksum(parts: Iterable[str]) -> str:
    """One sha256 over a set of checksums and settings, independent of their order."""
    digest = hashlib.sha256()
    for part in sorted(parts):
        digest.update(part.encode())
        digest.update(b"\n")
    return digest.hexdigest()


def _bounded(source: SourceFile) -> bytes:
    limit = max(BOMB_FLOOR, MAX_RATIO * source.size)
    chunks, total = [], 0
    with gzip.open(source.path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            total += len(chunk)
            if total > limit:
                raise InputError(
                    f"{source.path}: expands more than {MAX_RATIO} times its compressed size; refusing it as a "
                    "likely decompression bomb (decompress it yourself if it is genuine)"
                )
            chunks.append(chunk)
    return b"".join(chunks)


def csv_header(source: SourceFile) -> tuple[list[str], str]:
    """The header row and the delimiter of a CSV file (BOM stripped), read without a sniffer."""
    opener = gzip.open if source.gzipped else open
    try:
        with opener(source.path, "rb") as raw:
            first = raw.readline(1 << 22)
    except (OSError, EOFError, zlib.error) as exc:
        what = "not a valid gzip stream" if source.gzipped else "cannot read the header"
        raise InputError(f"{source.path}: {what} ({exc}); re-download the file") from None
    try:
        text = first.decode("utf-8-sig").rstrip("\r\n")
    except UnicodeDecodeError:
        raise InputError(f"{source.path}: the header is not UTF-8 text; re-export the file as UTF-8") from None
    if not text.strip():
        raise InputError(f"{source.path}: the first line is empty; a CSV file must start with its header row")
    delimiter = max(",;\t|", key=text.count)
    try:
        header = next(csv.reader(io.StringIO(text), delimiter=delimiter))
    except csv.Error as exc:
        raise InputError(f"{source.path}: the first line is not a CSV header ({exc}); check the file") from None
    return [h.strip() for h in header], delimiter


MAX_RATIO = 200  # real logs and exports compress 5-50x; deflate tops out near 1000x
BOMB_FLOOR = 16 << 20  # below this many decompressed bytes no ratio is refused


def text_lines(source: SourceFile, what: str) -> list[str]:
    """The lines of a (possibly gzipped) UTF-8 text file; `what` names it in errors.

    A gzip file that expands more than MAX_RATIO times its size is refused as it is read, so a
    decompression bomb costs a few MB of memory, not its expanded size.
    """
    try:
        if source.gzipped:
            return _bounded(source).decode("utf-8-sig").splitlines()
        return source.path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError:
        raise InputError(f"{source.path}: not UTF-8 text; save the {what} as UTF-8") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"{source.path}: cannot read: {exc}") from None
