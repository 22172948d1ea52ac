"""Alert delivery: a signed, Slack-compatible webhook and SMTP email.

The webhook is signed like the webhooks we receive (:func:`scheduler.intake.webhooks.sign`):
``X-Newsrelay-Timestamp`` and ``X-Newsrelay-Signature: sha256=HMAC(secret, "<ts>.<body>")``.
No secret (webhook secret, SMTP password, the webhook URL's path, which for Slack *is* a
secret) is ever put in a message, a log line or a stored error: errors are reduced to their
type and the destination's host.
"""

from __future__ import annotations

import json
import smtplib
import time
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import urlsplit

import httpx

from config.settings import AlertSettings
from scheduler.intake.webhooks import sign
from scheduler.runtime.logs import get_logger

log = get_logger(__name__)

#: How the message begins, by what happened to the alert.
PREFIX = {"open": "ALERT", "reminder": "STILL OPEN", "resolved": "RESOLVED"}


@dataclass(frozen=True)
class AlertMessage:
    """One message about one alert key."""

    key: str
    condition: str
    kind: str  # open | reminder | resolved
    text: str
    count: int

    @property
    def headline(self) -> str:
        return f"[newsrelay] {PREFIX[self.kind]}: {self.text}"


def slack_body(message: AlertMessage) -> dict[str, object]:
    """A Slack-compatible body: ``text`` for notifications, ``blocks`` for the layout."""
    context = f"condition `{message.condition}` · key `{message.key}`"
    if message.count > 1:
        context += f" · {message.count} affected"
    return {
        "text": message.headline,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{message.headline}*"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]},
        ],
    }


def _host(url: str) -> str:
    return urlsplit(url).hostname or "?"


def send_webhook(
    *, settings: AlertSettings, message: AlertMessage, client: httpx.Client | None = None
) -> None:
    """POST the signed body; raises :class:`AlertDeliveryError` unless the receiver says 2xx."""
    assert settings.webhook_url
    body = json.dumps(slack_body(message), ensure_ascii=False).encode("utf-8")
    ts = str(int(time.time()))
    headers = {"Content-Type": "application/json", "X-Newsrelay-Timestamp": ts}
    if settings.webhook_secret is not None:
        headers["X-Newsrelay-Signature"] = sign(
            settings.webhook_secret.get_secret_value(), ts, body
        )
    own = client is None
    http = client or httpx.Client(timeout=settings.timeout_seconds)
    try:
        response = http.post(settings.webhook_url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise AlertDeliveryError(
            f"webhook to {_host(settings.webhook_url)}: {type(exc).__name__}"
        ) from None
    finally:
        if own:
            http.close()
    if not response.is_success:
        raise AlertDeliveryError(
            f"webhook to {_host(settings.webhook_url)}: HTTP {response.status_code}"
        )


def send_email(*, settings: AlertSettings, message: AlertMessage) -> None:
    """Send over SMTP (STARTTLS when configured, login when a user is set)."""
    assert settings.smtp_host and settings.email_to
    mail = EmailMessage()
    mail["Subject"] = message.headline[:200]
    mail["From"] = settings.smtp_from
    mail["To"] = ", ".join(settings.email_to)
    lines = [message.headline, "", f"Condition: {message.condition}", f"Key: {message.key}"]
    if message.count > 1:
        lines.append(f"Affected: {message.count}")
    mail.set_content("\n".join(lines) + "\n")
    try:
        with smtplib.SMTP(
            settings.smtp_host, settings.smtp_port, timeout=settings.timeout_seconds
        ) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_user and settings.smtp_password is not None:
                smtp.login(settings.smtp_user, settings.smtp_password.get_secret_value())
            smtp.send_message(mail)
    except (OSError, smtplib.SMTPException) as exc:
        # smtplib's messages can echo the server's reply; the type and host say enough.
        raise AlertDeliveryError(f"email via {settings.smtp_host}: {type(exc).__name__}") from None


class AlertDeliveryError(Exception):
    """A destination refused or could not be reached; the text holds no secret."""


def deliver(
    *, settings: AlertSettings, message: AlertMessage, client: httpx.Client | None = None
) -> tuple[list[str], list[str]]:
    """Send to every configured destination: (where it went, what failed, in words)."""
    sent: list[str] = []
    errors: list[str] = []
    if settings.webhook_url:
        try:
            send_webhook(settings=settings, message=message, client=client)
            sent.append("webhook")
        except AlertDeliveryError as exc:
            errors.append(str(exc))
    if settings.smtp_host and settings.email_to:
        try:
            send_email(settings=settings, message=message)
            sent.append("email")
        except AlertDeliveryError as exc:
            errors.append(str(exc))
    for error in errors:
        log.warning("alert_delivery_failed", key=message.key, error=error)
    return sent, errors
