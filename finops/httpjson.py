"""JSON over HTTP for clients of web APIs: credentials only in a header, no redirects, one clear line per failure."""

from __future__ import annotations

import base64
import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from typing import IO, Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from finops.errors import ConfigError, FinopsError, InputError

QUOTED = 300  # characters of a server's own explanation that a message quotes


@dataclass(frozen=True)
class Refusal:
    """An HTTP error answer for a service's own wording: status, reason phrase, JSON body, credentials sent."""

    status: int
    reason: str  # secrets scrubbed
    doc: Any  # the body's JSON with secrets scrubbed from its strings, or None when it is not JSON
    authorized: bool


def _unexplained(refusal: Refusal) -> str | None:
    return None


@dataclass(frozen=True)
class Service:
    """One HTTP JSON API: how messages name it and say to fix it, its credentials and its timeout."""

    name: str  # who cannot be reached or did not answer: "Prometheus", "MLflow at http://mlflow:5000"
    option: str  # the setting that holds the URL: "the --prometheus URL", "--tracking-uri"
    login: str  # how to give credentials the server accepts: "set FINOPS_PROMETHEUS_TOKEN to a token that may read"
    kind: str = "the right URL"  # asked when the answer is not JSON: "is this a Prometheus URL?"
    not_found: str = ""  # what an HTTP 404 suggests; by default to check `option`
    timeout: float = 30.0  # seconds to connect, and to wait for each read
    token: str | None = field(default=None, repr=False)  # Bearer auth
    username: str | None = None  # Basic auth with `password`; wins over a token
    password: str | None = field(default=None, repr=False)
    detail: str = "message"  # the key of an error answer's JSON object that explains it
    explain: Callable[[Refusal], str | None] = _unexplained  # the text after `where` for an error answer, or None

    @property
    def authorization(self) -> str | None:
        """The Authorization header: Basic from username and password, else Bearer from the token."""
        if self.username is not None:
            return "Basic " + base64.b64encode(f"{self.username}:{self.password or ''}".encode()).decode()
        return f"Bearer {self.token}" if self.token else None

    def get(self, url: str, where: str, params: Mapping[str, Any] | None = None) -> Any:
        """The JSON answer of GET url?params."""
        return self._send("GET", f"{url}?{urlencode(params)}" if params else url, where, None, "")

    def post(self, url: str, where: str, body: Any = None, form: Mapping[str, Any] | None = None) -> Any:
        """The JSON answer of POST url with `body` as JSON or, given `form`, form-encoded fields."""
        if form is not None:
            return self._send("POST", url, where, urlencode(form).encode(), "application/x-www-form-urlencoded")
        return self._send("POST", url, where, json.dumps(body).encode(), "application/json")

    def deliver(self, url: str, where: str, body: bytes, headers: Mapping[str, str] | None = None) -> None:
        """POST a JSON body to a receiver that may answer anything ("ok", 204): only the status counts."""
        self._send("POST", url, where, body, "application/json", headers, parse=False)

    def _send(
        self,
        method: str,
        url: str,
        where: str,
        data: bytes | None,
        content_type: str,
        headers: Mapping[str, str] | None = None,
        parse: bool = True,
    ) -> Any:
        if "@" in urlsplit(url).netloc:
            raise ValueError("httpjson: credentials go in the Service, never in the URL")
        request = urllib.request.Request(url, data=data, method=method, headers={"Accept": "application/json"})
        for name, value in (headers or {}).items():
            request.add_unredirected_header(name, value)
        if content_type:
            request.add_header("Content-Type", content_type)
        if self.authorization:
            request.add_unredirected_header("Authorization", self.authorization)
        try:
            with _OPENER.open(request, timeout=self.timeout) as response:
                answer = response.read()
        except urllib.error.HTTPError as exc:
            raise self._refused(where, exc) from None
        except urllib.error.URLError as exc:
            raise InputError(
                f"{where}: cannot reach {self.name} ({self._reason(exc.reason)}); "
                f"check {self.option} and that the server is up"
            ) from None
        except (OSError, http.client.HTTPException) as exc:
            raise InputError(
                f"{where}: {self.name} did not answer ({self._reason(exc)}); check that it is up and try again"
            ) from None
        if not parse:
            return None
        try:
            return json.loads(answer)
        except ValueError:
            start = self._scrub(answer[:60].decode("utf-8", "replace"))
            raise InputError(f"{where}: the answer is not JSON (starts {start!r}); is this {self.kind}?") from None

    def _refused(self, where: str, exc: urllib.error.HTTPError) -> FinopsError:
        try:
            doc = self._scrub_doc(json.loads(exc.read()))
        except (ValueError, OSError, http.client.HTTPException):
            doc = None
        code, reason = exc.code, self._scrub(str(exc.reason))
        refusal = Refusal(code, reason, doc, self.authorization is not None)
        error = ConfigError if code in (401, 403) or 300 <= code < 400 else InputError
        text = self.explain(refusal)
        if text is None and code in (401, 403):
            given = "the credentials were refused" if refusal.authorized else "no credentials were given"
            text = f"HTTP {code} {reason} ({given}): {self.login}"
        elif text is None and 300 <= code < 400:
            text = f"HTTP {code} redirect refused; give the server's final address as {self.option}"
        elif text is None:
            said = doc.get(self.detail) if isinstance(doc, dict) else None
            quoted = f": {' '.join(str(said).split())[:QUOTED]}" if said else ""
            hint = (self.not_found or f"check {self.option}") if code == 404 else "see the server's log"
            text = f"HTTP {code} {reason}{quoted}; {hint}"
        return error(f"{where}: {text}")

    def _reason(self, exc: object) -> str:
        if isinstance(exc, TimeoutError):
            return f"no answer within {self.timeout:g} s"
        return self._scrub(getattr(exc, "strerror", None) or str(exc) or type(exc).__name__)

    def _scrub(self, text: str) -> str:
        basic = (self.authorization or "").removeprefix("Basic ") if self.username is not None else ""
        for secret in (self.token, self.password, basic):
            if secret:
                text = text.replace(secret, "***")
        return text

    def _scrub_doc(self, doc: Any) -> Any:
        if isinstance(doc, str):
            return self._scrub(doc)
        if isinstance(doc, list):
            return [self._scrub_doc(item) for item in doc]
        if isinstance(doc, dict):
            return {key: self._scrub_doc(value) for key, value in doc.items()}
        return doc


def base_url(url: str) -> str:
    """http(s)://host[:port]/path of a URL, without credentials, query or trailing slash; "" if it is not one."""
    parts = urlsplit(url.strip())
    try:
        port = parts.port
    except ValueError:  # a port that is not a number
        return ""
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        return ""
    netloc = (f"[{host}]" if ":" in host else host) + (f":{port}" if port else "")
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse redirects: a 3xx becomes an HTTPError instead of a request (with headers) to another URL."""

    def redirect_request(
        self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str, headers: Message, newurl: str
    ) -> urllib.request.Request | None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)
