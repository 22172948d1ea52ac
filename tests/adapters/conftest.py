"""Fixtures for the adapters' tests: offline adapters for rendering, and the sandbox server
over real HTTP for publishing and reconciliation."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest

from adapters.base import ArticleContent
from adapters.facebook import FacebookAdapter
from adapters.instagram import InstagramAdapter
from adapters.sandbox import SandboxClient, SandboxServer
from adapters.x import XAdapter

SANDBOX = "http://sandbox.invalid"


def _offline_client() -> httpx.Client:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"render must not do I/O, but requested {request.url}")

    return httpx.Client(transport=httpx.MockTransport(refuse))


@pytest.fixture
def article(article_json: dict[str, Any]) -> ArticleContent:
    """The shared fixture article (Dar in Istanbul) as adapters see it."""
    fields = ("source", "external_id", "url", "title", "summary", "body", "image_url")
    return ArticleContent(
        **{k: article_json[k] for k in fields},
        tags=tuple(article_json["tags"]),
        section=article_json["section"],
        author=article_json["author"],
    )


@pytest.fixture
def x() -> XAdapter:
    return XAdapter(client=_offline_client(), base_url=SANDBOX)


@pytest.fixture
def ig() -> InstagramAdapter:
    return InstagramAdapter(client=_offline_client(), base_url=SANDBOX, api_version="v26.0")


@pytest.fixture
def fb() -> FacebookAdapter:
    return FacebookAdapter(client=_offline_client(), base_url=SANDBOX, api_version="v26.0")


def with_(article: ArticleContent, **changes: Any) -> ArticleContent:
    """A copy of ``article`` with some fields changed."""
    return replace(article, **changes)


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    """The sandbox platform server on a free port, for tests over real HTTP."""
    server = SandboxServer("127.0.0.1", port=0)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def admin(sandbox: SandboxServer) -> Iterator[SandboxClient]:
    """The sandbox's admin client: what the platform holds, and faults to inject."""
    client = SandboxClient(sandbox.url)
    yield client
    client.close()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    """The adapters' HTTP client, with the timeouts of a worker."""
    client = httpx.Client(timeout=httpx.Timeout(connect=2.0, read=5.0, write=5.0, pool=2.0))
    yield client
    client.close()
