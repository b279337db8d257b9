"""E-mail through SMTP configured by environment variables: the digest and alerts share this one path.

``ENGAGEMENT_SMTP_HOST`` (required to send), ``ENGAGEMENT_SMTP_PORT`` (default 587 with STARTTLS, else 25),
``ENGAGEMENT_SMTP_USER`` and ``ENGAGEMENT_SMTP_PASSWORD`` (log in when both are set), ``ENGAGEMENT_SMTP_FROM``
(default the user, else ``engagement@localhost``), ``ENGAGEMENT_SMTP_STARTTLS`` (``1`` to upgrade the
connection with STARTTLS before logging in; the password never travels in clear text unless it is ``0``) and
``ENGAGEMENT_SMTP_TIMEOUT`` (seconds, default 30).
"""

from __future__ import annotations

import os
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage


class MailError(RuntimeError):
    """Mail is not configured, or the server refused or could not be reached (the message says which)."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    user: str | None
    password: str | None
    sender: str
    starttls: bool
    timeout: float


def settings_from_env(env=os.environ) -> SmtpSettings:
    host = env.get("ENGAGEMENT_SMTP_HOST", "").strip()
    if not host:
        raise MailError("E-mail is not configured: set ENGAGEMENT_SMTP_HOST (and ENGAGEMENT_SMTP_PORT, "
                        "ENGAGEMENT_SMTP_USER, ENGAGEMENT_SMTP_PASSWORD, ENGAGEMENT_SMTP_FROM, "
                        "ENGAGEMENT_SMTP_STARTTLS as needed; see docs/leadership.md).")
    starttls = env.get("ENGAGEMENT_SMTP_STARTTLS", "0").strip().lower() in ("1", "true", "yes")
    try:
        port = int(env.get("ENGAGEMENT_SMTP_PORT", "587" if starttls else "25"))
        timeout = float(env.get("ENGAGEMENT_SMTP_TIMEOUT", "30"))
    except ValueError:
        raise MailError("ENGAGEMENT_SMTP_PORT and ENGAGEMENT_SMTP_TIMEOUT must be numbers.") from None
    user = env.get("ENGAGEMENT_SMTP_USER") or None
    password = env.get("ENGAGEMENT_SMTP_PASSWORD") or None
    if user and password and not starttls and env.get("ENGAGEMENT_SMTP_ALLOW_PLAIN_LOGIN") != "1":
        raise MailError("Refusing to send the SMTP password over an unencrypted connection: set "
                        "ENGAGEMENT_SMTP_STARTTLS=1 (or ENGAGEMENT_SMTP_ALLOW_PLAIN_LOGIN=1 for a local relay).")
    sender = env.get("ENGAGEMENT_SMTP_FROM") or user or "engagement@localhost"
    return SmtpSettings(host, port, user, password, sender, starttls, timeout)


def build_message(sender: str, to: str | list[str], subject: str, text: str, html: str | None = None,
                  attachments: tuple[tuple[str, bytes, str], ...] = ()) -> EmailMessage:
    """A message with a plain-text body, an optional HTML alternative and attachments (name, bytes, MIME type)."""
    recipients = [to] if isinstance(to, str) else list(to)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    for name, data, mime in attachments:
        maintype, subtype = mime.split("/", 1)
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message


def send(to: str | list[str], subject: str, text: str, html: str | None = None,
         attachments: tuple[tuple[str, bytes, str], ...] = (), settings: SmtpSettings | None = None) -> None:
    """Send one message; :class:`MailError` says what went wrong."""
    settings = settings or settings_from_env()
    message = build_message(settings.sender, to, subject, text, html, attachments)
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp:
            if settings.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.user and settings.password:
                smtp.login(settings.user, settings.password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"Sending to {message['To']} through {settings.host}:{settings.port} failed: "
                        f"{type(exc).__name__}: {exc}") from exc
