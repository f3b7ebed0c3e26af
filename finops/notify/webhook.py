"""HTTP channels: a Slack-compatible incoming webhook (Block Kit) and a generic JSON webhook with an
optional HMAC-SHA256 signature. Both go through finops.httpjson (no redirects, one-line errors); the
URL is a secret (a Slack webhook URL is its own credential) and is scrubbed from every error."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO
from urllib.parse import urlsplit

from finops import httpjson
from finops.config import NotifySettings
from finops.errors import ConfigError, FinopsError
from finops.notify import DeliveryError, scrub, secret, text

SIGNATURE_HEADER = "X-Finops-Signature"
TIMESTAMP_HEADER = "X-Finops-Timestamp"


def _post(
    service: httpjson.Service, url: str, key: str, body: bytes, headers: dict[str, str], secrets: list[str]
) -> None:
    try:
        service.deliver(url, key, body, headers)
    except (FinopsError, ValueError) as exc:
        raise DeliveryError(scrub(str(exc), secrets)) from None


def _url(channel: NotifySettings, key: str, environ: Mapping[str, str]) -> str:
    assert channel.url_env is not None  # checked on load
    url = secret(environ, channel.url_env, f"{key}.url_env")
    if not httpjson.base_url(url) or "@" in urlsplit(url).netloc:
        raise ConfigError(f"'{key}.url_env': {channel.url_env} must hold an http(s) URL without user:password@")
    return url


def _secrets(url: str) -> list[str]:
    parts = urlsplit(url)
    return [url, parts.path, parts.query]


@dataclass(frozen=True)
class Webhook:
    """POST the alert as JSON; with `secret_env`, sign `timestamp.body` with HMAC-SHA256.

    Headers: X-Finops-Timestamp (Unix seconds) and X-Finops-Signature: sha256=<hex>. A receiver
    recomputes the HMAC over the timestamp, a dot and the raw body, and rejects old timestamps.
    """

    key: str
    url: str = field(repr=False)
    signing_key: str | None = field(repr=False)
    service: httpjson.Service

    @classmethod
    def open(cls, channel: NotifySettings, key: str, environ: Mapping[str, str], stdout: TextIO) -> Webhook:
        url = _url(channel, key, environ)
        signing = secret(environ, channel.secret_env, f"{key}.secret_env") if channel.secret_env else None
        service = httpjson.Service(
            name=f"the webhook of {key} ({channel.name})",
            option=f"the URL in {channel.url_env}",
            login="check the receiver's credentials",
            timeout=float(channel.timeout),
        )
        return cls(key, url, signing, service)

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps(message, sort_keys=True).encode()
        headers = {}
        if self.signing_key is not None:
            stamp = str(int(time.time()))
            digest = hmac.new(self.signing_key.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
            headers = {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: f"sha256={digest}"}
        _post(self.service, self.url, self.key, body, headers, [*_secrets(self.url), self.signing_key or ""])


@dataclass(frozen=True)
class Slack:
    """A Slack (or Mattermost, Rocket.Chat) incoming webhook: Block Kit with the numbers and drivers."""

    key: str
    url: str = field(repr=False)
    service: httpjson.Service

    @classmethod
    def open(cls, channel: NotifySettings, key: str, environ: Mapping[str, str], stdout: TextIO) -> Slack:
        service = httpjson.Service(
            name=f"the Slack webhook of {key} ({channel.name})",
            option=f"the webhook URL in {channel.url_env}",
            login="create a new incoming webhook URL",
            timeout=float(channel.timeout),
        )
        return cls(key, _url(channel, key, environ), service)

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps(blocks(message)).encode()
        _post(self.service, self.url, self.key, body, {}, _secrets(self.url))


def _mrkdwn(value: str) -> str:
    """Slack's escaping: names from the bill cannot become links or mentions."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def blocks(message: dict[str, Any]) -> dict[str, Any]:
    """The Block Kit payload: a header, the numbers as fields, the drivers, and a context line."""
    title = message["title"]
    cur = message["currency"]
    if message["type"] == "budget":
        fields = [
            f"*Actual*\n{text.money(message['actual'])} {cur} ({message['actual_pct']}%)",
            f"*Forecast*\n{text.money(message.get('forecast'))} {cur}"
            + (f" ({message['forecast_pct']}%)" if message.get("forecast_pct") else ""),
            f"*Budget*\n{text.money(message['amount'])} {cur} ({message['basis']} cost)",
            f"*Period*\n{message['period_start']} to {message['period_end']}",
        ]
        drivers = [f"• {d['kind']} {_mrkdwn(d['name'])}: {text.money(d['cost'])} {cur}" for d in message["drivers"]]
        heading = "*Top drivers*"
    else:
        fields = [
            f"*Spent on {message['day']}*\n{text.money(message['actual'])} {cur}",
            f"*Expected*\n{text.money(message['expected'])} {cur}",
            f"*Above expected*\n{text.money(message['delta'])} {cur}",
            f"*Scope*\n{message['scope_kind']} {_mrkdwn(message['scope_value'])}",
        ]
        drivers = [
            f"• {c['kind']} {_mrkdwn(c['name'])}: +{text.money(c['delta'])} {cur}" for c in message["contributors"]
        ]
        heading = "*Top contributors*"
    payload: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]},
    ]
    if drivers:
        payload.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": heading + "\n" + "\n".join(drivers)[:2900]}}
        )
    payload.append(
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"finops alert · {message['status']} · as of {message['as_of']}"}],
        }
    )
    return {"text": title, "blocks": payload}
