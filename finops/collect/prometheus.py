"""Prometheus as a source: range queries over HTTP, saved API responses, and the text exposition format."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from finops import httpjson
from finops.errors import InputError

MAX_POINTS = 11_000  # Prometheus refuses a range query with more points per series
CHUNK_POINTS = 10_000  # steps per request; with the inclusive end that is 10,001 points
LOGIN = "set FINOPS_PROMETHEUS_TOKEN to a token that may read"

Series = tuple[dict[str, str], list[Any]]  # (labels, [[ts, "value"], ...]) as the API returns them
_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r"\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*\"")
_SCRAPED_AT = re.compile(r"^#\s*finops-scraped-at:\s*(\S+)\s*$", re.MULTILINE)
_NAME_TIME = re.compile(r"\d{8}T\d{6}Z")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CLOSE = re.compile(r"\s*}")
_AFTER = re.compile(r"\s*([,}])")
_ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}


def chunks(start_us: int, end_us: int, step_us: int, points: int = CHUNK_POINTS) -> list[tuple[int, int]]:
    """Consecutive [lo, hi) pieces of [start, end), each at most `points` steps long and on the step grid."""
    size = step_us * points
    return [(lo, min(lo + size, end_us)) for lo in range(start_us, end_us, size)]


@dataclass(frozen=True)
class Client:
    """A Prometheus server's HTTP API, with credentials kept out of URLs and messages."""

    url: str  # base URL without credentials, query or trailing slash
    http: httpjson.Service

    @classmethod
    def connect(cls, url: str, token: str | None, timeout: float) -> Client:
        """A client for `url`; a user:password in the URL becomes Basic auth, a token Bearer auth."""
        parts, clean = urlsplit(url.strip()), httpjson.base_url(url)
        if not clean:
            shown = url if "@" not in url else "the URL"
            raise InputError(f"--prometheus: {shown} is not an http(s)://HOST[:PORT] URL, e.g. http://prometheus:9090")
        token = (token or "").strip() or None
        if token and (not token.isprintable() or " " in token):  # never echo it: it is a secret
            raise InputError("FINOPS_PROMETHEUS_TOKEN holds spaces or control characters; set it to the token alone")
        user = unquote(parts.username) if parts.username and not token else None
        service = httpjson.Service(
            name="Prometheus",
            option="the --prometheus URL",
            login=LOGIN,
            kind="a Prometheus URL",
            not_found="is this the Prometheus base URL (without /api/v1)?",
            timeout=timeout,
            token=token,
            username=user,
            password=unquote(parts.password or "") if user is not None else None,
            explain=_explain,
        )
        return cls(clean, service)

    def query_range(self, query: str, start_us: int, end_us: int, step: int) -> tuple[list[Series], list[str]]:
        """The matrix of one range query [start, end] (both ends included) and the server's warnings."""
        endpoint = f"{self.url}/api/v1/query_range"
        params = {"query": query, "start": _seconds(start_us), "end": _seconds(end_us), "step": str(step)}
        where = f"{endpoint} (query {query})"
        return series(self.http.get(endpoint, where, params), where, ("matrix",))


def _explain(refusal: httpjson.Refusal) -> str | None:
    """Prometheus's wording of a refused token and of its own {"status": "error"} answers."""
    code, doc = refusal.status, refusal.doc
    if code in (401, 403):
        return f"HTTP {code} {refusal.reason}: {'the token was refused; ' if refusal.authorized else ''}{LOGIN}"
    if isinstance(doc, dict) and doc.get("status") == "error":
        return f"HTTP {code}, Prometheus says {doc.get('errorType')}: {doc.get('error')}"
    return None


def series(doc: Any, where: str, kinds: tuple[str, ...] = ("matrix", "vector")) -> tuple[list[Series], list[str]]:
    """The series and warnings of a query or query_range response; a vector's value becomes one point."""
    if not isinstance(doc, dict) or doc.get("status") not in ("success", "error"):
        raise InputError(f'{where}: not a Prometheus API response (no "status": "success")')
    if doc["status"] == "error":
        raise InputError(f"{where}: Prometheus says {doc.get('errorType')}: {doc.get('error')}")
    data = doc.get("data")
    kind = data.get("resultType") if isinstance(data, dict) else None
    if kind not in kinds:
        raise InputError(f"{where}: the result is a {kind}, expected a {' or '.join(kinds)} of series")
    assert isinstance(data, dict)
    found: list[Series] = []
    for item in data.get("result") or []:
        labels = item.get("metric") if isinstance(item, dict) else None
        points = item.get("values") if kind == "matrix" else [item.get("value")]
        if not isinstance(labels, dict) or not isinstance(points, list):
            raise InputError(f'{where}: a series lacks "metric" or "{"values" if kind == "matrix" else "value"}"')
        found.append((labels, points))
    warnings = doc.get("warnings") or []
    return found, [str(w) for w in warnings]


def read(path: Path, notice: Callable[[str], None]) -> Iterator[tuple[str, dict[str, str], list[tuple[int, float]]]]:
    """(metric, labels, [(µs, value)]) of a saved scrape (text exposition) or query/query_range JSON answer."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text; expected a metrics scrape or a saved query_range JSON") from None
    if text.lstrip().startswith("{"):
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
        found, warnings = series(doc, str(path))
        for warning in warnings:
            notice(f"{path}: {warning}")
        for labels, values in found:
            if "__name__" not in labels:
                raise InputError(
                    f"{path}: a series has no __name__; save plain queries such as DCGM_FI_DEV_GPU_UTIL, "
                    "not functions or aggregations of them"
                )
            yield labels["__name__"], labels, points(values, str(path))
        return
    scraped: int | None = None
    for name, labels, value, stamp in exposition(text, str(path)):
        if stamp is not None:
            yield name, labels, [(round(stamp * 1_000_000), value)]
        else:
            scraped = scraped_at(path, text) if scraped is None else scraped
            yield name, labels, [(scraped, value)]


def scraped_at(path: Path, text: str) -> int:
    """µs of a scrape whose lines carry no time: from a `# finops-scraped-at:` comment or the file name, never mtime."""
    header, named = _SCRAPED_AT.search(text), _NAME_TIME.search(path.name)
    if not header and not named:
        raise InputError(
            f"{path}: the scrape's samples carry no time; add a first line '# finops-scraped-at: 2025-10-01T12:00:00Z' "
            "or name the file like dcgm-20251001T120000Z.prom (finops does not guess from the modification time)"
        )
    given = header.group(1) if header else named.group() if named else ""
    try:
        moment = datetime.fromisoformat(given)  # also reads the file name's 20251001T120000Z
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InputError(f"{path}: scrape time {given!r} needs a date, time and zone; write e.g. 2025-10-01T12:00:00Z")
    return micros(moment)


def points(values: list[Any], where: str, lo: int | None = None, hi: int | None = None) -> list[tuple[int, float]]:
    """(µs, value) of API points [[unix seconds, "value"], ...], keeping lo <= µs < hi when given; NaN stays."""
    try:
        found = [(round(float(ts) * 1_000_000), float(value)) for ts, value in values]
    except (TypeError, ValueError, OverflowError):
        raise InputError(f'{where}: a sample is not [unix seconds, "value"] with a finite time') from None
    if any(not _MIN_US <= ts < _MAX_US for ts, _ in found):
        raise InputError(f"{where}: a sample time is outside the years 1970-9999; check the file's timestamps")
    return found if lo is None or hi is None else [p for p in found if lo <= p[0] < hi]


_MIN_US, _MAX_US = 0, 253_402_300_800_000_000  # 1970-01-01 .. 10000-01-01 in µs


def micros(moment: datetime) -> int:
    """Microseconds since the epoch of an aware datetime, exactly."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


def exposition(text: str, where: str) -> Iterator[tuple[str, dict[str, str], float, float | None]]:
    """(name, labels, value, timestamp in seconds or None) of each sample line in text exposition format."""
    for number, line in enumerate(text.split("\n"), start=1):  # label values may hold other line breaks
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            yield _sample(stripped)
        except (ValueError, IndexError) as exc:
            why = "the line ends inside its labels" if isinstance(exc, IndexError) else str(exc)
            raise InputError(f"{where} line {number}: not a metric sample ({why}): {stripped[:80]!r}") from None


def _sample(line: str) -> tuple[str, dict[str, str], float, float | None]:
    match = _NAME.match(line)
    if not match:
        raise ValueError("no metric name")
    name, pos = match.group(), match.end()
    labels: dict[str, str] = {}
    if line.startswith("{", pos):
        closed = _CLOSE.match(line, pos + 1)
        pos = closed.end() if closed else pos + 1
        while not closed:
            label = _LABEL.match(line, pos)
            if not label:
                raise ValueError('expected label="value"')
            labels[label.group(1)], pos = _quoted(line, label.end())
            after = _AFTER.match(line, pos)
            if not after:
                raise ValueError("expected , or } after a label value")
            closed = after if after.group(1) == "}" else _CLOSE.match(line, after.end())
            pos = closed.end() if closed else after.end()
    fields = line[pos:].split()
    if len(fields) not in (1, 2):
        raise ValueError("expected a value and an optional timestamp")
    stamp = None
    if len(fields) == 2:
        text = fields[1]  # milliseconds (Prometheus format) or seconds with a fraction (OpenMetrics)
        stamp = int(text) / 1000 if text.lstrip("-").isdigit() else float(text)
        if not _MIN_US <= stamp * 1_000_000 < _MAX_US:  # also refuses inf and NaN
            raise ValueError(f"timestamp {text} is outside the years 1970-9999")
    return name, labels, float(fields[0]), stamp


def _quoted(line: str, pos: int) -> tuple[str, int]:
    """A label value from just after its opening quote; returns it and the position after the closing quote."""
    out: list[str] = []
    while line[pos] != '"':
        if line[pos] == "\\":
            pos += 1
            out.append(_ESCAPES.get(line[pos], "\\" + line[pos]))
        else:
            out.append(line[pos])
        pos += 1
    return "".join(out), pos + 1


def _seconds(us: int) -> str:
    whole, fraction = divmod(abs(us), 1_000_000)
    return ("-" if us < 0 else "") + (str(whole) if not fraction else f"{whole}.{fraction:06d}")
