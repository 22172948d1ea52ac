"""FacebookAdapter.publish and reconcile through httpx.MockTransport."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import httpx
import pytest

from adapters.base import Payload
from adapters.errors import (
    AuthExpiredError,
    BlockedError,
    DeliveryError,
    DuplicateContentError,
    PermanentError,
    PermissionDeniedError,
    RateLimitedError,
    RetryableError,
    UnknownOutcomeError,
)
from adapters.facebook import FacebookAdapter

LEAK_MARKER = "EAAG-page-token-MUST-NOT-LEAK-5521"
CREDENTIALS = {"access_token": LEAK_MARKER}
BASE = "https://graph.facebook.com"
VERSION = "v26.0"
PAGE = "112130216863063"
POST_ID = f"{PAGE}_998877665544"
MESSAGE = "Ishaq Dar and Hakan Fidan discussed a Gaza ceasefire framework in Istanbul."
LINK = "https://example.pk/news/dar-istanbul?utm_source=facebook"

Handler = Callable[[httpx.Request], httpx.Response]


def make_adapter(handler: Handler, seen: list[httpx.Request] | None = None) -> FacebookAdapter:
    def record(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return handler(request)

    client = httpx.Client(transport=httpx.MockTransport(record), timeout=httpx.Timeout(5.0))
    return FacebookAdapter(client=client, base_url=BASE, api_version=VERSION)


def payload(text: str = MESSAGE) -> Payload:
    return Payload(channel="facebook", text=text, link=LINK)


def graph_error(code: int, subcode: int | None = None, message: str = "error") -> dict[str, object]:
    error: dict[str, object] = {"message": message, "type": "OAuthException", "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    return {"error": error}


def fails_with(status: int, body: dict[str, object], **headers: str) -> FacebookAdapter:
    return make_adapter(lambda r: httpx.Response(status, json=body, headers=headers))


def assert_no_secret(exc: DeliveryError) -> None:
    assert LEAK_MARKER not in str(exc) and LEAK_MARKER not in exc.message


def test_fb_publish_posts_message_and_link_to_feed() -> None:
    seen: list[httpx.Request] = []
    usage = '{"call_count":5,"total_time":2,"total_cputime":1}'
    adapter = make_adapter(
        lambda r: httpx.Response(200, json={"id": POST_ID}, headers={"X-App-Usage": usage}), seen
    )
    result = adapter.publish(payload(), CREDENTIALS, account_id=PAGE)
    request = seen[0]
    assert request.method == "POST"
    assert str(request.url) == f"{BASE}/{VERSION}/{PAGE}/feed"
    assert request.headers["authorization"] == f"Bearer {LEAK_MARKER}"
    body = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
    assert body == {"message": MESSAGE, "link": LINK}
    assert result.external_id == POST_ID
    assert result.external_url == f"https://www.facebook.com/{POST_ID}"
    assert result.http_status == 200
    assert result.rate_limit == {"app": {"call_count": 5, "total_time": 2, "total_cputime": 1}}


def test_fb_publish_without_link_sends_message_only() -> None:
    seen: list[httpx.Request] = []
    adapter = make_adapter(lambda r: httpx.Response(200, json={"id": POST_ID}), seen)
    adapter.publish(Payload(channel="facebook", text=MESSAGE), CREDENTIALS, account_id=PAGE)
    assert parse_qs(seen[0].content.decode()) == {"message": [MESSAGE]}


def test_fb_duplicate_status_is_duplicate_content() -> None:
    adapter = fails_with(400, graph_error(506, None, "(#506) Duplicate status message"))
    with pytest.raises(DuplicateContentError) as info:
        adapter.publish(payload(), CREDENTIALS, account_id=PAGE)
    assert "(#506) Duplicate status message" in info.value.message
    assert info.value.code == "506"


def test_fb_classifies_by_code_not_http_status() -> None:
    # 190 under a 500 is still an expired token; code 2 under a 400 is still transient.
    with pytest.raises(AuthExpiredError):
        fails_with(500, graph_error(190, 460)).publish(payload(), CREDENTIALS, account_id=PAGE)
    with pytest.raises(RetryableError) as info:
        fails_with(400, graph_error(2)).publish(payload(), CREDENTIALS, account_id=PAGE)
    assert type(info.value) is RetryableError


@pytest.mark.parametrize(
    ("code", "subcode", "expected"),
    [
        (368, 1390008, BlockedError),
        (200, 1404078, PermissionDeniedError),
        (100, 1609005, PermanentError),
        (80001, None, RateLimitedError),
    ],
)
def test_fb_publish_errors_raise_their_class(
    code: int, subcode: int | None, expected: type[DeliveryError]
) -> None:
    with pytest.raises(expected) as info:
        fails_with(400, graph_error(code, subcode)).publish(payload(), CREDENTIALS, account_id=PAGE)
    assert type(info.value) is expected
    assert info.value.code == str(code)


def test_fb_buc_throttle_reset_from_estimated_time_to_regain_access() -> None:
    buc = (
        f'{{"{PAGE}":[{{"type":"pages","call_count":100,"total_cputime":30,"total_time":40,'
        '"estimated_time_to_regain_access":25,"ads_api_access_tier":"development_access"}]}'
    )
    adapter = fails_with(
        429,
        graph_error(80001, None, "(#80001) There have been too many calls to this Page account."),
        **{"X-Business-Use-Case-Usage": buc},
    )
    before = datetime.now(UTC)
    with pytest.raises(RateLimitedError) as info:
        adapter.publish(payload(), CREDENTIALS, account_id=PAGE)
    assert info.value.reset_at is not None
    assert timedelta(minutes=25) <= info.value.reset_at - before < timedelta(minutes=26)
    assert info.value.rate_limit["business_use_case"][PAGE][0]["call_count"] == 100


def test_fb_server_error_after_feed_post_is_unknown_outcome() -> None:
    adapter = make_adapter(lambda r: httpx.Response(502, text="<html>Bad Gateway</html>"))
    with pytest.raises(UnknownOutcomeError):
        adapter.publish(payload(), CREDENTIALS, account_id=PAGE)


def test_fb_token_never_in_error_messages() -> None:
    adapter = fails_with(
        400, graph_error(190, 467, f"Invalid OAuth access token {LEAK_MARKER} (access_token=x)")
    )
    with pytest.raises(AuthExpiredError) as info:
        adapter.publish(payload(), CREDENTIALS, account_id=PAGE)
    assert_no_secret(info.value)
    assert "access_token=x" not in info.value.message


def raiser(exc_type: type[httpx.TransportError]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc_type(f"failed {request.url}", request=request)

    return handler


@pytest.mark.parametrize(
    ("exc_type", "expected"),
    [
        (httpx.ConnectError, RetryableError),
        (httpx.ConnectTimeout, RetryableError),
        (httpx.PoolTimeout, RetryableError),
        (httpx.ReadTimeout, UnknownOutcomeError),
        (httpx.WriteTimeout, UnknownOutcomeError),
        (httpx.RemoteProtocolError, UnknownOutcomeError),
    ],
    ids=str,
)
def test_fb_transport_errors_split_on_whether_the_post_was_sent(
    exc_type: type[httpx.TransportError], expected: type[DeliveryError]
) -> None:
    with pytest.raises(expected) as info:
        make_adapter(raiser(exc_type)).publish(payload(), CREDENTIALS, account_id=PAGE)
    assert type(info.value) is expected
    assert isinstance(info.value.__cause__, exc_type)
    assert_no_secret(info.value)


# --- reconcile -----------------------------------------------------------------------------


def feed(*posts: dict[str, str], after: str | None = None) -> dict[str, object]:
    body: dict[str, object] = {"data": list(posts)}
    if after:
        body["paging"] = {"cursors": {"after": after}, "next": "https://graph/next"}
    return body


def test_fb_reconcile_finds_the_message_in_the_feed() -> None:
    seen: list[httpx.Request] = []
    post = {
        "id": POST_ID,
        "message": MESSAGE + "\n",
        "created_time": "2026-11-25T10:01:00+0000",
        "permalink_url": "https://www.facebook.com/page/posts/998877665544",
    }
    adapter = make_adapter(lambda r: httpx.Response(200, json=feed(post)), seen)
    since = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    result = adapter.reconcile(payload(), CREDENTIALS, account_id=PAGE, since=since)
    assert result.published is True
    assert result.external_id == POST_ID
    assert result.external_url == "https://www.facebook.com/page/posts/998877665544"
    request = seen[0]
    assert request.method == "GET"
    assert request.url.path == f"/{VERSION}/{PAGE}/feed"
    assert request.url.params["fields"] == "id,message,created_time,permalink_url"
    assert request.headers["authorization"] == f"Bearer {LEAK_MARKER}"


def test_fb_reconcile_not_found_when_feed_reaches_back_past_since() -> None:
    seen: list[httpx.Request] = []
    newer = {"id": f"{PAGE}_2", "message": "other", "created_time": "2026-11-25T10:05:00+0000"}
    older = {"id": f"{PAGE}_1", "message": "older", "created_time": "2026-11-25T08:00:00+0000"}

    def handler(request: httpx.Request) -> httpx.Response:
        if "after" in request.url.params:
            return httpx.Response(200, json=feed(older, after="c2"))
        return httpx.Response(200, json=feed(newer, after="c1"))

    since = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    result = make_adapter(handler, seen).reconcile(
        payload(), CREDENTIALS, account_id=PAGE, since=since
    )
    assert result.published is False
    assert len(seen) == 2
    assert seen[1].url.params["after"] == "c1"


def test_fb_reconcile_endless_feed_cannot_tell() -> None:
    recent = {"id": f"{PAGE}_9", "message": "x", "created_time": "2026-11-25T11:00:00+0000"}
    adapter = make_adapter(lambda r: httpx.Response(200, json=feed(recent, after="more")))
    result = adapter.reconcile(
        payload(), CREDENTIALS, account_id=PAGE, since=datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    )
    assert result.published is None


def test_fb_reconcile_expired_token_is_raised_not_an_answer() -> None:
    adapter = fails_with(400, graph_error(190, 463, "Session has expired"))
    with pytest.raises(AuthExpiredError) as info:
        adapter.reconcile(payload(), CREDENTIALS, account_id=PAGE)
    assert "Session has expired" in info.value.message
    assert LEAK_MARKER not in info.value.message


def test_fb_reconcile_server_error_is_raised_with_its_status() -> None:
    adapter = fails_with(500, graph_error(2, None, "Service temporarily unavailable"))
    with pytest.raises(DeliveryError) as info:
        adapter.reconcile(payload(), CREDENTIALS, account_id=PAGE)
    assert info.value.http_status == 500
    assert LEAK_MARKER not in info.value.message
