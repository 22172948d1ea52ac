"""XAdapter.publish and reconcile through httpx.MockTransport."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from adapters.base import MediaItem, Payload
from adapters.errors import (
    AuthExpiredError,
    DeliveryError,
    DuplicateContentError,
    PermanentError,
    QuotaExceededError,
    RateLimitedError,
    RetryableError,
    UnknownOutcomeError,
)
from adapters.x import XAdapter

LEAK_MARKER = "x-user-token-SHOULD-NEVER-APPEAR-7f3a"
CREDENTIALS = {"access_token": LEAK_MARKER}
BASE = "https://api.x.com"
TEXT = "Dar meets Fidan in Istanbul for Gaza talks https://example.pk/news/dar-istanbul #Pakistan"

Handler = Callable[[httpx.Request], httpx.Response]


def make_adapter(handler: Handler, seen: list[httpx.Request] | None = None) -> XAdapter:
    def record(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return handler(request)

    client = httpx.Client(transport=httpx.MockTransport(record), timeout=httpx.Timeout(5.0))
    return XAdapter(client=client, base_url=BASE)


def payload(text: str = TEXT) -> Payload:
    return Payload(channel="x", text=text, link="https://example.pk/news/dar-istanbul")


def assert_no_secret(exc: DeliveryError) -> None:
    assert LEAK_MARKER not in str(exc)
    assert LEAK_MARKER not in exc.message
    assert LEAK_MARKER not in repr(exc.args)


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


# --- media upload (§1.3) -------------------------------------------------------------------


class FakeXMedia:
    """Scripted v2 upload endpoints plus POST /2/tweets."""

    def __init__(self, *, states: list[str] | None = None) -> None:
        self.states = states or []
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        path = request.url.path
        if path == "/2/media/upload/initialize":
            return httpx.Response(200, json={"data": {"id": "1880028106020515840"}})
        if path.endswith("/append"):
            return httpx.Response(200, json={"data": {"expires_at": 1}})
        if path.endswith("/finalize") or path == "/2/media/upload":
            data: dict[str, Any] = {"id": "1880028106020515840"}
            if self.states:
                data["processing_info"] = {"state": self.states.pop(0), "check_after_secs": 2}
            return httpx.Response(200, json={"data": data})
        if path == "/2/tweets":
            return httpx.Response(201, json={"data": {"id": "99", "text": TEXT}})
        return httpx.Response(404, json={"title": "Not Found", "type": "about:blank"})


def media_payload(tmp_path: Any) -> Payload:
    image = tmp_path / "card.jpg"
    image.write_bytes(b"\xff\xd8" + b"x" * 1500 + b"\xff\xd9")
    item = MediaItem(url="https://media.example.pk/card.jpg", path=str(image), width=1, height=1)
    return Payload(channel="x", text=TEXT, media=[item])


def test_x_publish_with_media_uploads_then_attaches_media_ids(tmp_path: Any) -> None:
    fake = FakeXMedia(states=["pending", "in_progress", "succeeded"])
    adapter = make_adapter(fake)
    slept: list[float] = []
    adapter.sleep = slept.append
    progress: list[dict[str, Any]] = []
    result = adapter.publish(
        media_payload(tmp_path), CREDENTIALS, account_id="42", on_progress=progress.append
    )
    paths = [(r.method, r.url.path) for r in fake.seen]
    assert paths == [
        ("POST", "/2/media/upload/initialize"),
        ("POST", "/2/media/upload/1880028106020515840/append"),
        ("POST", "/2/media/upload/1880028106020515840/finalize"),
        ("GET", "/2/media/upload"),
        ("GET", "/2/media/upload"),
        ("POST", "/2/tweets"),
    ]
    init = json.loads(fake.seen[0].content)
    assert init == {
        "media_type": "image/jpeg",
        "total_bytes": 1504,
        "media_category": "tweet_image",
    }
    assert b'name="segment_index"' in fake.seen[1].content
    assert fake.seen[3].url.params["command"] == "STATUS"
    assert slept == [2.0, 2.0]
    assert json.loads(fake.seen[-1].content) == {
        "text": TEXT,
        "media": {"media_ids": ["1880028106020515840"]},
    }
    assert progress == [{"media_ids": ["1880028106020515840"]}]
    assert result.external_id == "99"


def test_x_publish_reuses_uploaded_media_ids_from_state(tmp_path: Any) -> None:
    fake = FakeXMedia()
    make_adapter(fake).publish(
        media_payload(tmp_path), CREDENTIALS, account_id="42", state={"media_ids": ["7"]}
    )
    assert [r.url.path for r in fake.seen] == ["/2/tweets"]
    assert json.loads(fake.seen[0].content)["media"] == {"media_ids": ["7"]}


def test_x_media_processing_failed_is_permanent_and_posts_nothing(tmp_path: Any) -> None:
    fake = FakeXMedia(states=["failed"])
    with pytest.raises(PermanentError):
        make_adapter(fake).publish(media_payload(tmp_path), CREDENTIALS, account_id="42")
    assert all(r.url.path != "/2/tweets" for r in fake.seen)


def test_x_expired_media_ids_are_dropped_for_a_fresh_upload(tmp_path: Any) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            400,
            json={
                "errors": [{"message": "Your media IDs are invalid.", "parameters": {}}],
                "title": "Invalid Request",
                "detail": "One or more parameters to your request was invalid.",
                "type": "https://api.twitter.com/2/problems/invalid-request",
            },
        )

    progress: list[dict[str, Any]] = []
    with pytest.raises(RetryableError):
        make_adapter(handler).publish(
            media_payload(tmp_path),
            CREDENTIALS,
            account_id="42",
            state={"media_ids": ["7"]},
            on_progress=progress.append,
        )
    assert progress == [{"media_ids": None}]
