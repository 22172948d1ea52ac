"""Real alert receivers for the tests: an SMTP server (aiosmtpd, in a thread, on a free port)
and an HTTP webhook receiver (stdlib) that checks the HMAC itself, independently of our code."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


@dataclass
class SmtpInbox:
    """What the SMTP server received, and the logins it accepted."""

    port: int
    messages: list[Message] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)
    envelopes: list[Envelope] = field(default_factory=list)


class _Handler:
    def __init__(self, inbox: SmtpInbox) -> None:
        self.inbox = inbox

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        self.inbox.envelopes.append(envelope)
        self.inbox.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    # aiosmtpd's start() connects to its own port to check it is up, so port 0 will not do.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def smtp_server(*, user: str, password: str) -> Iterator[SmtpInbox]:
    """An SMTP server requiring ``user``/``password`` (AUTH allowed without TLS, as on a LAN)."""
    inbox = SmtpInbox(port=_free_port())

    def authenticate(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            user.encode(),
            password.encode(),
        )
        if ok:
            inbox.logins.append((user, mechanism))
        return AuthResult(success=ok)

    controller = Controller(
        _Handler(inbox),
        hostname="127.0.0.1",
        port=inbox.port,
        authenticator=authenticate,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


@dataclass
class WebhookInbox:
    """Bodies the receiver accepted (signature valid) and how many it refused; ``raw`` keeps
    each accepted request's headers and bytes as they arrived."""

    url: str
    accepted: list[dict[str, Any]] = field(default_factory=list)
    raw: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    refused: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def texts(self) -> list[str]:
        with self.lock:
            return [str(b["text"]) for b in self.accepted]


@contextmanager
def webhook_receiver(*, secret: str, path: str = "/hooks/alerts") -> Iterator[WebhookInbox]:
    """An HTTP server that accepts a POST only with a valid ``X-Newsrelay-Signature``."""
    inbox = WebhookInbox(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            ts = self.headers.get("X-Newsrelay-Timestamp", "")
            expected = hmac.new(
                secret.encode(), ts.encode() + b"." + body, hashlib.sha256
            ).hexdigest()
            given = self.headers.get("X-Newsrelay-Signature", "")
            valid = bool(ts) and hmac.compare_digest(given, "sha256=" + expected)
            with inbox.lock:
                if valid:
                    inbox.accepted.append(json.loads(body))
                    inbox.raw.append((dict(self.headers.items()), body))
                else:
                    inbox.refused += 1
            self.send_response(200 if valid else 401)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    inbox.url = f"http://127.0.0.1:{server.server_address[1]}{path}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield inbox
    finally:
        server.shutdown()
        server.server_close()
