"""InstagramAdapter.reconcile through httpx.MockTransport."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from tests.adapters.ig_graph import (
    CAPTION,
    CONTAINER,
    CREDENTIALS,
    IG_USER,
    LEAK_MARKER,
    MEDIA,
    FakeGraph,
    Route,
    graph_error,
    happy_routes,
    make_adapter,
    ok,
    payload,
    status,
)


def test_ig_reconcile_published_container_finds_media_by_caption() -> None:
    routes = happy_routes()
    routes[("GET", CONTAINER)] = [status("PUBLISHED")]
    routes[("GET", f"{IG_USER}/media")] = [
        ok({"data": [{"id": MEDIA, "caption": CAPTION, "permalink": "https://ig/p/1"}]})
    ]
    graph = FakeGraph(routes)
    adapter, _slept = make_adapter(graph)
    result = adapter.reconcile(
        payload(), CREDENTIALS, account_id=IG_USER, state={"container_id": CONTAINER}
    )
    assert result.published is True
    assert result.external_id == MEDIA
    assert result.external_url == "https://ig/p/1"
    assert graph.calls("GET", CONTAINER)[0].url.params["fields"] == "status_code"
    assert graph.calls("POST", f"{IG_USER}/media_publish") == []


@pytest.mark.parametrize("code", ["FINISHED", "IN_PROGRESS", "EXPIRED", "ERROR"])
def test_ig_reconcile_unpublished_container_states_mean_not_published(code: str) -> None:
    adapter, _slept = make_adapter(FakeGraph({("GET", CONTAINER): [status(code)]}))
    result = adapter.reconcile(
        payload(), CREDENTIALS, account_id=IG_USER, state={"container_id": CONTAINER}
    )
    assert result.published is False


def test_ig_reconcile_without_container_finds_caption_in_media_list() -> None:
    routes: dict[tuple[str, str], list[httpx.Response | Route]] = {
        ("GET", f"{IG_USER}/media"): [ok({"data": [{"id": MEDIA, "caption": CAPTION}]})]
    }
    adapter, _slept = make_adapter(FakeGraph(routes))
    result = adapter.reconcile(payload(), CREDENTIALS, account_id=IG_USER)
    assert result.published is True and result.external_id == MEDIA


def test_ig_reconcile_without_container_or_match_cannot_tell_when_unbounded() -> None:
    routes: dict[tuple[str, str], list[httpx.Response | Route]] = {
        ("GET", f"{IG_USER}/media"): [ok({"data": [{"id": "1", "caption": "other"}]})]
    }
    adapter, _slept = make_adapter(FakeGraph(routes))
    assert adapter.reconcile(payload(), CREDENTIALS, account_id=IG_USER).published is None


def test_ig_reconcile_without_container_not_found_when_media_covers_since() -> None:
    routes: dict[tuple[str, str], list[httpx.Response | Route]] = {
        ("GET", f"{IG_USER}/media"): [ok({"data": [{"id": "1", "caption": "other"}]})]
    }
    adapter, _slept = make_adapter(FakeGraph(routes))
    since = datetime.now(UTC)
    result = adapter.reconcile(payload(), CREDENTIALS, account_id=IG_USER, since=since)
    assert result.published is False


def test_ig_reconcile_error_is_cannot_tell() -> None:
    adapter, _slept = make_adapter(
        FakeGraph({("GET", CONTAINER): [httpx.Response(500, json=graph_error(2))]})
    )
    result = adapter.reconcile(
        payload(), CREDENTIALS, account_id=IG_USER, state={"container_id": CONTAINER}
    )
    assert result.published is None
    assert LEAK_MARKER not in result.detail
