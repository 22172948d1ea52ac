"""The web UI's session cookie, and the CSRF token that lives in it.

The cookie holds a small JSON dict (the opaque server-side session id, the CSRF token, one
flash message), signed with HMAC-SHA256 under ``settings.secret_key`` and stamped with its
issue time; it is HttpOnly and SameSite=Lax.  It never names the user: who is signed in comes
from the ``web_session`` row of the session id (:mod:`scheduler.access.sessions`), read on every
page request, so signing out, disabling an account or changing a password ends the session at
once even for a copy of the cookie.  Anonymous visitors need no row (the CSRF token of the
sign-in form and the flash live in the signed cookie).

API paths never read the cookie: the API takes API keys only (README, "HTTP API").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from config import Settings
from scheduler.access.auth import Principal
from scheduler.access.sessions import session_principal
from scheduler.db.engine import get_engine, session_scope

COOKIE_NAME = "newsrelay_session"
MAX_AGE_SECONDS = 12 * 60 * 60  # one working shift; then log in again


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionSigner:
    """Signs and verifies the session cookie's value."""

    def __init__(self, secret: str, *, max_age: int = MAX_AGE_SECONDS) -> None:
        # A key derived for this purpose only, so the cookie MAC is never a reusable oracle.
        self._key = hashlib.sha256(b"newsrelay-web-session\0" + secret.encode()).digest()
        self.max_age = max_age

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())

    def dumps(self, data: dict[str, Any], *, now: float | None = None) -> str:
        payload = {"d": data, "t": int(now if now is not None else time.time())}
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        return f"{body}.{self._mac(body)}"

    def loads(self, value: str, *, now: float | None = None) -> dict[str, Any] | None:
        """The session dict, or None if the cookie is forged, malformed or expired."""
        body, _, mac = value.partition(".")
        if not body or not hmac.compare_digest(mac, self._mac(body)):
            return None
        try:
            payload = json.loads(_unb64(body))
            issued, data = int(payload["t"]), payload["d"]
        except (ValueError, KeyError, TypeError):
            return None
        if not isinstance(data, dict) or (now or time.time()) - issued > self.max_age:
            return None
        return data


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_matches(session: dict[str, Any], token: str | None) -> bool:
    """Whether a submitted token is this session's CSRF token (constant time)."""
    expected = session.get("csrf")
    return bool(expected and token and hmac.compare_digest(str(expected), token))


def _load_principal(settings: Settings, session_id: str) -> Principal | None:
    with session_scope(get_engine(settings)) as db:
        return session_principal(session=db, token=session_id)


class WebSessionMiddleware:
    """Loads ``scope["session"]`` from the cookie and the signed-in user into ``request.state``.

    Paths under the API prefix are passed through untouched: the cookie is not read there, so
    a browser session can never authorize an API call (no CSRF exposure through the API).
    """

    def __init__(self, app: ASGIApp, *, settings: Settings, api_prefix: str) -> None:
        self.app = app
        self.settings = settings
        self.api_prefix = api_prefix
        self.signer = SessionSigner(settings.secret_key.get_secret_value())
        # Plain http on the embedded default; Secure cookies whenever the service is https.
        self.secure = settings.public_base_url.startswith("https://")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"] if scope["type"] in ("http", "websocket") else ""
        if not path or path.startswith(("/static/", self.api_prefix)):
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        raw = conn.cookies.get(COOKIE_NAME)
        data = (self.signer.loads(raw) if raw else None) or {}
        initial = json.dumps(data, sort_keys=True)
        scope["session"] = data
        user = None
        if data.get("sid"):
            user = await run_in_threadpool(_load_principal, self.settings, str(data["sid"]))
            if user is None:  # signed out elsewhere, expired, revoked: drop the cookie
                data.clear()
        scope.setdefault("state", {})["user"] = user

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                current = json.dumps(scope["session"], sort_keys=True)
                if current != initial or (raw and not data):
                    headers = MutableHeaders(scope=message)
                    headers.append("Set-Cookie", self._cookie(scope["session"]))
            await send(message)

        await self.app(scope, receive, send_wrapper)

    def _cookie(self, data: dict[str, Any]) -> str:
        flags = "Path=/; HttpOnly; SameSite=Lax" + ("; Secure" if self.secure else "")
        if not data:
            return f"{COOKIE_NAME}=; Max-Age=0; {flags}"
        return f"{COOKIE_NAME}={self.signer.dumps(data)}; Max-Age={MAX_AGE_SECONDS}; {flags}"
