"""XAdapter.publish and reconcile through httpx.MockTransport."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from adapters.errors import (
    AuthExpiredError,
    DuplicateContentError,
    QuotaExceededError,
    RateLimitedError,
    RetryableError,
    UnknownOutcomeError,
)
from tests.adapters.x_api import (
    BASE,
    CREDENTIALS,
    LEAK_MARKER,
    TEXT,
    Handler,
    assert_no_secret,
    make_adapter,
    payload,
)


def test_x_publish_posts_text_with_bearer_and_returns_id_url_and_rate_limit() -> None:
    seen: list[httpx.Request] = []
    reset = int(datetime.now(UTC).timestamp()) + 900

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            201,
            json={"data": {"id": "1445880548472328192", "text": TEXT}},
            headers={
                "x-rate-limit-limit": "100",
                "x-rate-limit-remaining": "99",
                "x-rate-limit-reset": str(reset),
                "x-user-limit-24hour-remaining": "2399",
            },
        )

    result = make_adapter(handler, seen).publish(payload(), CREDENTIALS, account_id="42")
    assert len(seen) == 1
    request = seen[0]
    assert request.method == "POST"
    assert str(request.url) == f"{BASE}/2/tweets"
    assert request.headers["authorization"] == f"Bearer {LEAK_MARKER}"
    assert json.loads(request.content) == {"text": TEXT}
    assert result.external_id == "1445880548472328192"
    assert result.external_url == "https://x.com/i/web/status/1445880548472328192"
    assert result.http_status == 201
    assert result.rate_limit["window"] == {"limit": 100, "remaining": 99, "reset": reset}
    assert result.rate_limit["user_24hour"] == {"remaining": 2399}


def test_x_publish_duplicate_raises_duplicate_with_platform_words() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            403,
            json={
                "detail": "You are not allowed to create a Tweet with duplicate content.",
                "type": "about:blank",
                "title": "Forbidden",
                "status": 403,
            },
        )

    with pytest.raises(DuplicateContentError) as info:
        make_adapter(handler).publish(payload(), CREDENTIALS, account_id="42")
    assert info.value.message.startswith(
        "X refused the post: You are not allowed to create a Tweet with duplicate content. "
        "(HTTP 403)"
    )
    assert info.value.http_status == 403
    assert_no_secret(info.value)


def test_x_publish_429_reset_time_comes_from_real_headers() -> None:
    reset = int(datetime.now(UTC).timestamp()) + 600
    headers = {
        "x-rate-limit-limit": "100",
        "x-rate-limit-remaining": "0",
        "x-rate-limit-reset": str(reset),
        "x-user-limit-24hour-limit": "2400",
        "x-user-limit-24hour-remaining": "2000",
        "x-user-limit-24hour-reset": str(reset + 50000),
        "content-type": "application/json; charset=utf-8",
    }
    body = {
        "title": "Too Many Requests",
        "detail": "Too Many Requests",
        "type": "about:blank",
        "status": 429,
    }

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, json=body, headers=headers)

    with pytest.raises(RateLimitedError) as info:
        make_adapter(handler).publish(payload(), CREDENTIALS, account_id="42")
    assert type(info.value) is RateLimitedError
    assert info.value.reset_at == datetime.fromtimestamp(reset, tz=UTC)
    assert info.value.rate_limit["window"]["remaining"] == 0


def test_x_publish_429_without_headers_waits_15_minutes() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            429, json={"errors": [{"code": 88, "message": "Rate limit exceeded"}]}
        )

    before = datetime.now(UTC)
    with pytest.raises(RateLimitedError) as info:
        make_adapter(handler).publish(payload(), CREDENTIALS, account_id="42")
    assert info.value.reset_at is not None
    assert info.value.reset_at - before >= timedelta(minutes=15)


def test_x_publish_usage_capped_is_quota() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            429,
            json={
                "title": "UsageCapExceeded",
                "detail": "Usage cap exceeded: Daily account cap",
                "type": "https://api.x.com/2/problems/usage-capped",
                "period": "Daily",
                "scope": "Account",
            },
        )

    with pytest.raises(QuotaExceededError):
        make_adapter(handler).publish(payload(), CREDENTIALS, account_id="42")


def test_x_publish_401_needs_reauth_and_message_has_no_token() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            401, json={"title": "Unauthorized", "type": "about:blank", "status": 401}
        )

    with pytest.raises(AuthExpiredError) as info:
        make_adapter(handler).publish(payload(), CREDENTIALS, account_id="42")
    assert_no_secret(info.value)


def test_x_publish_without_token_needs_reauth_and_sends_nothing() -> None:
    seen: list[httpx.Request] = []
    adapter = make_adapter(lambda r: httpx.Response(201), seen)
    with pytest.raises(AuthExpiredError):
        adapter.publish(payload(), {}, account_id="42")
    assert seen == []


def test_x_publish_503_after_create_is_unknown_outcome() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={"title": "Service Unavailable", "status": 503})

    with pytest.raises(UnknownOutcomeError) as info:
        make_adapter(handler).publish(payload(), CREDENTIALS, account_id="42")
    assert info.value.http_status == 503


def test_x_publish_201_without_id_is_unknown_outcome() -> None:
    with pytest.raises(UnknownOutcomeError):
        make_adapter(lambda r: httpx.Response(201, text="ok")).publish(
            payload(), CREDENTIALS, account_id="42"
        )


def raiser(exc_type: type[httpx.TransportError]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        # httpx puts the URL in some messages; ours must not copy them.
        raise exc_type(f"failed {request.url}?access_token={LEAK_MARKER}", request=request)

    return handler


@pytest.mark.parametrize(
    "exc_type", [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout], ids=str
)
def test_x_publish_connect_failures_are_retryable(exc_type: type[httpx.TransportError]) -> None:
    with pytest.raises(RetryableError) as info:
        make_adapter(raiser(exc_type)).publish(payload(), CREDENTIALS, account_id="42")
    assert type(info.value) is RetryableError
    assert isinstance(info.value.__cause__, exc_type)
    assert_no_secret(info.value)


@pytest.mark.parametrize(
    "exc_type",
    [httpx.ReadTimeout, httpx.WriteTimeout, httpx.RemoteProtocolError, httpx.ReadError],
    ids=str,
)
def test_x_publish_failures_after_sending_are_unknown_outcome(
    exc_type: type[httpx.TransportError],
) -> None:
    with pytest.raises(UnknownOutcomeError) as info:
        make_adapter(raiser(exc_type)).publish(payload(), CREDENTIALS, account_id="42")
    assert isinstance(info.value.__cause__, exc_type)
    assert_no_secret(info.value)


# --- reconcile -----------------------------------------------------------------------------


def timeline(*tweets: dict[str, Any], next_token: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"result_count": len(tweets)}
    if next_token:
        meta["next_token"] = next_token
    return {"data": list(tweets), "meta": meta}


def test_x_reconcile_finds_post_whose_urls_x_shortened_and_escaped() -> None:
    seen: list[httpx.Request] = []
    text = "Dar & Fidan meet in Istanbul for Gaza talks https://example.pk/news/dar-istanbul"
    returned = "Dar &amp; Fidan meet in Istanbul for Gaza talks https://t.co/AbC123"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json=timeline(
                {"id": "1", "text": "something else entirely, not ours at all"},
                {
                    "id": "1880000000000000001",
                    "text": returned,
                    "entities": {
                        "urls": [
                            {
                                "url": "https://t.co/AbC123",
                                "expanded_url": "https://example.pk/news/dar-istanbul",
                            }
                        ]
                    },
                },
            ),
        )

    since = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    result = make_adapter(handler, seen).reconcile(
        payload(text), CREDENTIALS, account_id="42", since=since
    )
    assert result.published is True
    assert result.external_id == "1880000000000000001"
    assert result.external_url == "https://x.com/i/web/status/1880000000000000001"
    request = seen[0]
    assert request.method == "GET"
    assert request.url.path == "/2/users/42/tweets"
    assert request.url.params["max_results"] == "100"
    assert request.url.params["start_time"] == "2026-11-25T09:55:00Z"
    assert request.headers["authorization"] == f"Bearer {LEAK_MARKER}"


def test_x_reconcile_matches_when_only_the_url_text_differs() -> None:
    text = "Breaking: parliament passes the budget after a long night https://example.pk/b"

    def handler(request: httpx.Request) -> httpx.Response:
        returned = "Breaking: parliament passes the budget after a long night https://t.co/z"
        return httpx.Response(200, json=timeline({"id": "7", "text": returned}))

    result = make_adapter(handler).reconcile(payload(text), CREDENTIALS, account_id="42")
    assert result.published is True and result.external_id == "7"


def test_x_reconcile_not_found_when_listing_covers_since() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=timeline({"id": "1", "text": "another post entirely"}))

    result = make_adapter(handler).reconcile(
        payload(), CREDENTIALS, account_id="42", since=datetime.now(UTC)
    )
    assert result.published is False


def test_x_reconcile_follows_pagination_then_gives_up_as_cannot_tell() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json=timeline({"id": "1", "text": "other"}, next_token=f"t{len(seen)}")
        )

    result = make_adapter(handler, seen).reconcile(
        payload(), CREDENTIALS, account_id="42", since=datetime.now(UTC)
    )
    assert result.published is None
    assert len(seen) == 5
    assert seen[1].url.params["pagination_token"] == "t1"


def test_x_reconcile_error_means_cannot_tell_without_leaking_token() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={"title": "Service Unavailable", "status": 503})

    result = make_adapter(handler).reconcile(payload(), CREDENTIALS, account_id="42")
    assert result.published is None
    assert "Service Unavailable" in result.detail
    assert LEAK_MARKER not in result.detail


def test_x_reconcile_read_timeout_is_cannot_tell() -> None:
    result = make_adapter(raiser(httpx.ReadTimeout)).reconcile(
        payload(), CREDENTIALS, account_id="42"
    )
    assert result.published is None
    assert LEAK_MARKER not in result.detail
