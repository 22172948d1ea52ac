"""X API v2 error classification: one table, keyed on HTTP status, problem type and detail.

Problem ``type`` URIs come as ``https://api.twitter.com/2/problems/<name>`` or
``https://api.x.com/2/problems/<name>``, so rules match the path suffix (PLATFORMS.md §1.6).
Rules are tried in order; the first match wins.  Every row of PLATFORMS.md §5.1 has a rule.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from adapters.errors import (
    AuthExpiredError,
    BlockedError,
    DeliveryError,
    DuplicateContentError,
    PermanentError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitedError,
    RetryableError,
)
from adapters.ratelimit import FALLBACK_WAIT, parse_x_rate_limit, x_exhausted, x_reset_at
from adapters.transport import clip, json_body, redact

# A restricted account is paused for hours, never retried in a loop (§5 "BLOCKED").
BLOCKED_WAIT = timedelta(hours=6)
# Credits or a rolling cap need an operator or the window to move; look again in an hour.
QUOTA_RECHECK = timedelta(hours=1)
SERVER_ERRORS = tuple(range(500, 600))
STREAMING_PROBLEMS = (
    "duplicate-rules",
    "rule-cap",
    "streaming-connection",
    "client-disconnected",
    "operational-disconnect",
    "noncompliant-rules",
)


@dataclass(frozen=True)
class XErrorRule:
    """One row: every given key must match; the error class and a sentence for a person."""

    name: str
    error: type[DeliveryError]
    explanation: str
    status: tuple[int, ...] = ()
    problem: tuple[str, ...] = ()
    text: str | None = None
    legacy_code: int | None = None
    oauth_error: str | None = None
    exhausted: bool | None = None
    media_state: str | None = None


X_ERROR_TABLE: tuple[XErrorRule, ...] = (
    # OAuth token endpoint (§1.4): a spent or raced refresh token cannot be recovered.
    XErrorRule(
        "token-invalid-request",
        AuthExpiredError,
        "The X refresh token is spent or was rotated by a concurrent refresh; reconnect.",
        oauth_error="invalid_request",
    ),
    XErrorRule(
        "token-invalid-grant",
        AuthExpiredError,
        "The X authorisation grant is no longer valid; reconnect the channel.",
        oauth_error="invalid_grant",
    ),
    # Legacy v1.1 ``{"errors":[{"code":…}]}`` bodies still appear on 429 (§1.5).
    XErrorRule(
        "legacy-rate-limit-88",
        RateLimitedError,
        "X rate limit reached; retry after the reset time.",
        legacy_code=88,
    ),
    XErrorRule(
        "legacy-daily-limit-185",
        QuotaExceededError,
        "The account reached X's daily posting limit (§1.7); retry in hours.",
        legacy_code=185,
    ),
    XErrorRule(
        "legacy-duplicate-187",
        DuplicateContentError,
        "X already has a post with this exact text on this account.",
        legacy_code=187,
    ),
    XErrorRule(
        "legacy-invalid-token-89",
        AuthExpiredError,
        "The X token is invalid or expired; reconnect the channel.",
        legacy_code=89,
    ),
    XErrorRule(
        "legacy-suspended-64",
        BlockedError,
        "The X account is suspended; resolve it on x.com before posting again.",
        legacy_code=64,
    ),
    XErrorRule(
        "legacy-locked-326",
        BlockedError,
        "The X account is locked; log in on x.com to unlock it.",
        legacy_code=326,
    ),
    # §1.5: a usage cap is not fixed by waiting for the 15-minute window.
    XErrorRule(
        "usage-capped",
        QuotaExceededError,
        "The X usage cap for this period is exhausted; posting resumes in the next period.",
        problem=("usage-capped",),
    ),
    XErrorRule(
        "credits-depleted",
        QuotaExceededError,
        "The X API credits are used up; an operator must add credits, then X jobs resume.",
        problem=("credits-depleted",),
    ),
    XErrorRule(
        "payment-required",
        QuotaExceededError,
        "X requires payment (credits depleted); an operator must add credits.",
        status=(402,),
    ),
    XErrorRule(
        "rate-limited-exhausted-window",
        RateLimitedError,
        "X rate limit reached; retry after the window resets.",
        status=(429,),
        exhausted=True,
    ),
    XErrorRule(
        "rate-limit-exceeded-problem",
        RateLimitedError,
        "X rate limit reached; retry after the reset time.",
        problem=("rate-limit-exceeded",),
    ),
    XErrorRule(
        "rate-limited-no-headers",
        RateLimitedError,
        "X rate limit reached without a reset time; retry in 15 minutes.",
        status=(429,),
    ),
    XErrorRule(
        "unauthorized",
        AuthExpiredError,
        "The X token is invalid or expired; reconnect the channel.",
        status=(401,),
    ),
    XErrorRule(
        "oauth1-permissions",
        PermissionDeniedError,
        "The X app lacks write permission; fix the app permissions and reconnect.",
        problem=("oauth1-permissions",),
    ),
    XErrorRule(
        "client-forbidden",
        PermissionDeniedError,
        "The X developer app is not enrolled for this endpoint (attach it to a Project).",
        problem=("client-forbidden",),
    ),
    XErrorRule(
        "unsupported-authentication",
        PermissionDeniedError,
        "X needs a user-context token for this call; reconnect the channel.",
        problem=("unsupported-authentication",),
    ),
    XErrorRule(
        "not-authorized",
        PermissionDeniedError,
        "The X token may not access this resource or field; reconnect with the needed scopes.",
        problem=("not-authorized-for-resource", "not-authorized-for-field"),
    ),
    XErrorRule(
        "missing-scope",
        PermissionDeniedError,
        "The X token lacks a required scope (tweet.write, users.read…); reconnect the channel.",
        status=(403,),
        text="scope",
    ),
    XErrorRule(
        "user-suspended",
        BlockedError,
        "The X account is suspended; resolve it on x.com before posting again.",
        status=(403,),
        text="suspended",
    ),
    XErrorRule(
        "account-locked",
        BlockedError,
        "The X account is locked; log in on x.com to unlock it.",
        status=(403,),
        text="locked",
    ),
    XErrorRule(
        "duplicate-content",
        DuplicateContentError,
        "X already has a post with this exact text; if an earlier attempt timed out, it is "
        "probably live already.",
        status=(403,),
        text="duplicate content",
    ),
    XErrorRule(
        "daily-limit",
        QuotaExceededError,
        "The account reached X's daily posting limit (§1.7); retry in hours.",
        status=(403,),
        text="daily",
    ),
    XErrorRule(
        "reply-not-allowed",
        PermanentError,
        "X only allows replies to posts that mention this account or that it wrote.",
        status=(403,),
        text="reply to this conversation is not allowed",
    ),
    XErrorRule(
        "cashtag-limit",
        PermanentError,
        "X allows at most one cashtag per post; edit the text.",
        status=(403,),
        text="cashtag",
    ),
    XErrorRule(
        "not-permitted",
        PermanentError,
        "X refused this post as it is; check its length, links and attachments.",
        status=(403,),
        text="not permitted to perform this action",
    ),
    # "Upload limits and Post-create limits are separately enforced" and media ids expire
    # (§1.3): our own media ids being rejected means they expired; upload again.
    XErrorRule(
        "media-id-expired",
        RetryableError,
        "X no longer accepts the uploaded media; it will be uploaded again.",
        status=(400,),
        text="media id",
    ),
    XErrorRule(
        "media-processing-failed",
        PermanentError,
        "X could not process the image or video; replace the media.",
        media_state="failed",
    ),
    XErrorRule(
        "invalid-request",
        PermanentError,
        "X rejected the request as invalid; edit the post (length, links, media).",
        problem=("invalid-request",),
    ),
    XErrorRule(
        "resource-not-found",
        PermanentError,
        "The post being replied to no longer exists on X.",
        problem=("resource-not-found",),
    ),
    XErrorRule(
        "resource-unavailable",
        PermanentError,
        "The referenced X resource is unavailable or disallowed.",
        problem=("resource-unavailable", "disallowed-resource", "conflict"),
    ),
    XErrorRule(
        "streaming-problem",
        PermanentError,
        "X returned a streaming-API problem that posting cannot recover from.",
        problem=STREAMING_PROBLEMS,
    ),
    XErrorRule(
        "bad-request",
        PermanentError,
        "X rejected the request as invalid; edit the post.",
        status=(400,),
    ),
    XErrorRule(
        "not-found",
        PermanentError,
        "X could not find the resource (the reply target may be deleted).",
        status=(404,),
    ),
    XErrorRule(
        "forbidden",
        PermanentError,
        "X refused this post; edit it or check the account on x.com.",
        status=(403,),
    ),
    XErrorRule(
        "server-error",
        RetryableError,
        "X is having trouble (server error); nothing was accepted, retry with back-off.",
        status=SERVER_ERRORS,
    ),
)


@dataclass(frozen=True)
class XSignal:
    """What the table is matched against, extracted from one response."""

    status: int
    problem: str | None
    text: str
    message: str
    legacy_codes: tuple[int, ...]
    oauth_error: str | None
    exhausted: bool
    media_state: str | None
    body: dict[str, Any]
    rate_limit: dict[str, Any]


def problem_name(problem_type: str | None) -> str | None:
    """``usage-capped`` from ``https://api.(x|twitter).com/2/problems/usage-capped``."""
    if not problem_type:
        return None
    if problem_type == "about:blank":
        return problem_type
    return problem_type.rstrip("/").rsplit("/", 1)[-1]


def x_signal(status: int, body: Any, headers: httpx.Headers | dict[str, str]) -> XSignal:
    """Extract the matchable facts from a status, a decoded body and the headers."""
    data: dict[str, Any] = body if isinstance(body, dict) else {}
    parts: list[str] = []
    legacy: list[int] = []
    for item in data.get("errors") or []:
        if not isinstance(item, dict):
            continue
        if item.get("message"):
            parts.append(str(item["message"]))
        if isinstance(item.get("code"), int):
            legacy.append(item["code"])
    for key in ("detail", "error_description"):
        if isinstance(data.get(key), str) and data[key] not in parts:
            parts.append(data[key])
    title = str(data["title"]) if isinstance(data.get("title"), str) else ""
    processing = data.get("processing_info") or (data.get("data") or {}).get("processing_info")
    media_state = processing.get("state") if isinstance(processing, dict) else None
    if isinstance(processing, dict) and isinstance(processing.get("error"), dict):
        parts.append(str(processing["error"].get("message", "")))
    problem = problem_name(data.get("type") if isinstance(data.get("type"), str) else None)
    rate_limit = parse_x_rate_limit(headers)
    oauth_error = data.get("error") if isinstance(data.get("error"), str) else None
    searchable = " ".join([*parts, title, str(data.get("type", ""))]).lower()
    # The person reads X's own words: the specific messages and the detail, else the title.
    message = " ".join(p for p in parts if p) or title
    return XSignal(
        status=status,
        problem=problem,
        text=searchable,
        message=message,
        legacy_codes=tuple(legacy),
        oauth_error=oauth_error,
        exhausted=x_exhausted(rate_limit),
        media_state=media_state,
        body=data,
        rate_limit=rate_limit,
    )


def rule_matches(rule: XErrorRule, signal: XSignal) -> bool:
    """Whether every key the rule gives matches the signal."""
    return (
        (not rule.status or signal.status in rule.status)
        and (not rule.problem or signal.problem in rule.problem)
        and (rule.text is None or rule.text in signal.text)
        and (rule.legacy_code is None or rule.legacy_code in signal.legacy_codes)
        and (rule.oauth_error is None or rule.oauth_error == signal.oauth_error)
        and (rule.exhausted is None or rule.exhausted == signal.exhausted)
        and (rule.media_state is None or rule.media_state == signal.media_state)
    )


def find_x_rule(signal: XSignal) -> XErrorRule | None:
    """The first rule of :data:`X_ERROR_TABLE` that matches, if any."""
    return next((rule for rule in X_ERROR_TABLE if rule_matches(rule, signal)), None)


def _next_month(now: datetime) -> datetime:
    days = calendar.monthrange(now.year, now.month)[1]
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return start + timedelta(days=days)


def _reset_at(error: type[DeliveryError], signal: XSignal, now: datetime) -> datetime | None:
    if issubclass(error, BlockedError):
        return now + BLOCKED_WAIT
    if issubclass(error, QuotaExceededError):
        # A usage cap says its period (§1.5 UsageCapExceededProblem); a daily cap resets with
        # the 24-hour window when X reports it.
        period = str(signal.body.get("period", "")).lower()
        if period == "monthly":
            return _next_month(now)
        day = [
            signal.rate_limit[name]["reset"]
            for name in ("user_24hour", "app_24hour")
            if signal.rate_limit.get(name, {}).get("remaining") == 0
            and "reset" in signal.rate_limit[name]
        ]
        if day:
            return datetime.fromtimestamp(max(day), tz=UTC)
        if period == "daily":
            return now + timedelta(hours=24)
        return now + QUOTA_RECHECK
    if issubclass(error, RateLimitedError):
        reset = x_reset_at(signal.rate_limit)
        if reset is None:
            return now + FALLBACK_WAIT
        return max(reset, now + timedelta(seconds=1))
    return None


def classify_x_error(
    status: int,
    body: Any,
    headers: httpx.Headers | dict[str, str],
    *,
    action: str = "the post",
    secrets: Iterable[str] = (),
    now: datetime | None = None,
) -> DeliveryError:
    """The DeliveryError (not raised) for an X error response."""
    now = now or datetime.now(UTC)
    signal = x_signal(status, body, headers)
    rule = find_x_rule(signal)
    if rule is None:
        error: type[DeliveryError] = PermanentError
        explanation = "X answered in a way newsrelay does not recognise."
        name = "unrecognised"
    else:
        error, explanation, name = rule.error, rule.explanation, rule.name
    said = clip(redact(signal.message or f"HTTP {status} with no explanation", secrets))
    message = f"X refused {action}: {said} (HTTP {status}). {explanation}"
    # X has no numeric codes on v2: record the problem name (or the legacy code) as the code
    # and the matched table row as the subcode, so the delivery log says which rule fired.
    problem = signal.problem if signal.problem != "about:blank" else None
    code = problem or (str(signal.legacy_codes[0]) if signal.legacy_codes else None)
    kwargs: dict[str, Any] = {
        "http_status": status,
        "code": code,
        "subcode": name,
        "rate_limit": signal.rate_limit,
    }
    if issubclass(error, RateLimitedError):
        return error(message, reset_at=_reset_at(error, signal, now), **kwargs)
    return error(message, **kwargs)


def classify_x_response(
    response: httpx.Response,
    *,
    action: str = "the post",
    secrets: Iterable[str] = (),
    now: datetime | None = None,
) -> DeliveryError:
    """The DeliveryError (not raised) for an X error ``response``."""
    return classify_x_error(
        response.status_code,
        json_body(response),
        response.headers,
        action=action,
        secrets=secrets,
        now=now,
    )
