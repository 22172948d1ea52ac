"""Every row of the X and Meta classification tables, driven by a sample response per row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

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
from adapters.meta_errors import (
    META_ERROR_TABLE,
    classify_meta_response,
    classify_meta_signal,
    container_signal,
    find_meta_rule,
    meta_signal,
)
from adapters.x_errors import X_ERROR_TABLE, classify_x_response, find_x_rule, x_signal

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
NOW_EPOCH = int(NOW.timestamp())
TWITTER = "https://api.twitter.com/2/problems/"
XAPI = "https://api.x.com/2/problems/"


def problem(status: int, title: str, detail: str, kind: str = "about:blank") -> dict[str, Any]:
    return {"title": title, "detail": detail, "type": kind, "status": status}


# rule name -> (HTTP status, JSON body, headers)
X_SAMPLES: dict[str, tuple[int, dict[str, Any], dict[str, str]]] = {
    "token-invalid-request": (
        400,
        {
            "error": "invalid_request",
            "error_description": "Value passed for the token was invalid.",
        },
        {},
    ),
    "token-invalid-grant": (
        400,
        {"error": "invalid_grant", "error_description": "Invalid authorization code"},
        {},
    ),
    "legacy-rate-limit-88": (429, {"errors": [{"code": 88, "message": "Rate limit exceeded"}]}, {}),
    "legacy-daily-limit-185": (
        403,
        {"errors": [{"code": 185, "message": "User is over daily status update limit."}]},
        {},
    ),
    "legacy-duplicate-187": (
        403,
        {"errors": [{"code": 187, "message": "Status is a duplicate."}]},
        {},
    ),
    "legacy-invalid-token-89": (
        401,
        {"errors": [{"code": 89, "message": "Invalid or expired token."}]},
        {},
    ),
    "legacy-suspended-64": (
        403,
        {"errors": [{"code": 64, "message": "Your account is suspended."}]},
        {},
    ),
    "legacy-locked-326": (
        403,
        {"errors": [{"code": 326, "message": "This account is temporarily locked."}]},
        {},
    ),
    "usage-capped": (
        429,
        {
            "title": "UsageCapExceeded",
            "detail": "Usage cap exceeded: Monthly product cap",
            "type": TWITTER + "usage-capped",
            "period": "Monthly",
            "scope": "Product",
        },
        {},
    ),
    "credits-depleted": (
        402,
        problem(
            402,
            "CreditsDepleted",
            "Your enrolled account does not have any credits to fulfill this request.",
            XAPI + "credits-depleted",
        ),
        {},
    ),
    "payment-required": (402, problem(402, "Payment Required", "Payment Required"), {}),
    "rate-limited-exhausted-window": (
        429,
        problem(429, "Too Many Requests", "Too Many Requests"),
        {
            "x-rate-limit-limit": "100",
            "x-rate-limit-remaining": "0",
            "x-rate-limit-reset": str(NOW_EPOCH + 600),
        },
    ),
    "rate-limit-exceeded-problem": (
        429,
        problem(429, "Too Many Requests", "Rate limit exceeded", XAPI + "rate-limit-exceeded"),
        {},
    ),
    "rate-limited-no-headers": (429, problem(429, "Too Many Requests", "Too Many Requests"), {}),
    "unauthorized": (401, problem(401, "Unauthorized", "Unauthorized"), {}),
    "oauth1-permissions": (
        403,
        problem(
            403,
            "Forbidden",
            "Your client app is not configured with the appropriate oauth1 app permissions "
            "for this endpoint.",
            TWITTER + "oauth1-permissions",
        ),
        {},
    ),
    "client-forbidden": (
        403,
        {
            "client_id": "123",
            "detail": "When authenticating requests to the Twitter API v2 endpoints, you must "
            "use keys and tokens from a Twitter developer App that is attached to a Project.",
            "title": "Client Forbidden",
            "reason": "client-not-enrolled",
            "type": TWITTER + "client-forbidden",
        },
        {},
    ),
    "unsupported-authentication": (
        403,
        problem(
            403,
            "Unsupported Authentication",
            "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.",
            XAPI + "unsupported-authentication",
        ),
        {},
    ),
    "not-authorized": (
        403,
        problem(
            403,
            "Forbidden",
            "Sorry, you are not authorized to see this resource.",
            TWITTER + "not-authorized-for-resource",
        ),
        {},
    ),
    "missing-scope": (
        403,
        problem(403, "Forbidden", "Missing required OAuth2 scope: tweet.write"),
        {},
    ),
    "user-suspended": (
        403,
        problem(403, "Forbidden", "Forbidden", TWITTER + "user-suspended"),
        {},
    ),
    "account-locked": (
        403,
        problem(403, "Forbidden", "Your account is temporarily locked."),
        {},
    ),
    "duplicate-content": (
        403,
        problem(403, "Forbidden", "You are not allowed to create a Tweet with duplicate content."),
        {},
    ),
    "daily-limit": (
        403,
        problem(403, "Forbidden", "You are over the daily limit for sending posts."),
        {},
    ),
    "reply-not-allowed": (
        403,
        problem(
            403,
            "Forbidden",
            "Reply to this conversation is not allowed because you have not been mentioned or "
            "otherwise engaged by the author of the post you are replying to.",
        ),
        {},
    ),
    "cashtag-limit": (
        403,
        problem(403, "Forbidden", "You can only include one cashtag per post."),
        {},
    ),
    "not-permitted": (
        403,
        problem(403, "Forbidden", "You are not permitted to perform this action."),
        {},
    ),
    "media-id-expired": (
        400,
        {
            "errors": [{"message": "Your media IDs are invalid.", "parameters": {}}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": TWITTER + "invalid-request",
        },
        {},
    ),
    "media-processing-failed": (
        200,
        {
            "data": {
                "id": "1880028106020515840",
                "processing_info": {
                    "state": "failed",
                    "error": {"code": 1, "name": "InvalidMedia", "message": "Unsupported format"},
                },
            }
        },
        {},
    ),
    "invalid-request": (
        400,
        {
            "errors": [{"message": "Your Tweet text is too long.", "parameters": {"text": []}}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": TWITTER + "invalid-request",
        },
        {},
    ),
    "resource-not-found": (
        404,
        problem(
            404,
            "Not Found Error",
            "Could not find tweet with in_reply_to_tweet_id: [1].",
            XAPI + "resource-not-found",
        ),
        {},
    ),
    "resource-unavailable": (
        403,
        problem(
            403,
            "Forbidden",
            "You attempted to reply to a post that is deleted or not visible to you.",
            TWITTER + "resource-unavailable",
        ),
        {},
    ),
    "streaming-problem": (
        409,
        problem(409, "Operational Disconnect", "Disconnected", XAPI + "operational-disconnect"),
        {},
    ),
    "bad-request": (400, problem(400, "Bad Request", "Bad Request"), {}),
    "not-found": (404, problem(404, "Not Found", "Not Found"), {}),
    "forbidden": (403, problem(403, "Forbidden", "Forbidden"), {}),
    "server-error": (503, problem(503, "Service Unavailable", "Service Unavailable"), {}),
}


def test_every_x_rule_has_a_sample_and_names_are_unique() -> None:
    names = [rule.name for rule in X_ERROR_TABLE]
    assert len(names) == len(set(names))
    assert set(X_SAMPLES) == set(names)


@pytest.mark.parametrize("rule", X_ERROR_TABLE, ids=lambda rule: rule.name)
def test_x_table_row_classifies_its_sample(rule: Any) -> None:
    status, body, headers = X_SAMPLES[rule.name]
    assert find_x_rule(x_signal(status, body, headers)) is rule
    response = httpx.Response(status, json=body, headers=headers)
    error = classify_x_response(response, now=NOW)
    assert type(error) is rule.error
    assert error.http_status == status
    assert error.subcode == rule.name
    assert "X refused the post" in error.message
    if isinstance(error, RateLimitedError):
        assert error.reset_at is not None and error.reset_at > NOW


def test_x_duplicate_message_quotes_the_platform() -> None:
    status, body, headers = X_SAMPLES["duplicate-content"]
    error = classify_x_response(httpx.Response(status, json=body, headers=headers))
    assert isinstance(error, DuplicateContentError)
    assert error.message.startswith(
        "X refused the post: You are not allowed to create a Tweet with duplicate content. "
        "(HTTP 403)."
    )


@pytest.mark.parametrize("host", [TWITTER, XAPI, "https://api.x.com/2/problems/usage-capped/"])
def test_x_problem_type_matches_on_path_suffix_for_both_hosts(host: str) -> None:
    kind = host if host.endswith("/") and "usage" in host else host + "usage-capped"
    body = problem(429, "UsageCapExceeded", "Usage cap exceeded: Daily account cap", kind)
    error = classify_x_response(httpx.Response(429, json=body))
    assert type(error) is QuotaExceededError
    assert error.code == "usage-capped"


def test_x_problem_json_parsed_whatever_the_content_type() -> None:
    content = b'{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}'
    for ctype in ("application/problem+json", "application/json; charset=utf-8", "text/plain"):
        response = httpx.Response(401, content=content, headers={"content-type": ctype})
        assert type(classify_x_response(response)) is AuthExpiredError


def test_x_unrecognised_response_is_permanent_with_its_status() -> None:
    error = classify_x_response(httpx.Response(418, text="<html>teapot</html>"))
    assert type(error) is PermanentError
    assert "(HTTP 418)" in error.message


def test_x_usage_cap_monthly_waits_for_next_month() -> None:
    status, body, headers = X_SAMPLES["usage-capped"]
    error = classify_x_response(httpx.Response(status, json=body, headers=headers), now=NOW)
    assert isinstance(error, QuotaExceededError)
    assert error.reset_at == datetime(2026, 12, 1, tzinfo=UTC)


def test_x_blocked_waits_hours() -> None:
    status, body, headers = X_SAMPLES["user-suspended"]
    error = classify_x_response(httpx.Response(status, json=body, headers=headers), now=NOW)
    assert isinstance(error, BlockedError)
    assert error.reset_at is not None and error.reset_at - NOW >= timedelta(hours=1)


# --- Meta ----------------------------------------------------------------------------------


def graph_error(code: int, subcode: int | None = None, message: str = "", **extra: Any) -> Any:
    error: dict[str, Any] = {
        "message": message or f"(#{code}) Sample error",
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "A6LJylpZRKw2xKLFsAP-cJh",
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    error.update(extra)
    return {"error": error}


BUC = (
    '{"112130216863063":[{"type":"pages","call_count":100,"total_cputime":12,"total_time":20,'
    '"estimated_time_to_regain_access":37,"ads_api_access_tier":"development_access"}]}'
)

# rule name -> ("http", status, body, headers) | ("container", status_code, status text)
META_SAMPLES: dict[str, tuple[Any, ...]] = {
    "ig-download-timeout": ("http", 400, graph_error(-2, 2207003, is_transient=True), {}),
    "ig-container-expired": ("http", 400, graph_error(-2, 2207020), {}),
    "ig-server-error": ("http", 500, graph_error(-1, 2207001), {}),
    "ig-create-failed": ("http", 400, graph_error(-1, 2207032), {}),
    "ig-transient-2207082": ("http", 400, graph_error(-1, 2207082), {}),
    "ig-media-not-ready": (
        "http",
        400,
        graph_error(9007, 2207027, "Media ID is not available"),
        {},
    ),
    "ig-media-missing": ("http", 400, graph_error(100, 2207006), {}),
    "ig-bad-thumb-offset": ("http", 400, graph_error(1, 2207057), {}),
    "ig-activity-restricted": (
        "http",
        400,
        graph_error(4, 2207051, "We restrict certain activity to protect our community"),
        {},
    ),
    "ig-user-restricted": ("http", 400, graph_error(25, 2207050), {}),
    "ig-publishing-cap": (
        "http",
        400,
        graph_error(9, 2207042, "You reached maximum number of posts that is allowed"),
        {},
    ),
    "ig-bad-media": ("http", 400, graph_error(36000, 2207004, "The image size is too large."), {}),
    "temporarily-blocked": (
        "http",
        403,
        graph_error(
            368,
            1390008,
            "It looks like you were misusing this feature by going too fast. You've been "
            "temporarily blocked from using it.",
        ),
        {},
    ),
    "fb-abusive-content": ("http", 400, graph_error(100, 1346003), {}),
    "fb-account-limited": ("http", 400, graph_error(100, 1404112), {}),
    "fb-ppa-required": ("http", 400, graph_error(200, 1404078), {}),
    "fb-confirm-identity": ("http", 400, graph_error(10, 4854002), {}),
    "fb-photo-already-posted": ("http", 400, graph_error(100, 1366051), {}),
    "fb-service-unavailable": ("http", 500, graph_error(1, 1363047), {}),
    "fb-bad-link-or-photo": ("http", 400, graph_error(100, 1609005), {}),
    "token-checkpoint": ("http", 400, graph_error(190, 459), {}),
    "token-expired": (
        "http",
        400,
        graph_error(190, 463, "Error validating access token: Session has expired"),
        {},
    ),
    "api-session": ("http", 400, graph_error(102), {}),
    "rate-limited": (
        "http",
        429,
        graph_error(80001, None, "(#80001) There have been too many calls to this Page account."),
        {"X-Business-Use-Case-Usage": BUC},
    ),
    "duplicate-post": ("http", 400, graph_error(506, None, "(#506) Duplicate status message"), {}),
    "ig-not-business-account": (
        "http",
        400,
        graph_error(100, None, "The user is not an Instagram Business Account"),
        {},
    ),
    "permission-denied": ("http", 403, graph_error(10), {}),
    "transient": ("http", 400, graph_error(100, is_transient=True), {}),
    "api-unknown-or-service": ("http", 500, graph_error(2), {}),
    "server-error-without-body": ("http", 502, "<html>Bad Gateway</html>", {}),
    "invalid-parameter": (
        "http",
        400,
        graph_error(100, None, "(#100) The specified scheduled publish time is invalid"),
        {},
    ),
    "ig-image-too-large": ("http", 400, graph_error(36000), {}),
    "ig-container-status-expired": ("container", "EXPIRED", None),
    "ig-container-status-error": ("container", "ERROR", "Error: media could not be processed"),
}


def meta_sample_error(name: str) -> tuple[DeliveryError, Any]:
    sample = META_SAMPLES[name]
    if sample[0] == "container":
        signal = container_signal(sample[1], sample[2], usage={})
        return classify_meta_signal(signal, platform="Instagram", now=NOW)
    _kind, status, body, headers = sample
    if isinstance(body, str):
        response = httpx.Response(status, text=body, headers=headers)
    else:
        response = httpx.Response(status, json=body, headers=headers)
    return classify_meta_response(response, platform="Facebook", now=NOW)


def test_every_meta_rule_has_a_sample_and_names_are_unique() -> None:
    names = [rule.name for rule in META_ERROR_TABLE]
    assert len(names) == len(set(names))
    assert set(META_SAMPLES) == set(names)


@pytest.mark.parametrize("rule", META_ERROR_TABLE, ids=lambda rule: rule.name)
def test_meta_table_row_classifies_its_sample(rule: Any) -> None:
    error, matched = meta_sample_error(rule.name)
    assert matched is rule
    assert type(error) is rule.error
    if isinstance(error, RateLimitedError):
        assert error.reset_at is not None and error.reset_at > NOW


R, RL, Q, B, A, P, D, X = (
    RetryableError,
    RateLimitedError,
    QuotaExceededError,
    BlockedError,
    AuthExpiredError,
    PermissionDeniedError,
    DuplicateContentError,
    PermanentError,
)


@pytest.mark.parametrize(
    ("code", "subcode", "expected"),
    [
        (1, None, R),
        (2, None, R),
        (-2, 2207003, R),
        (-1, 2207001, R),
        (-1, 2207032, R),
        (-1, 2207053, R),
        (-1, 2207082, R),
        (9007, 2207027, R),
        (-2, 2207020, R),
        (100, 2207008, R),
        (100, 2207006, R),
        (4, None, RL),
        (17, None, RL),
        (32, None, RL),
        (341, None, RL),
        (613, None, RL),
        (80001, None, RL),
        (80002, None, RL),
        (9, 2207042, Q),
        (190, None, A),
        (190, 458, A),
        (190, 459, A),
        (190, 460, A),
        (190, 463, A),
        (190, 464, A),
        (190, 467, A),
        (190, 492, A),
        (102, None, A),
        (10, None, P),
        (200, None, P),
        (250, None, P),
        (299, None, P),
        (3, None, P),
        (200, 1404078, P),
        (10, 4854002, P),
        (368, None, B),
        (368, 1390008, B),
        (4, 2207051, B),
        (100, 2207050, B),
        (100, 1346003, B),
        (100, 1404112, B),
        (506, None, D),
        (100, None, X),
        (100, 33, X),
        (100, 1609005, X),
        (36000, 2207004, X),
        (100, 2207005, X),
        (100, 2207009, X),
        (100, 2207010, X),
        (100, 2207026, X),
        (100, 2207028, X),
        (36000, None, X),
        (100, 1366046, X),
        (100, 2061006, X),
        (100, 1609008, X),
    ],
)
def test_meta_code_and_subcode_map_to_class(code: int, subcode: int | None, expected: type) -> None:
    # The HTTP status must not matter (§4.4): try each code under three statuses.
    for status in (400, 403, 500):
        response = httpx.Response(status, json=graph_error(code, subcode))
        error, _rule = classify_meta_response(response, platform="Facebook", now=NOW)
        assert type(error) is expected, (code, subcode, status)
        assert error.code == str(code)
        assert error.subcode == (str(subcode) if subcode is not None else None)


def test_meta_buc_regain_minutes_set_reset_time() -> None:
    error, _rule = meta_sample_error("rate-limited")
    assert isinstance(error, RateLimitedError)
    assert error.reset_at == NOW + timedelta(minutes=37)
    assert error.rate_limit["business_use_case"]["112130216863063"][0]["call_count"] == 100


def test_meta_rate_limit_without_headers_waits_at_least_15_minutes() -> None:
    response = httpx.Response(400, json=graph_error(4, None, "(#4) Application request limit"))
    error, _rule = classify_meta_response(response, platform="Facebook", now=NOW)
    assert isinstance(error, RateLimitedError)
    assert error.reset_at is not None and error.reset_at - NOW >= timedelta(minutes=15)


def test_meta_container_error_with_transient_subcode_is_retryable() -> None:
    signal = container_signal("ERROR", "Media download has failed: 2207003", usage={})
    error, rule = classify_meta_signal(signal, platform="Instagram", now=NOW)
    assert type(error) is RetryableError
    assert rule is not None and rule.name == "ig-download-timeout"
    assert error.subcode == "2207003"


def test_meta_message_names_the_platform_code_and_trace() -> None:
    error, _rule = meta_sample_error("duplicate-post")
    assert error.message.startswith(
        "Facebook refused the request to publish the post: (#506) Duplicate status message "
        "(code 506, HTTP 400, fbtrace_id A6LJylpZRKw2xKLFsAP-cJh)."
    )


def test_meta_unknown_code_is_permanent() -> None:
    signal = meta_signal(400, graph_error(123456), {})
    assert find_meta_rule(signal) is None
    error, rule = classify_meta_signal(signal, platform="Facebook")
    assert rule is None and type(error) is PermanentError


def test_messages_never_contain_the_token() -> None:
    marker = "EAAB-SECRET-TOKEN-do-not-leak-123"
    leaky = graph_error(190, 467, f"Invalid marker {marker} (access_token={marker}&x=1)")
    error, _rule = classify_meta_response(
        httpx.Response(400, json=leaky), platform="Facebook", secrets=(marker,)
    )
    assert marker not in str(error) and marker not in error.message
    x_leak = problem(401, "Unauthorized", f"Bearer {marker} is not valid")
    x_error = classify_x_response(httpx.Response(401, json=x_leak), secrets=(marker,))
    assert marker not in str(x_error) and marker not in x_error.message
