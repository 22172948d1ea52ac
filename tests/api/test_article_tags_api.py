"""Articles with many tags are accepted whole (up to 500); beyond that a precise 422."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from scheduler.models import Article
from tests.api.conftest import ApiHarness

PROBLEM = "application/problem+json"


def _submit(api: ApiHarness, body: dict[str, Any]) -> Any:
    return api.client.post("/api/v1/articles", headers=api.headers("editor"), json=body)


def _stored(api: ApiHarness) -> list[Article]:
    with Session(api.engine) as s:
        return list(s.exec(select(Article)).all())


def test_an_article_with_120_tags_is_accepted_with_all_of_them(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    tags = [f"Topic {n}" for n in range(120)]
    response = _submit(api, dict(article_json, tags=tags))
    assert response.status_code == 201, response.text
    [article] = _stored(api)
    assert article.tags == tags


def test_more_than_500_tags_or_a_tag_over_100_characters_is_refused_precisely(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    too_many = _submit(api, dict(article_json, tags=[f"t{n}" for n in range(501)]))
    assert too_many.status_code == 422 and too_many.headers["content-type"] == PROBLEM
    assert too_many.json()["errors"] == [
        "tags: List should have at most 500 items after validation, not 501"
    ]
    too_long = _submit(api, dict(article_json, tags=["Gaza", "x" * 101]))
    assert too_long.status_code == 422
    assert too_long.json()["errors"] == ["tags.1: String should have at most 100 characters"]
    assert _stored(api) == []
    assert _submit(api, dict(article_json, tags=["t"] * 500)).status_code == 201
