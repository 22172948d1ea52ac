"""What the X and Meta OAuth clients share: PKCE, ``state``, the config error, token-endpoint
error classification.

The clients (:mod:`adapters.x_oauth`, :mod:`adapters.meta_oauth`) are pure HTTP on an injected
``httpx.Client``: they never store anything, never log, and never put a token, code or secret
into an exception message.  Their failures are the delivery error tree (:mod:`adapters.errors`)::

    AuthExpiredError        the grant is dead (code used or expired, refresh token spent or
                            revoked, Meta 190): the person must connect the account again
    PermissionDeniedError   newsrelay's app credentials or redirect URI are refused: fix config
    RateLimitedError        throttled; retry after ``reset_at``
    RetryableError          5xx, or the platform could not be reached: retry later
    PermanentError          anything else the platform refused
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from adapters.errors import (
    AuthExpiredError,
    DeliveryError,
    PermanentError,
    PermissionDeniedError,
    RateLimitedError,
    RetryableError,
)
from adapters.transport import clip, json_body, redact


class OAuthConfigError(RuntimeError):
    """The platform's app credentials are not configured; the message names the variables."""


@dataclass(frozen=True)
class PkcePair:
    """A PKCE verifier (kept server-side with ``state``) and its S256 challenge (sent)."""

    verifier: str = field(repr=False)
    challenge: str
    method: str = "S256"


def new_pkce_pair() -> PkcePair:
    """A fresh verifier of 64 unreserved characters (RFC 7636 §4.1) and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)  # 64 characters of [A-Za-z0-9_-]
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    challenge = base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")
    return PkcePair(verifier=verifier, challenge=challenge)


def new_state() -> str:
    """An unguessable ``state`` value (X allows at most 500 characters)."""
    return secrets.token_urlsafe(32)


def expires_at(expires_in: Any, *, now: datetime | None = None) -> datetime | None:
    """The expiry instant of an ``expires_in`` (seconds), or None when absent or not a number."""
    if isinstance(expires_in, bool) or not isinstance(expires_in, int | float):
        return None
    return (now or datetime.now(UTC)) + timedelta(seconds=float(expires_in))


def from_epoch(value: Any) -> datetime | None:
    """A Unix timestamp as UTC; 0 or a missing value is None (Meta's "never expires")."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    return datetime.fromtimestamp(value, UTC)


def success_object(response: httpx.Response, *, platform: str, action: str) -> dict[str, Any]:
    """The JSON object of a 2xx answer; PermanentError when there is none."""
    body = json_body(response)
    if not isinstance(body, dict):
        raise PermanentError(
            f"{platform} answered the request to {action} with HTTP {response.status_code} "
            "but no JSON object.",
            http_status=response.status_code,
        )
    return body


def transport_level_error(
    response: httpx.Response, *, platform: str, action: str
) -> DeliveryError | None:
    """5xx → RetryableError and 429 → RateLimitedError, else None (the caller classifies)."""
    status = response.status_code
    if status >= 500:
        return RetryableError(
            f"{platform} failed to {action} (HTTP {status}); nothing changed, retry later.",
            http_status=status,
        )
    if status == 429:
        reset = response.headers.get("x-rate-limit-reset")
        reset_at = datetime.fromtimestamp(int(reset), UTC) if reset and reset.isdigit() else None
        return RateLimitedError(
            f"{platform} throttled the request to {action} (HTTP 429); retry later.",
            http_status=status,
            reset_at=reset_at,
        )
    return None


# RFC 6749 §5.2 error codes: which mean "the grant is dead" and which "our app is refused".
DEAD_GRANT_ERRORS = frozenset({"invalid_grant", "invalid_request"})
APP_REFUSED_ERRORS = frozenset({"invalid_client", "unauthorized_client"})


def classify_token_endpoint_error(
    response: httpx.Response,
    *,
    platform: str,
    action: str,
    secrets_: tuple[str, ...] = (),
    config_hint: str = "",
) -> DeliveryError:
    """The error for a non-2xx answer of an RFC 6749 token endpoint (X's ``/2/oauth2/*``).

    X answers ``invalid_request`` for a spent refresh token or a bad code/verifier and
    ``invalid_grant`` has been seen for the same (PLATFORMS.md §1.4): both mean reconnect.
    """
    early = transport_level_error(response, platform=platform, action=action)
    if early is not None:
        return early
    body = json_body(response)
    body = body if isinstance(body, dict) else {}
    error = str(body.get("error") or "")
    said = clip(redact(str(body.get("error_description") or error or "no reason"), secrets_))
    status = response.status_code
    ref = f"({error or 'no error code'}, HTTP {status})"
    if error in DEAD_GRANT_ERRORS:
        return AuthExpiredError(
            f"{platform} refused to {action}: {said} {ref}. The authorization is no longer "
            f"valid: connect the {platform} account again.",
            http_status=status,
            code=error,
        )
    if error in APP_REFUSED_ERRORS:
        return PermissionDeniedError(
            f"{platform} refused newsrelay's app credentials to {action}: {said} {ref}. "
            f"{config_hint}".strip(),
            http_status=status,
            code=error,
        )
    return PermanentError(
        f"{platform} refused to {action}: {said} {ref}.", http_status=status, code=error or None
    )
