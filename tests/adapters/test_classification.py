"""Every row of the X classification table, driven by a sample response per row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from adapters.errors import (
    AuthExpiredError,
    BlockedError,
    DuplicateContentError,
    PermanentError,
    QuotaExceededError,
    RateLimitedError,
)
from adapters.x_errors import X_ERROR_TABLE, classify_x_response, find_x_rule, x_signal
from tests.adapters.classification_support import (
    NOW,
    NOW_EPOCH,
    TWITTER,
    XAPI,
    problem,
)

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
