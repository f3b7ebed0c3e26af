"""Prometheus as a source: range queries over HTTP, saved API responses, and the text exposition format."""

from __future__ import annotations

import base64
import http.client
import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, unquote, urlencode, urlsplit, urlunsplit

from finops.errors import InputError

MAX_POINTS = 11_000  # Prometheus refuses a range query with more points per series
CHUNK_POINTS = 10_000  # steps per request; with the inclusive end that is 10,001 points

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
    authorization: str | None
    timeout: float

    @classmethod
    def connect(cls, url: str, token: str | None, timeout: float) -> Client:
        """A client for `url`; a user:password in the URL becomes Basic auth, a token Bearer auth."""
        parts = urlsplit(url.strip())
        try:
            clean = _clean(parts)
        except ValueError:  # a port that is not a number
            clean = ""
        if parts.scheme not in ("http", "https") or not parts.hostname or not clean:
            shown = url if "@" not in url else clean or "the URL"
            raise InputError(f"--prometheus: {shown} is not an http(s)://HOST[:PORT] URL, e.g. http://prometheus:9090")
        auth = None
        if token and token.strip():
            if not token.strip().isprintable() or " " in token.strip():  # never echo it: it is a secret
                raise InputError(
                    "FINOPS_PROMETHEUS_TOKEN holds spaces or control characters; set it to the token alone"
                )
            auth = f"Bearer {token.strip()}"
        elif parts.username:
            pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
            auth = "Basic " + base64.b64encode(pair).decode()
        return cls(clean, auth, timeout)

    def query_range(self, query: str, start_us: int, end_us: int, step: int) -> tuple[list[Series], list[str]]:
        """The matrix of one range query [start, end] (both ends included) and the server's warnings."""
        endpoint = f"{self.url}/api/v1/query_range"
        params = {"query": query, "start": _seconds(start_us), "end": _seconds(end_us), "step": str(step)}
        where = f"{endpoint} (query {query})"
        request = urllib.request.Request(f"{endpoint}?{urlencode(params)}", headers={"Accept": "application/json"})
        if self.authorization:
            request.add_unredirected_header("Authorization", self.authorization)  # not sent on to a redirect
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            raise self._refused(where, exc.code, exc.reason, exc.read()) from None
        except urllib.error.URLError as exc:
            raise InputError(
                f"{where}: cannot reach Prometheus ({_reason(exc.reason, self.timeout)}); "
                "check the --prometheus URL and that the server is up"
            ) from None
        except (OSError, http.client.HTTPException) as exc:
            raise InputError(
                f"{where}: Prometheus did not answer ({_reason(exc, self.timeout)}); check that it is up and try again"
            ) from None
        return series(_json(body, where), where, ("matrix",))

    def _refused(self, where: str, code: int, reason: str, body: bytes) -> InputError:
        if code in (401, 403):
            fix = "the token was refused; set" if self.authorization else "set"
            return InputError(f"{where}: HTTP {code} {reason}: {fix} FINOPS_PROMETHEUS_TOKEN to a token that may read")
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        if isinstance(doc, dict) and doc.get("status") == "error":
            return InputError(f"{where}: HTTP {code}, Prometheus says {doc.get('errorType')}: {doc.get('error')}")
        hint = "; is this the Prometheus base URL (without /api/v1)?" if code == 404 else ""
        return InputError(f"{where}: HTTP {code} {reason}{hint}")


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
    except (TypeError, ValueError):
        raise InputError(f'{where}: a sample is not [unix seconds, "value"]') from None
    return found if lo is None or hi is None else [p for p in found if lo <= p[0] < hi]


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


def _json(body: bytes, where: str) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        start = body[:60].decode("utf-8", "replace")
        raise InputError(f"{where}: the answer is not JSON (starts {start!r}); is this a Prometheus URL?") from None


def _clean(parts: SplitResult) -> str:
    """scheme://host[:port]/path of a split URL: no user, password, query or fragment."""
    host = parts.hostname or ""
    netloc = (f"[{host}]" if ":" in host else host) + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def _reason(exc: object, timeout: float) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout:g} s"
    return str(getattr(exc, "strerror", None) or exc or type(exc).__name__)


def _seconds(us: int) -> str:
    whole, fraction = divmod(abs(us), 1_000_000)
    return ("-" if us < 0 else "") + (str(whole) if not fraction else f"{whole}.{fraction:06d}")
