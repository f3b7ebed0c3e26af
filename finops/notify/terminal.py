"""Channels that write to stdout: readable text for a person or cron mail, JSON lines for a program."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TextIO

from finops.config import NotifySettings
from finops.notify import text


@dataclass(frozen=True)
class Terminal:
    """Text: the title line, then indented details."""

    out: TextIO

    @classmethod
    def open(cls, channel: NotifySettings, key: str, environ: Mapping[str, str], stdout: TextIO) -> Terminal:
        return cls(stdout)

    def send(self, message: dict[str, Any]) -> None:
        self.out.write("\n".join(text.lines(message)) + "\n")
        self.out.flush()


@dataclass(frozen=True)
class JsonLines:
    """One JSON object per alert, amounts as exact strings."""

    out: TextIO

    @classmethod
    def open(cls, channel: NotifySettings, key: str, environ: Mapping[str, str], stdout: TextIO) -> JsonLines:
        return cls(stdout)

    def send(self, message: dict[str, Any]) -> None:
        self.out.write(json.dumps(message, sort_keys=True) + "\n")
        self.out.flush()
