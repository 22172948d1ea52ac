"""Fixtures for the adapters' rendering and image tests (no network, no database)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx
import pytest

from adapters.base import ArticleContent
from adapters.facebook import FacebookAdapter
from adapters.instagram import InstagramAdapter
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
