"""Before creating a container, the Instagram adapter checks that the image URL answers with an
image; otherwise a ConfigurationError (the channel is held) and no container is created."""

from __future__ import annotations

import httpx
import pytest

from adapters.errors import ConfigurationError, ErrorClass
from tests.adapters.ig_graph import (
    CREDENTIALS,
    IG_USER,
    IMAGE_URL,
    FakeGraph,
    happy_routes,
    make_adapter,
    payload,
)


def _publish_with_image_answers(*answers: httpx.Response) -> FakeGraph:
    routes = happy_routes()
    routes[("HEAD", "image")] = [answers[0]]
    if len(answers) > 1:
        routes[("GET", "image")] = [answers[1]]
    graph = FakeGraph(routes)
    adapter, _ = make_adapter(graph)
    adapter.publish(payload(), CREDENTIALS, account_id=IG_USER)
    return graph


def test_the_image_is_checked_with_head_before_the_container() -> None:
    graph = _publish_with_image_answers(httpx.Response(200, headers={"content-type": "image/jpeg"}))
    methods = [(r.method, str(r.url)) for r in graph.seen[:2]]
    assert methods[0] == ("HEAD", IMAGE_URL)
    assert methods[1][0] == "POST" and methods[1][1].endswith(f"{IG_USER}/media")


def test_a_server_refusing_head_gets_a_one_byte_ranged_get() -> None:
    graph = _publish_with_image_answers(
        httpx.Response(405),
        httpx.Response(206, headers={"content-type": "image/jpeg"}, content=b"\xff"),
    )
    ranged = [r for r in graph.seen if r.method == "GET" and str(r.url) == IMAGE_URL]
    assert ranged and ranged[0].headers["range"] == "bytes=0-0"


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (httpx.Response(404, headers={"content-type": "text/html"}), "answered HTTP 404"),
        (httpx.Response(200, headers={"content-type": "text/html"}), "(text/html), not an image"),
        (httpx.Response(200), "no content type"),
    ],
)
def test_an_url_that_does_not_answer_with_an_image_is_a_configuration_error(
    answer: httpx.Response, words: str
) -> None:
    with pytest.raises(ConfigurationError) as refused:
        _publish_with_image_answers(answer)
    assert words in refused.value.message
    assert "NEWSRELAY_MEDIA_BASE_URL" in refused.value.message
    assert refused.value.error_class == ErrorClass.CONFIGURATION


def test_an_unreachable_media_store_is_a_configuration_error_and_no_container() -> None:
    def route(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    routes = happy_routes()
    routes[("HEAD", "image")] = [route]
    graph = FakeGraph(routes)
    adapter, _ = make_adapter(graph)
    with pytest.raises(ConfigurationError, match="could not be reached"):
        adapter.publish(payload(), CREDENTIALS, account_id=IG_USER)
    assert graph.calls("POST", f"{IG_USER}/media") == []
