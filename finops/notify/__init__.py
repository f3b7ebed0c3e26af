"""Notification channels behind one interface: a registry from a [[notify]] type to its sender.

A sender takes one alert message (the JSON-able dict finops/alert_state.py builds) and delivers it or
raises DeliveryError; the message stays pending and the next `finops alert` retries it. Secrets (webhook
URLs, HMAC keys, SMTP passwords) are read from the environment variables the channel names, when the
channel is opened, and never appear in a message, an error or the store.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, TextIO

from finops.config import NotifySettings
from finops.errors import ConfigError, FinopsError


class DeliveryError(FinopsError):
    """A channel failed to deliver a message; it stays pending for the next run."""


class Sender(Protocol):
    """An open channel."""

    def send(self, message: dict[str, Any]) -> None: ...


Opener = Callable[[NotifySettings, str, Mapping[str, str], TextIO], Sender]


def secret(environ: Mapping[str, str], variable: str, key: str) -> str:
    """The value of the environment variable a channel names, or a ConfigError naming the key."""
    value = environ.get(variable, "")
    if not value:
        raise ConfigError(
            f"'{key}': environment variable {variable} is not set; export it "
            "(secrets are read from the environment, never from finops.toml)"
        )
    return value


def scrub(text: str, secrets: list[str]) -> str:
    """`text` with every secret (and a URL's path, which carries a webhook's token) replaced by ***."""
    for value in sorted(secrets, key=len, reverse=True):
        if value:
            text = text.replace(value, "***")
    return text


def open_channel(channel: NotifySettings, index: int, environ: Mapping[str, str], stdout: TextIO) -> Sender:
    """The sender of [[notify]] entry `index`; its secrets must be set in `environ`."""
    from finops.notify import smtp, terminal, webhook

    openers: dict[str, Opener] = {
        "terminal": terminal.Terminal.open,
        "jsonl": terminal.JsonLines.open,
        "slack": webhook.Slack.open,
        "webhook": webhook.Webhook.open,
        "smtp": smtp.Smtp.open,
    }
    return openers[channel.type](channel, f"notify[{index}]", environ, stdout)
