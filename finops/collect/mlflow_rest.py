"""A small client of the MLflow REST API 2.0 (stdlib urllib): experiments, runs and metric histories.

Every list is paginated with page_token until the server returns no next_page_token. Credentials go
only in the Authorization header: HTTP basic from MLFLOW_TRACKING_USERNAME/PASSWORD (or a user:password
in the URL, which is then removed from it), else Bearer MLFLOW_TRACKING_TOKEN; never in a request URL,
a message or the store. Redirects are refused rather than followed, so no header reaches another host.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

from finops import httpjson
from finops.collect.mlflow import Fetched, Point, Run, finite, sampled_keys, select, status_word
from finops.errors import ConfigError, InputError

API = "/api/2.0/mlflow/"
PAGE = 1000  # runs or experiments per page: MLflow's default (its limit is 50,000)
HISTORY_PAGE = 25000  # metric points per page where the server paginates get-history
TIMEOUT = 60.0
AUTH_HINT = (
    "set MLFLOW_TRACKING_TOKEN to a bearer token, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, "
    "to credentials the server accepts"
)


def read(uri: str, wanted: Sequence[str], token: str | None, username: str | None, password: str | None) -> Fetched:
    """Every active run of the wanted experiments, with the history of its GPU system metrics."""
    client = Client(uri, token, username, password)
    found: dict[str, str] = {}
    for item in client.pages("POST", "experiments/search", "experiments", {"max_results": PAGE}):
        exp_id, name = (item.get(k) if isinstance(item, dict) else None for k in ("experiment_id", "name"))
        if not isinstance(exp_id, str) or not isinstance(name, str):
            raise InputError(f"MLflow at {client.base}: experiments/search returned an experiment without id or name")
        found[exp_id] = name
    experiments = select(found, wanted, f"MLflow at {client.base}")
    runs: list[Run] = []
    if experiments:
        body = {"experiment_ids": list(experiments), "max_results": PAGE, "run_view_type": "ACTIVE_ONLY"}
        found_runs = (_run(item, client.base) for item in client.pages("POST", "runs/search", "runs", body))
        runs = list({run.run_id: run for run in found_runs}.values())  # a run started mid-search may repeat
    history: dict[tuple[str, str], list[Point]] = {}
    for run in runs:
        for key in sampled_keys(run):
            query = {"run_id": run.run_id, "metric_key": key, "max_results": HISTORY_PAGE}
            points = client.pages("GET", "metrics/get-history", "metrics", query)
            history[run.run_id, key] = [_point(p, f"{run.where} metric {key}") for p in points]
    return Fetched(client.base, experiments, runs, history)


class Client:
    """One MLflow server: its base URL without credentials, and the HTTP JSON service that calls it."""

    def __init__(self, uri: str, token: str | None, username: str | None, password: str | None) -> None:
        parts, self.base = urlsplit(uri.strip()), httpjson.base_url(uri)
        if not self.base or parts.query or parts.fragment:
            shown = repr(uri) if "@" not in uri else "the URI"
            raise ConfigError(
                f"--tracking-uri {shown} is not an http(s)://HOST[:PORT][/PATH] URL of an MLflow server, "
                "e.g. http://mlflow:5000; for a local mlruns/ folder use --path"
            )
        if parts.username and not username:
            username, password = unquote(parts.username), unquote(parts.password or "")
        if (username or password) and not (username and password):
            raise ConfigError("MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD go together; set both")
        self.http = httpjson.Service(
            name=f"MLflow at {self.base}",
            option="--tracking-uri",
            login=AUTH_HINT,
            kind="an MLflow server",
            not_found="check --tracking-uri: the server's base URL, e.g. http://mlflow:5000",
            timeout=TIMEOUT,
            token=token or None,
            username=username or None,  # basic auth wins over a token
            password=password or None,
        )

    def pages(self, method: str, endpoint: str, items: str, request: dict[str, Any]) -> list[Any]:
        """The `items` of every page of a paginated endpoint, following next_page_token."""
        found: list[Any] = []
        seen: set[str] = set()
        token = None
        while True:
            answer = self.call(method, endpoint, dict(request, page_token=token) if token else request)
            page = answer.get(items, [])
            if not isinstance(page, list):
                raise InputError(f"MLflow at {self.base}: {endpoint} returned {items!r} that is not a list")
            found.extend(page)
            token = answer.get("next_page_token")
            if not token:
                return found
            if not isinstance(token, str) or token in seen:
                raise InputError(f"MLflow at {self.base}: {endpoint} repeated a page token; its pagination is broken")
            seen.add(token)

    def call(self, method: str, endpoint: str, request: dict[str, Any]) -> dict[str, Any]:
        """One API call: a JSON body for POST, query parameters for GET; the answer's JSON object."""
        url, where = self.base + API + endpoint, f"MLflow at {self.base} ({method} {API}{endpoint})"
        answer = self.http.get(url, where, request) if method == "GET" else self.http.post(url, where, request)
        if not isinstance(answer, dict):
            raise InputError(f"{where}: the answer is JSON but not an object; is this an MLflow server?")
        return answer


def _run(item: Any, base: str) -> Run:
    """A Run from one runs/search entry ({"info": {...}, "data": {"metrics", "params", "tags"}})."""
    info = item.get("info") if isinstance(item, dict) else None
    run_id = info.get("run_id") or info.get("run_uuid") if isinstance(info, dict) else None
    if not isinstance(info, dict) or not isinstance(run_id, str) or not run_id:
        raise InputError(f"MLflow at {base}: runs/search returned a run without info.run_id")
    where = f"MLflow at {base} run {run_id}"
    data = item.get("data") or {}
    tags, metrics = (data.get(k) or [] if isinstance(data, dict) else None for k in ("tags", "metrics"))
    if not isinstance(tags, list) or not isinstance(metrics, list):
        raise InputError(f"{where}: data.tags and data.metrics must be lists")
    try:
        tag_map = {str(t["key"]): str(t.get("value", "")) for t in tags}
        keys = frozenset(str(m["key"]) for m in metrics)
    except (TypeError, KeyError, AttributeError):
        raise InputError(f"{where}: a tag or metric has no key") from None
    return Run(
        run_id=run_id,
        experiment_id=str(info.get("experiment_id", "")),
        name=str(info.get("run_name") or tag_map.get("mlflow.runName") or "") or None,
        user_id=str(info.get("user_id") or "") or None,
        status=status_word(info.get("status", "RUNNING"), where),
        start_ms=_ms(info.get("start_time"), f"{where} start_time"),
        end_ms=_ms(info.get("end_time"), f"{where} end_time"),
        tags=tag_map,
        metric_keys=keys,
        where=where,
    )


def _point(item: Any, where: str) -> Point:
    """(timestamp ms, value) of one metric of get-history; int64 may arrive as JSON text."""
    if not isinstance(item, dict):
        raise InputError(f"{where}: a metric point is not an object")
    ts = _ms(item.get("timestamp"), f"{where} timestamp")
    value = item.get("value")
    if ts is None:
        raise InputError(f"{where}: a metric point has no timestamp")
    try:
        return ts, finite(float(value)) if value is not None else None
    except (TypeError, ValueError):
        raise InputError(f"{where}: metric value {value!r} is not a number") from None


def _ms(value: Any, where: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    raise InputError(f"{where}: {value!r} is not epoch milliseconds")
