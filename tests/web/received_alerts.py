"""What the alert receivers got, as simple HTML pages for the README's screenshots: the email
as the SMTP server received it, and the webhook request with its signature checked."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from email.message import EmailMessage
from html import escape

from tests.ops.alert_receivers import SmtpInbox

STYLE = """<style>
body { font: 15px/1.45 system-ui, "Noto Sans", sans-serif; margin: 1.5rem; color: #1b1f24;
  background: #f5f7f9; max-width: 60rem; }
h1 { font-size: 1.3rem; } .card { background: #fff; border: 1px solid #d9dee4;
  border-radius: 8px; padding: .75rem 1rem; margin: 1rem 0; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: 0; }
dt { color: #5b6470; }
dd { margin: 0; font-family: ui-monospace, monospace; overflow-wrap: anywhere; }
pre { background: #1b1f24; color: #f5f7f9; padding: .75rem 1rem; border-radius: 6px;
  white-space: pre-wrap; word-break: break-word; }
.ok { color: #116329; font-weight: 700; }
.slack { border-left: 4px solid #0b3d91; padding-left: .75rem; }
</style>"""


def _page(title: str, *sections: str) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}'
        f"</title>{STYLE}</head><body><main><h1>{escape(title)}</h1>{''.join(sections)}"
        "</main></body></html>"
    )


def _facts(rows: list[tuple[str, str]]) -> str:
    cells = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in rows)
    return f"<dl>{cells}</dl>"


def received_email_page(mail: EmailMessage, inbox: SmtpInbox) -> str:
    """The envelope, the login the server accepted, the headers and the text of ``mail``."""
    envelope = inbox.envelopes[inbox.messages.index(mail)]
    login = ", ".join(f"{user} ({mechanism})" for user, mechanism in inbox.logins[:1])
    smtp = [
        ("server", f"aiosmtpd on 127.0.0.1:{inbox.port}"),
        ("AUTH", login or "none"),
        ("MAIL FROM", str(envelope.mail_from)),
        ("RCPT TO", ", ".join(envelope.rcpt_tos)),
    ]
    headers = [(k, str(mail[k])) for k in ("Subject", "From", "To", "Content-Type") if mail[k]]
    return _page(
        "Received by the SMTP server",
        f'<section class="card"><h2>SMTP session</h2>{_facts(smtp)}</section>',
        f'<section class="card"><h2>Headers</h2>{_facts(headers)}</section>',
        f'<section class="card"><h2>Text</h2><pre>{escape(mail.get_content())}</pre></section>',
    )


def received_webhook_page(url: str, headers: dict[str, str], body: bytes, *, secret: str) -> str:
    """The request line, the headers, the signature recomputed here, the body and the
    Slack message it makes (``text`` and the ``blocks``' mrkdwn)."""
    ts, given = headers["X-Newsrelay-Timestamp"], headers["X-Newsrelay-Signature"]
    path = url.split("/", 3)[3]
    shown = [
        (k, headers[k])
        for k in ("Content-Type", "X-Newsrelay-Timestamp", "X-Newsrelay-Signature")
        if k in headers
    ]
    verdict = "Signature valid" if _valid(secret, given, ts, body) else "Signature INVALID"
    payload = json.loads(body)
    blocks = "".join(
        f"<p>{_mrkdwn(e['text'])}</p>"
        for b in payload["blocks"]
        for e in ([b["text"]] if "text" in b else b["elements"])
    )
    check = (
        f'<p id="verified" class="ok">{verdict}</p>'
        "<p>sha256= hex HMAC-SHA256(webhook secret, &lt;X-Newsrelay-Timestamp&gt; + "
        '"." + raw body), recomputed by the receiver</p>'
    )
    return _page(
        "Received by the webhook receiver",
        f'<section class="card"><h2>POST /{escape(path)}</h2>{_facts(shown)}{check}</section>',
        "<section class=card><h2>Body (Slack-compatible JSON)</h2>"
        f"<pre>{escape(json.dumps(payload, indent=2, ensure_ascii=False))}</pre></section>",
        '<section class="card"><h2>The message, its mrkdwn rendered</h2>'
        f'<div class="slack">{blocks}</div></section>',
    )


def _valid(secret: str, given: str, ts: str, body: bytes) -> bool:
    mac = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest(given, "sha256=" + mac.hexdigest())


def _mrkdwn(text: str) -> str:
    """Slack's *bold* and `code`, enough for the alert's two blocks."""
    html = re.sub(r"\*([^*]+)\*", r"<strong>\1</strong>", escape(text))
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html)
