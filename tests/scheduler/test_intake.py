"""Article intake: validation, idempotency, one post per channel."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from config import Settings
from scheduler.channels import ensure_sandbox_channels
from scheduler.db.engine import session_scope
from scheduler.intake.articles import ingest_article
from scheduler.intake.schemas import InvalidInput, parse_article
from scheduler.models import Article, AuditEvent, Post, PostStatus


@pytest.fixture
def channels(engine: Engine, settings: Settings) -> None:
    with session_scope(engine) as s:
        ensure_sandbox_channels(session=s, settings=settings)


def _count(engine: Engine, model: Any) -> int:
    with Session(engine) as s:
        return int(s.exec(select(func.count()).select_from(model)).one())


def test_adding_the_same_article_twice_gives_one_article_and_one_post_per_channel(
    engine: Engine, channels: None, article_json: dict[str, Any]
) -> None:
    data = parse_article(article_json)
    with session_scope(engine) as s:
        first = ingest_article(session=s, data=data)
        assert first.created and len(first.posts_created) == 3
    with session_scope(engine) as s:
        second = ingest_article(session=s, data=data)
        assert not second.created
        assert second.article.revision == 2
        assert second.posts_created == []
        assert len(second.posts_rerendered) == 3
    assert _count(engine, Article) == 1
    assert _count(engine, Post) == 3
    with Session(engine) as s:
        posts = s.exec(select(Post)).all()
        assert {p.platform for p in posts} == {"x", "instagram", "facebook"}
        assert all(p.status == PostStatus.RENDERING for p in posts)
        assert all(p.render_requested_revision == 2 for p in posts)
        actions = [e.action for e in s.exec(select(AuditEvent)).all()]
        assert "article.create" in actions and "article.update" in actions


def test_explicit_revision_is_idempotent(
    engine: Engine, channels: None, article_json: dict[str, Any]
) -> None:
    data = parse_article(article_json)
    with session_scope(engine) as s:
        ingest_article(session=s, data=data, revision=3)
    with session_scope(engine) as s:
        again = ingest_article(session=s, data=data, revision=3)
        assert again.duplicate and not again.changed
        assert again.article.revision == 3
    assert _count(engine, Post) == 3


def test_published_posts_are_not_rerendered_on_update(
    engine: Engine, channels: None, article_json: dict[str, Any]
) -> None:
    data = parse_article(article_json)
    with session_scope(engine) as s:
        ingest_article(session=s, data=data)
    with session_scope(engine) as s:
        post = s.exec(select(Post).where(Post.platform == "x")).one()
        post.status = PostStatus.PUBLISHED
        post.external_id = "123"
        s.add(post)
    changed = parse_article({**article_json, "title": "Corrected headline"})
    with session_scope(engine) as s:
        result = ingest_article(session=s, data=changed)
        assert {p.platform for p in result.posts_rerendered} == {"instagram", "facebook"}
    with Session(engine) as s:
        x = s.exec(select(Post).where(Post.platform == "x")).one()
        assert x.status == PostStatus.PUBLISHED and x.external_id == "123"


def test_invalid_article_gets_one_error_per_field(article_json: dict[str, Any]) -> None:
    bad = {
        **article_json,
        "url": "not a url",
        "published_at": "2025-11-03T16:35:00",
        "surprise": 1,
        "tags": "Pakistan",
    }
    del bad["title"]
    with pytest.raises(InvalidInput) as info:
        parse_article(bad)
    fields = sorted(e.split(":")[0] for e in info.value.errors)
    assert fields == ["published_at", "surprise", "tags", "title", "url"]
    assert any("time zone" in e for e in info.value.errors)
    assert any(e == "surprise: unknown field" for e in info.value.errors)
    assert any(e == "title: required field is missing" for e in info.value.errors)


def test_non_object_body_is_refused_clearly() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_article(["not", "an", "object"])
    assert "JSON object" in info.value.errors[0]
