"""InstagramAdapter.publish through httpx.MockTransport."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from adapters.base import Payload
from adapters.errors import (
    BlockedError,
    DeliveryError,
    PermanentError,
    QuotaExceededError,
    RateLimitedError,
    RetryableError,
    UnknownOutcomeError,
)
from tests.adapters.ig_graph import (
    CAPTION,
    CONTAINER,
    CREDENTIALS,
    IG_USER,
    IMAGE_URL,
    LEAK_MARKER,
    MEDIA,
    FakeGraph,
    assert_no_secret,
    form,
    graph_error,
    happy_routes,
    make_adapter,
    ok,
    payload,
    status,
)


def test_ig_publish_creates_container_reports_it_then_publishes() -> None:
    graph = FakeGraph(happy_routes())
    adapter, slept = make_adapter(graph)
    progress: list[dict[str, Any]] = []
    result = adapter.publish(
        payload(), CREDENTIALS, account_id=IG_USER, on_progress=progress.append
    )

    create = graph.calls("POST", f"{IG_USER}/media")[0]
    assert form(create) == {"image_url": IMAGE_URL, "caption": CAPTION}
    assert create.headers["authorization"] == f"Bearer {LEAK_MARKER}"
    assert "access_token" not in str(create.url)
    poll = graph.calls("GET", CONTAINER)[0]
    assert poll.url.params["fields"] == "status_code,status"
    publish = graph.calls("POST", f"{IG_USER}/media_publish")[0]
    assert form(publish) == {"creation_id": CONTAINER}
    assert progress == [
        {"container_id": CONTAINER},
        {"container_id": CONTAINER, "media_id": MEDIA},
    ]
    assert result.external_id == MEDIA
    assert result.external_url == "https://www.instagram.com/p/DAbc123/"
    assert result.http_status == 200
    assert result.rate_limit["app"]["call_count"] == 3
    assert slept == []


def test_ig_container_id_reported_before_anything_else_can_fail() -> None:
    routes = happy_routes()
    routes[("GET", CONTAINER)] = [httpx.Response(500, text="boom")]
    adapter, _slept = make_adapter(FakeGraph(routes))
    progress: list[dict[str, Any]] = []
    with pytest.raises(RetryableError):
        adapter.publish(payload(), CREDENTIALS, account_id=IG_USER, on_progress=progress.append)
    assert progress == [{"container_id": CONTAINER}]


def test_ig_publish_resumes_existing_container_without_creating_another() -> None:
    graph = FakeGraph(happy_routes())
    adapter, _slept = make_adapter(graph)
    result = adapter.publish(
        payload(), CREDENTIALS, account_id=IG_USER, state={"container_id": CONTAINER}
    )
    assert graph.calls("POST", f"{IG_USER}/media") == []
    assert len(graph.calls("POST", f"{IG_USER}/media_publish")) == 1
    assert result.external_id == MEDIA


def test_ig_published_container_is_not_published_again() -> None:
    routes = happy_routes()
    routes[("GET", CONTAINER)] = [status("PUBLISHED")]
    routes[("GET", f"{IG_USER}/media")] = [
        ok(
            {
                "data": [
                    {"id": "1", "caption": "older post", "timestamp": "2026-11-25T08:00:00+0000"},
                    {
                        "id": MEDIA,
                        "caption": CAPTION,
                        "permalink": "https://www.instagram.com/p/DAbc123/",
                        "timestamp": "2026-11-25T09:00:00+0000",
                    },
                ]
            }
        )
    ]
    graph = FakeGraph(routes)
    adapter, _slept = make_adapter(graph)
    progress: list[dict[str, Any]] = []
    result = adapter.publish(
        payload(),
        CREDENTIALS,
        account_id=IG_USER,
        state={"container_id": CONTAINER},
        on_progress=progress.append,
    )
    assert graph.calls("POST", f"{IG_USER}/media_publish") == []
    assert graph.calls("POST", f"{IG_USER}/media") == []
    assert result.external_id == MEDIA
    assert result.external_url == "https://www.instagram.com/p/DAbc123/"
    assert progress == [{"container_id": CONTAINER, "media_id": MEDIA}]


def test_ig_published_container_without_findable_media_returns_the_container() -> None:
    routes = happy_routes()
    routes[("GET", CONTAINER)] = [status("PUBLISHED")]
    routes[("GET", f"{IG_USER}/media")] = [ok({"data": []})]
    graph = FakeGraph(routes)
    adapter, _slept = make_adapter(graph)
    result = adapter.publish(
        payload(), CREDENTIALS, account_id=IG_USER, state={"container_id": CONTAINER}
    )
    assert graph.calls("POST", f"{IG_USER}/media_publish") == []
    assert result.external_id == CONTAINER


def test_ig_polls_until_finished_sleeping_between_checks() -> None:
    routes = happy_routes()
    routes[("GET", CONTAINER)] = [status("IN_PROGRESS"), status("IN_PROGRESS"), status("FINISHED")]
    graph = FakeGraph(routes)
    adapter, slept = make_adapter(graph)
    result = adapter.publish(payload(), CREDENTIALS, account_id=IG_USER)
    assert len(graph.calls("GET", CONTAINER)) == 3
    assert slept == [2.5, 2.5]
    assert result.external_id == MEDIA


def test_ig_still_in_progress_after_all_polls_is_retryable_and_keeps_container() -> None:
    routes = happy_routes()
    routes[("GET", CONTAINER)] = [status("IN_PROGRESS")]
    graph = FakeGraph(routes)
    adapter, slept = make_adapter(graph, attempts=3)
    progress: list[dict[str, Any]] = []
    with pytest.raises(RetryableError) as info:
        adapter.publish(payload(), CREDENTIALS, account_id=IG_USER, on_progress=progress.append)
    assert type(info.value) is RetryableError
    assert len(graph.calls("GET", CONTAINER)) == 3
    assert slept == [2.5, 2.5]
    assert progress == [{"container_id": CONTAINER}]
    assert graph.calls("POST", f"{IG_USER}/media_publish") == []


def test_ig_expired_container_is_retryable_and_dropped() -> None:
    routes = happy_routes()
    routes[("GET", CONTAINER)] = [status("EXPIRED")]
    adapter, _slept = make_adapter(FakeGraph(routes))
    progress: list[dict[str, Any]] = []
    with pytest.raises(RetryableError):
        adapter.publish(
            payload(),
            CREDENTIALS,
            account_id=IG_USER,
            state={"container_id": CONTAINER},
            on_progress=progress.append,
        )
    assert progress == [{"container_id": None}]


def test_ig_error_container_is_permanent_unless_transient_subcode() -> None:
    routes = happy_routes()
    routes[("GET", CONTAINER)] = [status("ERROR", "Error: the image format is unsupported")]
    adapter, _slept = make_adapter(FakeGraph(routes))
    with pytest.raises(PermanentError) as info:
        adapter.publish(payload(), CREDENTIALS, account_id=IG_USER)
    assert "unsupported" in info.value.message

    routes = happy_routes()
    routes[("GET", CONTAINER)] = [status("ERROR", "Media download has failed: 2207003")]
    adapter, _slept = make_adapter(FakeGraph(routes))
    progress: list[dict[str, Any]] = []
    with pytest.raises(RetryableError) as retry:
        adapter.publish(payload(), CREDENTIALS, account_id=IG_USER, on_progress=progress.append)
    assert type(retry.value) is RetryableError
    assert progress[-1] == {"container_id": None}


def test_ig_media_not_ready_on_publish_is_retryable_and_keeps_container() -> None:
    routes = happy_routes()
    routes[("POST", f"{IG_USER}/media_publish")] = [
        httpx.Response(400, json=graph_error(9007, 2207027, "Media ID is not available"))
    ]
    adapter, _slept = make_adapter(FakeGraph(routes))
    progress: list[dict[str, Any]] = []
    with pytest.raises(RetryableError):
        adapter.publish(payload(), CREDENTIALS, account_id=IG_USER, on_progress=progress.append)
    assert progress == [{"container_id": CONTAINER}]


def test_ig_expired_on_publish_drops_the_container() -> None:
    routes = happy_routes()
    routes[("POST", f"{IG_USER}/media_publish")] = [
        httpx.Response(400, json=graph_error(-2, 2207020, "The media has expired"))
    ]
    adapter, _slept = make_adapter(FakeGraph(routes))
    progress: list[dict[str, Any]] = []
    with pytest.raises(RetryableError):
        adapter.publish(payload(), CREDENTIALS, account_id=IG_USER, on_progress=progress.append)
    assert progress[-1] == {"container_id": None}


def test_ig_publishing_cap_is_quota_and_restriction_is_blocked() -> None:
    for code, subcode, expected in ((9, 2207042, QuotaExceededError), (4, 2207051, BlockedError)):
        routes = happy_routes()
        routes[("POST", f"{IG_USER}/media_publish")] = [
            httpx.Response(400, json=graph_error(code, subcode))
        ]
        adapter, _slept = make_adapter(FakeGraph(routes))
        with pytest.raises(expected) as info:
            adapter.publish(payload(), CREDENTIALS, account_id=IG_USER)
        assert type(info.value) is expected
        assert info.value.reset_at is not None


def test_ig_buc_throttle_sets_reset_from_regain_minutes() -> None:
    buc = (
        f'{{"{IG_USER}":[{{"type":"instagram","call_count":100,"total_cputime":5,'
        '"total_time":5,"estimated_time_to_regain_access":12}]}'
    )
    routes = happy_routes()
    routes[("POST", f"{IG_USER}/media")] = [
        httpx.Response(
            400,
            json=graph_error(80002, None, "(#80002) There have been too many calls"),
            headers={"X-Business-Use-Case-Usage": buc},
        )
    ]
    adapter, _slept = make_adapter(FakeGraph(routes))
    before = datetime.now(UTC)
    with pytest.raises(RateLimitedError) as info:
        adapter.publish(payload(), CREDENTIALS, account_id=IG_USER)
    assert info.value.reset_at is not None
    wait = info.value.reset_at - before
    assert timedelta(minutes=12) <= wait < timedelta(minutes=13)
    assert info.value.code == "80002"


@pytest.mark.parametrize(
    "exc_type", [httpx.ReadTimeout, httpx.WriteTimeout, httpx.RemoteProtocolError], ids=str
)
def test_ig_drop_after_media_publish_is_unknown_outcome(
    exc_type: type[httpx.TransportError],
) -> None:
    def drop(request: httpx.Request) -> httpx.Response:
        raise exc_type(f"dropped {request.url}", request=request)

    routes = happy_routes()
    routes[("POST", f"{IG_USER}/media_publish")] = [drop]
    adapter, _slept = make_adapter(FakeGraph(routes))
    with pytest.raises(UnknownOutcomeError) as info:
        adapter.publish(payload(), CREDENTIALS, account_id=IG_USER)
    assert isinstance(info.value.__cause__, exc_type)
    assert_no_secret(info.value)


def test_ig_timeout_creating_container_is_only_retryable() -> None:
    def drop(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    routes = happy_routes()
    routes[("POST", f"{IG_USER}/media")] = [drop]
    adapter, _slept = make_adapter(FakeGraph(routes))
    with pytest.raises(RetryableError) as info:
        adapter.publish(payload(), CREDENTIALS, account_id=IG_USER)
    assert type(info.value) is RetryableError


def test_ig_connect_error_is_retryable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    adapter, _slept = make_adapter(FakeGraph({("POST", f"{IG_USER}/media"): [refuse]}))
    with pytest.raises(RetryableError) as info:
        adapter.publish(payload(), CREDENTIALS, account_id=IG_USER)
    assert type(info.value) is RetryableError


def test_ig_missing_permalink_falls_back_to_none() -> None:
    routes = happy_routes()
    routes[("GET", MEDIA)] = [httpx.Response(500, text="")]
    adapter, _slept = make_adapter(FakeGraph(routes))
    result = adapter.publish(payload(), CREDENTIALS, account_id=IG_USER)
    assert result.external_id == MEDIA and result.external_url is None


def test_ig_expired_token_message_has_no_token() -> None:
    routes = happy_routes()
    routes[("POST", f"{IG_USER}/media")] = [
        httpx.Response(
            400,
            json=graph_error(
                190, 463, f"Error validating access token {LEAK_MARKER}: Session has expired"
            ),
        )
    ]
    adapter, _slept = make_adapter(FakeGraph(routes))
    with pytest.raises(DeliveryError) as info:
        adapter.publish(payload(), CREDENTIALS, account_id=IG_USER)
    assert info.value.error_class == "reauth"
    assert_no_secret(info.value)


def test_ig_payload_without_image_is_permanent_and_sends_nothing() -> None:
    graph = FakeGraph(happy_routes())
    adapter, _slept = make_adapter(graph)
    with pytest.raises(PermanentError):
        adapter.publish(Payload(channel="instagram", text=CAPTION), CREDENTIALS, account_id=IG_USER)
    assert graph.seen == []
