"""The delivery error tree.

Every adapter classifies a platform failure into exactly one of these, keyed on the platform's
own codes (X: HTTP status plus problem ``type``; Meta: ``error.code``/``error_subcode``, never the
HTTP status).  The delivery service decides what to do from the class alone::

    DeliveryError
    ├── RetryableError          transient; definitely not published; back off and retry
    │   └── RateLimitedError    wait until ``reset_at`` (the platform's own reset time)
    │       ├── QuotaExceededError   a daily/monthly budget; wait for the window
    │       └── BlockedError         account restricted for spam; wait hours, never loop
    ├── PermanentError          this request will never succeed; fail with the platform's words
    │   └── DuplicateContentError    the platform already has this text (reconcile if ambiguous)
    ├── AuthExpiredError        the token is invalid; the channel must be reconnected
    │   └── PermissionDeniedError    scopes, role or app configuration
    └── UnknownOutcomeError     the request may have been accepted; reconcile, never blindly retry

``message`` is a redacted sentence a person can act on; it never contains a token.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any


class ErrorClass(StrEnum):
    """The class of a delivery failure, as stored in ``delivery_attempt.error_class``.

    The values are the column's strings (no migration): ``ErrorClass.AMBIGUOUS == "ambiguous"``.
    """

    ERROR = "error"
    RETRY = "retry"
    RATE_LIMITED = "rate_limited"
    QUOTA = "quota"
    BLOCKED = "blocked"
    PERMANENT = "permanent"
    DUPLICATE = "duplicate"
    REAUTH = "reauth"
    PERMISSION = "permission"
    AMBIGUOUS = "ambiguous"


#: The platform said when to come back: these attempts do not use up the retry budget.
RATE_LIMIT_CLASSES = frozenset({ErrorClass.RATE_LIMITED, ErrorClass.QUOTA, ErrorClass.BLOCKED})


class DeliveryError(Exception):
    """Base class: a platform call did not produce a published post."""

    error_class: ErrorClass = ErrorClass.ERROR

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        code: str | None = None,
        subcode: str | None = None,
        rate_limit: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.code = code
        self.subcode = subcode
        self.rate_limit = rate_limit or {}


class RetryableError(DeliveryError):
    """Transient failure; nothing was published; safe to retry with back-off."""

    error_class = ErrorClass.RETRY


class RateLimitedError(RetryableError):
    """The platform throttled us; retry no earlier than ``reset_at``."""

    error_class = ErrorClass.RATE_LIMITED

    def __init__(self, message: str, *, reset_at: datetime | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.reset_at = reset_at


class QuotaExceededError(RateLimitedError):
    """A daily, monthly or credit budget is exhausted."""

    error_class = ErrorClass.QUOTA


class BlockedError(RateLimitedError):
    """The account is temporarily restricted (spam suspicion); wait hours, do not hammer."""

    error_class = ErrorClass.BLOCKED


class PermanentError(DeliveryError):
    """This content or request will never succeed as it is."""

    error_class = ErrorClass.PERMANENT


class DuplicateContentError(PermanentError):
    """The platform refuses the text as a duplicate of an earlier post."""

    error_class = ErrorClass.DUPLICATE


class AuthExpiredError(DeliveryError):
    """The credentials are expired or revoked; the channel needs reconnecting."""

    error_class = ErrorClass.REAUTH


class PermissionDeniedError(AuthExpiredError):
    """The token lacks a scope, role or app permission."""

    error_class = ErrorClass.PERMISSION


class UnknownOutcomeError(DeliveryError):
    """The request may have been accepted (timeout or dropped connection after sending)."""

    error_class = ErrorClass.AMBIGUOUS


class ImageError(Exception):
    """An article image cannot be used; ``reason`` is a sentence for an editor."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
