"""Every row of the Meta classification table, driven by a sample response per row, and
no classified message (X or Meta) carries the token."""

from __future__ import annotations

from datetime import timedelta
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
from adapters.x_errors import classify_x_response
from tests.adapters.classification_support import (
    NOW,
    problem,
)

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
