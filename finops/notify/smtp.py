"""SMTP email: STARTTLS with a verified certificate (the system's CAs, or SSL_CERT_FILE) and login
from the environment; plain SMTP only to a relay on localhost, and only when configured so."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, TextIO

from finops.config import NotifySettings
from finops.notify import DeliveryError, scrub, secret, text


@dataclass(frozen=True)
class Smtp:
    """One email per alert to every address in `to`."""

    key: str
    channel: NotifySettings
    username: str | None
    password: str | None = field(repr=False)

    @classmethod
    def open(cls, channel: NotifySettings, key: str, environ: Mapping[str, str], stdout: TextIO) -> Smtp:
        username = secret(environ, channel.username_env, f"{key}.username_env") if channel.username_env else None
        password = secret(environ, channel.password_env, f"{key}.password_env") if channel.password_env else None
        return cls(key, channel, username, password)

    def send(self, message: dict[str, Any]) -> None:
        channel = self.channel
        assert channel.host is not None and channel.sender is not None  # checked on load
        mail = EmailMessage()
        mail["Subject"] = message["title"]
        mail["From"] = channel.sender
        mail["To"] = ", ".join(channel.to)
        mail.set_content("\n".join(text.lines(message)) + "\n")
        starttls = channel.security == "starttls"
        port = channel.port or (587 if starttls else 25)
        where = f"{self.key} ({channel.name}): SMTP {channel.host}:{port}"
        try:
            with smtplib.SMTP(channel.host, port, timeout=channel.timeout) as smtp:
                if starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username is not None:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(mail)
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(
                f"{where}: login refused ({exc.smtp_code}); check {channel.username_env} and {channel.password_env}"
            ) from None
        except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
            reason = scrub(str(exc) or type(exc).__name__, [self.password or ""])
            raise DeliveryError(f"{where}: {type(exc).__name__}: {reason}") from None
