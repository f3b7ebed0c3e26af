"""An MLflow file store (mlruns/) read directly: the flat meta.yaml files, tag files and metric files.

Layout: <exp_id>/meta.yaml, <exp_id>/<run_id>/meta.yaml, <run_id>/tags/<key> (one file per tag, a `/`
in a key is a sub-folder), <run_id>/metrics/<key> with lines `<epoch ms> <value> [<step>]`.
Deleted experiments (.trash/) and runs whose lifecycle_stage is deleted are skipped. meta.yaml is read
by a strict parser for the flat form MLflow writes (PyYAML's safe_dump of one mapping): `key: value`
lines with plain, single- or double-quoted strings, decimal ints, null and `[]`; long plain or
single-quoted values folded onto indented lines are joined. Anything else is an error naming the line.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from pathlib import Path

from finops.collect.files import SourceFile
from finops.collect.mlflow import Fetched, Point, Run, finite, sampled_keys, select, status_word
from finops.errors import InputError

MetaValue = str | int | None | list[str]
RESERVED = frozenset({"tags", "datasets", "traces"})  # folders of an experiment that are not runs
_LINE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*):(?:[ \t]+(.*))?")
_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]*)")
_NULLS = ("", "~", "null", "Null", "NULL")
# Plain scalars that YAML 1.1 (PyYAML) reads as something other than a string or a decimal int.
_OTHER = re.compile(
    r"yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|<<|="  # bool, merge, value
    r"|[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"  # float
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*"  # float
    r"|[-+]?(?:0b[01_]+|0[0-7_]+|0|[1-9][0-9_]*|0x[0-9a-fA-F_]+|[1-9][0-9_]*(?::[0-5]?[0-9])+)"  # int
    r"|[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}"
    r"(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?"  # timestamp
)
_INDICATORS = tuple("[]{},#&*!|>'\"%@`")
_ESCAPES = {"0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v", "f": "\f", "r": "\r"}
_ESCAPES |= {"e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0"}
_ESCAPES |= {"L": "\u2028", "P": "\u2029"}
_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)|\"")


def parse_meta(text: str, where: str) -> dict[str, MetaValue]:
    """The mapping of a flat MLflow meta.yaml; anything but `key: scalar` lines is an error naming the line."""
    result: dict[str, MetaValue] = {}
    key: str | None = None
    parts: list[str] = []
    start = 0
    for number, raw in enumerate([*text.split("\n"), "#"], start=1):  # YAML breaks lines at \n (and \r\n) only
        line = raw.rstrip(" \t\r")
        if key is not None and (not line or line[0] in " \t"):
            parts.append(line.strip(" \t"))
            continue
        if key is not None:
            result[key] = _scalar(parts, f"{where} line {start}")
            key = None
        if not line or line.startswith("#"):
            continue
        match = _LINE.fullmatch(line)
        if not match:
            raise InputError(f"{where} line {number}: {line[:60]!r} is not a flat `key: value` line of MLflow")
        if match[1] in result:
            raise InputError(f"{where} line {number}: {match[1]!r} appears twice")
        key, parts, start = match[1], [match[2] or ""], number
    return result


def _scalar(parts: list[str], where: str) -> MetaValue:
    """One value from its first line and any indented continuation lines."""
    first, rest = parts[0], parts[1:]
    while rest and not rest[-1]:
        rest.pop()
    if not first and rest:
        raise InputError(f"{where}: a nested block; MLflow's meta.yaml holds one scalar per key")
    if first == "[]" and not rest:
        return []
    if first.startswith('"'):
        if rest or len(first) < 2 or not first.endswith('"'):
            raise InputError(f"{where}: a double-quoted value must open and close on its line")
        return _unescape(first[1:-1], where)
    text = _fold([first, *rest])
    if first.startswith("'"):
        body = text[1:-1]
        if len(text) < 2 or not text.endswith("'") or "'" in body.replace("''", ""):
            raise InputError(f"{where}: a single-quoted value must end with ' (write a quote inside as '')")
        return body.replace("''", "'")
    if text in _NULLS:
        return None
    if _DECIMAL.fullmatch(text):
        return int(text)
    if _OTHER.fullmatch(text):
        raise InputError(f"{where}: {text!r} is a YAML bool, float, date or non-decimal int; quote it as text")
    if text.startswith(_INDICATORS) or text[:2] in ("- ", "? ", ": ") or text in ("-", "?", ":") or text[-1] == ":":
        raise InputError(f"{where}: {text[:60]!r} is a YAML collection, anchor, tag or block; MLflow writes scalars")
    if ": " in text or " #" in text or "\t" in text:
        raise InputError(f"{where}: {text[:60]!r} needs quotes in YAML (it holds ': ', ' #' or a tab)")
    return text


def _fold(lines: list[str]) -> str:
    """YAML line folding: a line break becomes a space, each empty line a newline."""
    out, breaks = lines[0], 0
    for line in lines[1:]:
        if not line:
            breaks += 1
            continue
        out += "\n" * breaks if breaks else " "
        out, breaks = out + line, 0
    return out


def _unescape(body: str, where: str) -> str:
    def replace(match: re.Match[str]) -> str:
        code = match[1]
        if code is None:
            raise InputError(f'{where}: a double quote inside a double-quoted value must be written \\"')
        if len(code) > 1:
            return chr(int(code[1:], 16))
        if code not in _ESCAPES:
            raise InputError(f"{where}: \\{code} is not a YAML escape")
        return _ESCAPES[code]

    return _ESCAPE.sub(replace, body)


def read(root: Path, wanted: Sequence[str], notice: Callable[[str], None]) -> Fetched:
    """Every active run of the wanted experiments of an mlruns/ folder, with its GPU system metrics."""
    if not root.is_dir():
        raise InputError(f"{root}: no such directory; pass the mlruns/ folder of an MLflow file store")
    if (root / "meta.yaml").is_file():
        raise InputError(f"{root}: this is an MLflow experiment or run folder; pass the mlruns/ folder above it")
    store = _Store(root)
    found: dict[str, str] = {}
    folders: dict[str, Path] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if (folder / "meta.yaml").is_file():
            meta = store.meta(folder / "meta.yaml")
            if meta.get("lifecycle_stage", "active") != "deleted":
                exp_id = _text(meta, "experiment_id", folder)
                found[exp_id], folders[exp_id] = _text(meta, "name", folder), folder
    if not found:
        raise InputError(
            f"{root}: not an MLflow file store: no <experiment id>/meta.yaml inside; pass the mlruns/ folder"
        )
    experiments = select(found, wanted, str(root))
    runs: list[Run] = []
    history: dict[tuple[str, str], list[Point]] = {}
    deleted = 0
    for exp_id in experiments:
        for run_dir in sorted(p for p in folders[exp_id].iterdir() if p.is_dir() and p.name not in RESERVED):
            if not (run_dir / "meta.yaml").is_file():
                notice(f"{run_dir}: a folder without meta.yaml, skipped (not an MLflow run)")
                continue
            run = store.run(run_dir, exp_id)
            if run is None:
                deleted += 1
                continue
            runs.append(run)
            for key in sampled_keys(run):
                history[run.run_id, key] = store.points(run_dir / "metrics" / key, run.where)
    if deleted:
        notice(f"{root}: skipped {deleted} deleted run(s)")
    return Fetched(str(root), experiments, runs, history, [store.fingerprint()])


class _Store:
    """Reads the files of one mlruns/ folder, hashing every byte read for the load's fingerprint."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.digest = hashlib.sha256()
        self.size = 0

    def text(self, path: Path) -> str:
        try:
            data = path.read_bytes()
            text = data.decode("utf-8")
        except OSError as exc:
            raise InputError(f"{path}: cannot read: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise InputError(f"{path}: not UTF-8 text") from None
        self.digest.update(f"{path.relative_to(self.root).as_posix()}\0{len(data)}\0".encode() + data)
        self.size += len(data)
        return text

    def meta(self, path: Path) -> dict[str, MetaValue]:
        return parse_meta(self.text(path), str(path))

    def run(self, run_dir: Path, exp_id: str) -> Run | None:
        """The run of a run folder, or None when it is deleted."""
        path = run_dir / "meta.yaml"
        meta = self.meta(path)
        if meta.get("lifecycle_stage", "active") == "deleted":
            return None
        tags = self.files(run_dir / "tags")
        return Run(
            run_id=str(meta.get("run_id") or meta.get("run_uuid") or run_dir.name),
            experiment_id=exp_id,
            name=str(meta.get("run_name") or tags.get("mlflow.runName") or "") or None,
            user_id=str(meta.get("user_id") or "") or None,
            status=status_word(meta.get("status", 1), f"{path} status"),
            start_ms=_int(meta, "start_time", path),
            end_ms=_int(meta, "end_time", path),
            tags=tags,
            metric_keys=frozenset(self.keys(run_dir / "metrics")),
            where=str(path),
        )

    def files(self, folder: Path) -> dict[str, str]:
        """key -> content of every file under a tags folder (a `/` in a key is a sub-folder)."""
        return {key: self.text(folder / key) for key in self.keys(folder)}

    def keys(self, folder: Path) -> list[str]:
        return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())

    def points(self, path: Path, where: str) -> list[Point]:
        """(ms, value) of each `<timestamp> <value> [<step>]` line of a metric file."""
        found: list[Point] = []
        for number, line in enumerate(self.text(path).splitlines(), start=1):
            fields = line.split()
            if not fields:
                continue
            try:
                if len(fields) not in (2, 3):
                    raise ValueError
                found.append((int(fields[0]), finite(float(fields[1]))))
            except ValueError:
                raise InputError(
                    f"{path} line {number}: expected `<epoch ms> <value> <step>`, got {line[:60]!r}"
                ) from None
        return found

    def fingerprint(self) -> SourceFile:
        """The folder as one source file: the sha256 and size of everything read from it."""
        return SourceFile(self.root, "text", False, self.digest.hexdigest(), self.size)


def _text(meta: dict[str, MetaValue], key: str, folder: Path) -> str:
    value = meta.get(key)
    if isinstance(value, int | str) and str(value) != "":
        return str(value)
    raise InputError(f"{folder / 'meta.yaml'}: {key} is missing or empty; is this an MLflow experiment folder?")


def _int(meta: dict[str, MetaValue], key: str, path: Path) -> int | None:
    value = meta.get(key)
    if value is None or isinstance(value, int):
        return value
    raise InputError(f"{path}: {key} is {value!r}, expected epoch milliseconds (an integer) or null")
