"""Graph API error classification for Instagram and Facebook Pages: one table.

Meta errors are keyed on ``error.code`` and ``error.error_subcode``, never on the HTTP status:
the same code arrives as 400, 403, 429 or 500 (PLATFORMS.md §4.4).  Rules are tried in order,
most specific first; every row of PLATFORMS.md §5.2 and the codes of §3.4 and §4.4 have a rule.
Instagram container states (``ERROR``/``EXPIRED``) are classified through the same table.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from adapters.errors import (
    AuthExpiredError,
    BlockedError,
    ConfigurationError,
    DeliveryError,
    DuplicateContentError,
    PermanentError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitedError,
    RetryableError,
)
from adapters.ratelimit import meta_regain_minutes, meta_reset_at, parse_meta_usage
from adapters.transport import clip, json_body, redact

# A restricted account is paused for hours, never retried in a loop (§5 "BLOCKED").
BLOCKED_WAIT = timedelta(hours=6)
# The IG publishing cap is a rolling 24 h window (§3.3); look again in an hour.
QUOTA_RECHECK = timedelta(hours=1)
RATE_LIMIT_CODES = (4, 17, 32, 341, 613, 80001, 80002)
PERMISSION_CODES = (3, 10, *range(200, 300))


@dataclass(frozen=True)
class MetaErrorRule:
    """One row: every given key must match; the error class and a sentence for a person.

    ``new_container`` says the Instagram container is spent and must be created again.
    """

    name: str
    error: type[DeliveryError]
    explanation: str
    codes: tuple[int, ...] = ()
    subcodes: tuple[int, ...] = ()
    transient: bool | None = None
    message: str | None = None
    container_status: str | None = None
    server_error_without_body: bool = False
    new_container: bool = False


META_ERROR_TABLE: tuple[MetaErrorRule, ...] = (
    # --- Instagram subcodes (§3.4), most specific first -----------------------------------
    MetaErrorRule(
        "ig-media-unreachable",
        ConfigurationError,
        "Instagram could not fetch the image from the media store (code 9004 / 2207052): "
        "NEWSRELAY_MEDIA_BASE_URL must be a public https address Meta can reach. The channel "
        "is held; release it once the media store is reachable.",
        subcodes=(2207052,),
    ),
    MetaErrorRule(
        "media-fetch-failed",
        ConfigurationError,
        "Meta could not fetch the media from its URL (code 9004): NEWSRELAY_MEDIA_BASE_URL "
        "must be a public https address Meta can reach. The channel is held; release it once "
        "the media store is reachable.",
        codes=(9004,),
    ),
    MetaErrorRule(
        "ig-download-timeout",
        RetryableError,
        "Instagram timed out downloading the image; retry.",
        codes=(-2,),
        subcodes=(2207003,),
    ),
    MetaErrorRule(
        "ig-container-expired",
        RetryableError,
        "The Instagram container expired; a new one will be created.",
        codes=(-2,),
        subcodes=(2207020,),
        new_container=True,
    ),
    MetaErrorRule(
        "ig-server-error",
        RetryableError,
        "Instagram had a server error; retry.",
        codes=(-1,),
        subcodes=(2207001,),
    ),
    MetaErrorRule(
        "ig-create-failed",
        RetryableError,
        "Instagram failed to create the media; a new container will be created.",
        codes=(-1,),
        subcodes=(2207032, 2207053),
        new_container=True,
    ),
    MetaErrorRule(
        "ig-transient-2207082",
        RetryableError,
        "Instagram reported a temporary failure; retry.",
        subcodes=(2207082,),
    ),
    MetaErrorRule(
        "ig-media-not-ready",
        RetryableError,
        "The Instagram media is not ready for publishing yet; retry shortly.",
        codes=(9007,),
    ),
    MetaErrorRule(
        "ig-media-missing",
        RetryableError,
        "The Instagram media builder expired or the media is missing; a new container will "
        "be created.",
        subcodes=(2207006, 2207008),
        new_container=True,
    ),
    MetaErrorRule(
        "ig-bad-thumb-offset",
        PermanentError,
        "The video thumbnail offset is invalid; fix the request.",
        codes=(1,),
        subcodes=(2207057,),
    ),
    MetaErrorRule(
        "ig-activity-restricted",
        BlockedError,
        "Instagram restricted this account's activity (spam suspicion); pause it for hours.",
        codes=(4,),
        subcodes=(2207051,),
    ),
    MetaErrorRule(
        "ig-user-restricted",
        BlockedError,
        "The Instagram account is restricted; resolve it in the Instagram app.",
        subcodes=(2207050,),
    ),
    MetaErrorRule(
        "ig-publishing-cap",
        QuotaExceededError,
        "The Instagram account reached its 24-hour publishing cap; wait for the window.",
        codes=(9,),
    ),
    MetaErrorRule(
        "ig-bad-media",
        PermanentError,
        "Instagram cannot use this image or caption (size, format, aspect ratio, length or "
        "carousel rules); fix it and retry.",
        subcodes=(2207004, 2207005, 2207009, 2207010, 2207026, 2207028),
    ),
    # --- Facebook subcodes (§4.4, Postiz mappings) ---------------------------------------
    MetaErrorRule(
        "temporarily-blocked",
        BlockedError,
        "Meta temporarily blocked the account for policy reasons (e.g. going too fast, "
        "subcode 1390008); pause it for hours.",
        codes=(368,),
    ),
    MetaErrorRule(
        "fb-abusive-content",
        BlockedError,
        "Facebook flagged the content or account as abusive; pause and review the Page.",
        subcodes=(1346003,),
    ),
    MetaErrorRule(
        "fb-account-limited",
        BlockedError,
        "Facebook has limited this account; resolve it on facebook.com.",
        subcodes=(1404112,),
    ),
    MetaErrorRule(
        "fb-ppa-required",
        PermissionDeniedError,
        "Page Publishing Authorization is required; complete it on facebook.com and reconnect.",
        subcodes=(1404078,),
    ),
    MetaErrorRule(
        "fb-confirm-identity",
        PermissionDeniedError,
        "Facebook asks the Page admin to confirm their identity or pass a security check.",
        subcodes=(4854002, 1404006),
    ),
    MetaErrorRule(
        "fb-photo-already-posted",
        DuplicateContentError,
        "Facebook says these photos were already posted.",
        subcodes=(1366051,),
    ),
    MetaErrorRule(
        "fb-service-unavailable",
        RetryableError,
        "Facebook is temporarily unavailable; retry.",
        subcodes=(1363047, 1609010),
    ),
    MetaErrorRule(
        "fb-bad-link-or-photo",
        PermanentError,
        "Facebook cannot use this link or photo (scrape failed, invalid URL, facebook.com "
        "link, or photo over 4 MB); fix it and retry.",
        subcodes=(1609005, 1366046, 2061006, 1609008),
    ),
    # --- authentication (§4.4 "190 … subcodes") ------------------------------------------
    MetaErrorRule(
        "token-checkpoint",
        AuthExpiredError,
        "The user is checkpointed: they must log in at facebook.com, then reconnect.",
        codes=(190,),
        subcodes=(459,),
    ),
    MetaErrorRule(
        "token-expired",
        AuthExpiredError,
        "The Meta token expired or was invalidated (password change, app removed, role lost); "
        "reconnect the channel.",
        codes=(190,),
    ),
    MetaErrorRule(
        "api-session",
        AuthExpiredError,
        "The Meta session is invalid; reconnect the channel.",
        codes=(102,),
    ),
    # --- throttling and blocks (§4.5) ----------------------------------------------------
    MetaErrorRule(
        "rate-limited",
        RateLimitedError,
        "Meta throttled the app, user or Page; wait until access is regained.",
        codes=RATE_LIMIT_CODES,
    ),
    MetaErrorRule(
        "duplicate-post",
        DuplicateContentError,
        "Facebook refuses the same message twice in a row; if an earlier attempt timed out it "
        "is probably live already.",
        codes=(506,),
    ),
    MetaErrorRule(
        "ig-not-business-account",
        PermissionDeniedError,
        "The Instagram account is not a professional (business/creator) account.",
        message="not an instagram business account",
    ),
    MetaErrorRule(
        "permission-denied",
        PermissionDeniedError,
        "The token lacks a permission or role (pages_manage_posts, instagram_content_publish…); "
        "reconnect with the needed scopes.",
        codes=PERMISSION_CODES,
    ),
    # --- transient (§5.2 "code 1, 2, or is_transient") ------------------------------------
    MetaErrorRule(
        "transient",
        RetryableError,
        "Meta marked the error as transient; retry.",
        transient=True,
    ),
    MetaErrorRule(
        "api-unknown-or-service",
        RetryableError,
        "Meta reported an unknown or service error (possible downtime); retry.",
        codes=(1, 2),
    ),
    MetaErrorRule(
        "server-error-without-body",
        RetryableError,
        "Meta answered with a server error and no explanation; retry.",
        server_error_without_body=True,
    ),
    # --- bad requests -------------------------------------------------------------------
    MetaErrorRule(
        "invalid-parameter",
        PermanentError,
        "Meta rejected a parameter (e.g. an invalid scheduled time); fix the request.",
        codes=(100,),
    ),
    MetaErrorRule(
        "ig-image-too-large",
        PermanentError,
        "The image is too large for Instagram (over 8 MiB); fix it.",
        codes=(36000,),
    ),
    # --- Instagram container states (§3.2 step 2) ----------------------------------------
    MetaErrorRule(
        "ig-container-status-expired",
        RetryableError,
        "The Instagram container expired before publishing; a new one will be created.",
        container_status="EXPIRED",
        new_container=True,
    ),
    MetaErrorRule(
        "ig-container-status-error",
        PermanentError,
        "Instagram could not process the media; fix it and retry.",
        container_status="ERROR",
    ),
)


@dataclass(frozen=True)
class MetaSignal:
    """What the table is matched against: a Graph error object or a container state."""

    http_status: int | None
    code: int | None
    subcode: int | None
    transient: bool | None
    message: str
    user_message: str
    fbtrace_id: str | None
    container_status: str | None
    has_error_body: bool
    usage: dict[str, Any]


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def meta_signal(status: int, body: Any, headers: httpx.Headers | dict[str, str]) -> MetaSignal:
    """Extract the matchable facts from an HTTP status, a decoded body and the headers."""
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    transient = error.get("is_transient")
    return MetaSignal(
        http_status=status,
        code=_int(error.get("code")),
        subcode=_int(error.get("error_subcode")),
        transient=transient if isinstance(transient, bool) else None,
        message=str(error.get("message") or ""),
        user_message=str(error.get("error_user_msg") or ""),
        fbtrace_id=str(error["fbtrace_id"]) if error.get("fbtrace_id") else None,
        container_status=None,
        has_error_body=bool(error),
        usage=parse_meta_usage(headers),
    )


_SUBCODE_IN_TEXT = re.compile(r"\b(2207\d{3})\b")


def container_signal(status_code: str, status: str | None, *, usage: dict[str, Any]) -> MetaSignal:
    """A signal for an Instagram container state; the subcode is read from ``status`` text."""
    found = _SUBCODE_IN_TEXT.search(status or "")
    return MetaSignal(
        http_status=None,
        code=None,
        subcode=int(found.group(1)) if found else None,
        transient=None,
        message=status or f"container status {status_code}",
        user_message="",
        fbtrace_id=None,
        container_status=status_code,
        has_error_body=True,
        usage=usage,
    )


def rule_matches(rule: MetaErrorRule, signal: MetaSignal) -> bool:
    """Whether every key the rule gives matches the signal."""
    if rule.codes:
        # A container state carries only a subcode: a rule naming codes matches it only
        # through its subcodes.
        if signal.code is None and not (rule.subcodes and signal.container_status):
            return False
        if signal.code is not None and signal.code not in rule.codes:
            return False
    if rule.subcodes and signal.subcode not in rule.subcodes:
        return False
    if rule.transient is not None and signal.transient != rule.transient:
        return False
    if rule.message is not None and rule.message not in signal.message.lower():
        return False
    if rule.container_status is not None and signal.container_status != rule.container_status:
        return False
    if rule.server_error_without_body:
        return (
            not signal.has_error_body
            and signal.http_status is not None
            and 500 <= signal.http_status < 600
        )
    return True


def find_meta_rule(signal: MetaSignal) -> MetaErrorRule | None:
    """The first rule of :data:`META_ERROR_TABLE` that matches, if any."""
    return next((rule for rule in META_ERROR_TABLE if rule_matches(rule, signal)), None)


def _reset_at(error: type[DeliveryError], signal: MetaSignal, now: datetime) -> datetime:
    regain = meta_regain_minutes(signal.usage)
    if issubclass(error, BlockedError):
        return now + max(BLOCKED_WAIT, timedelta(minutes=regain))
    if issubclass(error, QuotaExceededError):
        return now + max(QUOTA_RECHECK, timedelta(minutes=regain))
    return meta_reset_at(signal.usage, now=now)


def classify_meta_signal(
    signal: MetaSignal,
    *,
    platform: str,
    action: str = "publish the post",
    secrets: Iterable[str] = (),
    now: datetime | None = None,
) -> tuple[DeliveryError, MetaErrorRule | None]:
    """The DeliveryError (not raised) for a signal, and the rule that produced it."""
    now = now or datetime.now(UTC)
    rule = find_meta_rule(signal)
    if rule is None:
        error: type[DeliveryError] = PermanentError
        explanation = f"{platform} answered in a way newsrelay does not recognise."
    else:
        error, explanation = rule.error, rule.explanation
    said = signal.message or (
        f"HTTP {signal.http_status} with no explanation" if signal.http_status else "no reason"
    )
    if signal.user_message and signal.user_message not in said:
        said = f"{said} {signal.user_message}"
    refs = []
    if signal.code is not None:
        refs.append(
            f"code {signal.code}" + (f"/{signal.subcode}" if signal.subcode is not None else "")
        )
    elif signal.subcode is not None:
        refs.append(f"subcode {signal.subcode}")
    if signal.http_status is not None:
        refs.append(f"HTTP {signal.http_status}")
    if signal.fbtrace_id:
        refs.append(f"fbtrace_id {signal.fbtrace_id}")
    ref = f" ({', '.join(refs)})" if refs else ""
    said = clip(redact(said, secrets))
    if signal.container_status:
        head = f"{platform} could not process the media container ({signal.container_status})"
    else:
        head = f"{platform} refused the request to {action}"
    message = f"{head}: {said}{ref}. {explanation}"
    kwargs: dict[str, Any] = {
        "http_status": signal.http_status,
        "code": str(signal.code) if signal.code is not None else None,
        "subcode": str(signal.subcode) if signal.subcode is not None else None,
        "rate_limit": signal.usage,
    }
    if issubclass(error, RateLimitedError):
        return error(message, reset_at=_reset_at(error, signal, now), **kwargs), rule
    return error(message, **kwargs), rule


def classify_meta_response(
    response: httpx.Response,
    *,
    platform: str,
    action: str = "publish the post",
    secrets: Iterable[str] = (),
    now: datetime | None = None,
) -> tuple[DeliveryError, MetaErrorRule | None]:
    """The DeliveryError (not raised) for a Graph error ``response``, and its rule."""
    signal = meta_signal(response.status_code, json_body(response), response.headers)
    return classify_meta_signal(signal, platform=platform, action=action, secrets=secrets, now=now)
