"""The tokens the sandbox's authorization servers issued, and the apps registered with them.

A token is valid only if the sandbox issued it (and it is neither expired nor revoked), with
one exception: the fixed ``sandbox-token-<account>`` credentials the embedded default seeds its
channels with (and the tests use) are pre-issued tokens that never expire.

Expiry is judged on the book's own clock, which an admin endpoint can move forward so a test
sees a token expire without sleeping.  One lock guards the book; nothing here does I/O.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from adapters.sandbox.wire import account_from_token
from config.settings import (
    SANDBOX_META_APP_ID,
    SANDBOX_META_APP_SECRET,
    SANDBOX_X_CLIENT_ID,
    SANDBOX_X_CLIENT_SECRET,
)

TokenKind = Literal["x_access", "x_refresh", "meta_user", "meta_page"]
TokenStatus = Literal["valid", "expired", "revoked", "unknown"]

# The X auth code is valid for 30 seconds (PLATFORMS.md §1.4).  Meta documents its codes as
# single-use but gives no lifetime; ten minutes is this emulator's choice.
X_CODE_SECONDS = 30
META_CODE_SECONDS = 600
# "Long-lived tokens generally last about 60 days" (PLATFORMS.md §4.2); 5183944 is the
# expires_in observed in real answers.
META_LONG_LIVED_SECONDS = 5_183_944
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
#: The sandbox users who approve every authorization (an admin endpoint can change them): the
#: same accounts as the embedded default's seeded channels.
DEFAULT_X_USER = "1700000000000000001"
DEFAULT_META_USER = "10000000000000042"


@dataclass
class Token:
    """One issued token.  ``expires_at`` None means it never expires."""

    value: str = field(repr=False)
    kind: TokenKind
    subject: str
    scopes: tuple[str, ...]
    grant_id: str
    issued_at: float
    expires_at: float | None
    long_lived: bool = False
    revoked: bool = False
    spent: bool = False

    def status(self, now: float) -> TokenStatus:
        if self.revoked or self.spent:
            return "revoked"
        if self.expires_at is not None and now >= self.expires_at:
            return "expired"
        return "valid"


@dataclass
class AuthCode:
    """An authorization code waiting to be exchanged (once)."""

    value: str = field(repr=False)
    platform: str
    subject: str
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    expires_at: float
    challenge: str | None = None
    challenge_method: str | None = None
    used: bool = False


@dataclass(frozen=True)
class Lookup:
    """What a presented token turned out to be."""

    status: TokenStatus
    token: Token | None = None
    static_account: str | None = None

    @property
    def valid(self) -> bool:
        return self.status == "valid"


@dataclass
class Apps:
    """The registered OAuth apps and their redirect URIs.

    ``redirect_uris`` None means "any http(s) URI on a loopback host": the embedded default's
    callback lives on 127.0.0.1, whatever port and path the API uses.
    """

    x_client_id: str = SANDBOX_X_CLIENT_ID
    x_client_secret: str = field(default=SANDBOX_X_CLIENT_SECRET, repr=False)
    meta_app_id: str = SANDBOX_META_APP_ID
    meta_app_secret: str = field(default=SANDBOX_META_APP_SECRET, repr=False)
    redirect_uris: frozenset[str] | None = None

    def redirect_allowed(self, uri: str | None) -> bool:
        """Whether ``uri`` is registered (an exact match, as both platforms require)."""
        if not uri:
            return False
        if self.redirect_uris is not None:
            return uri in self.redirect_uris
        parts = urlsplit(uri)
        return parts.scheme in ("http", "https") and parts.hostname in _LOOPBACK_HOSTS


class GrantBook:
    """Authorization codes and tokens; every method is thread-safe."""

    def __init__(self, *, token_ttl_seconds: int = 7200, apps: Apps | None = None) -> None:
        self.token_ttl_seconds = token_ttl_seconds
        self.apps = apps or Apps()
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        """Forget every code and token and reset the clock (static tokens stay valid)."""
        with self._lock:
            self._codes: dict[str, AuthCode] = {}
            self._tokens: dict[str, Token] = {}
            self._offset = 0.0
            self.x_login = DEFAULT_X_USER
            self.meta_login = DEFAULT_META_USER

    # --- the clock ---------------------------------------------------------------------------
    def now(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> float:
        """Move the token clock forward; returns the total offset."""
        with self._lock:
            self._offset += max(0.0, seconds)
            return self._offset

    # --- authorization codes -------------------------------------------------------------------
    def new_code(self, code: AuthCode) -> str:
        with self._lock:
            self._codes[code.value] = code
            return code.value

    def take_code(self, value: str | None) -> tuple[AuthCode | None, str]:
        """The code and ``"ok"``, or None and why not: ``unknown``, ``used`` or ``expired``.

        A code is spent by the first exchange attempt that names it, even a failed one, so a
        replayed callback can never mint a second token.
        """
        with self._lock:
            code = self._codes.get(value or "")
            if code is None:
                return None, "unknown"
            if code.used:
                return code, "used"
            code.used = True
            if self.now() >= code.expires_at:
                return code, "expired"
            return code, "ok"

    # --- tokens ------------------------------------------------------------------------------
    def issue(
        self,
        kind: TokenKind,
        subject: str,
        scopes: tuple[str, ...],
        *,
        lifetime: float | None,
        grant_id: str | None = None,
        long_lived: bool = False,
    ) -> Token:
        """A new token; ``lifetime`` None never expires."""
        prefix = "EAA" if kind.startswith("meta") else ""
        with self._lock:
            now = self.now()
            token = Token(
                value=prefix + secrets.token_urlsafe(40),
                kind=kind,
                subject=subject,
                scopes=scopes,
                grant_id=grant_id or secrets.token_hex(8),
                issued_at=now,
                expires_at=None if lifetime is None else now + lifetime,
                long_lived=long_lived,
            )
            self._tokens[token.value] = token
            return token

    def lookup(self, value: str | None, kinds: tuple[TokenKind, ...]) -> Lookup:
        """What ``value`` is among tokens of ``kinds`` (static sandbox tokens are valid)."""
        static = account_from_token(value)
        if static is not None:
            return Lookup("valid", static_account=static)
        with self._lock:
            token = self._tokens.get(value or "")
            if token is None or token.kind not in kinds:
                return Lookup("unknown")
            return Lookup(token.status(self.now()), token)

    def spend(self, value: str | None, kind: TokenKind) -> Lookup:
        """Look up a single-use token and, if valid, mark it spent in the same step."""
        with self._lock:
            token = self._tokens.get(value or "")
            if token is None or token.kind != kind:
                return Lookup("unknown")
            status = token.status(self.now())
            if status == "valid":
                token.spent = True
            return Lookup(status, token)

    def revoke_token(self, value: str | None) -> bool:
        """Revoke one token; False when it is not one the book issued."""
        with self._lock:
            token = self._tokens.get(value or "")
            if token is None:
                return False
            token.revoked = True
            return True

    def revoke_subject(self, subject: str, *, platform: str | None = None) -> int:
        """Revoke every token of ``subject`` and every token in the same grants; the count."""
        with self._lock:
            grants = {
                t.grant_id
                for t in self._tokens.values()
                if t.subject == subject and (platform is None or t.kind.startswith(platform))
            }
            hit = [t for t in self._tokens.values() if t.grant_id in grants and not t.revoked]
            for token in hit:
                token.revoked = True
            return len(hit)
