"""Test data, made through the real services: articles, channels, posts, attempts and API keys.

One implementation of each, shared by every test package (as ``tests/utils`` in
fastapi/full-stack-fastapi-template).  Nothing here mocks anything: rows go into the test's own
database the way intake, workers and admins put them there.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from config import Settings
from scheduler.access.auth import create_api_key
from scheduler.channels import ensure_sandbox_channels
from scheduler.db.engine import session_scope
from scheduler.intake.articles import ingest_article
from scheduler.intake.schemas import parse_article
from scheduler.models import AttemptStatus, DeliveryAttempt, Post, PostStatus, Role, utcnow
from tests.conftest import FIXTURE_ARTICLE


def article_variant(tag: str, **changes: Any) -> dict[str, Any]:
    """The fixture article with a unique id and title, so each test has its own posts."""
    data: dict[str, Any] = json.loads(FIXTURE_ARTICLE.read_text(encoding="utf-8"))
    data["external_id"] = f"{data['external_id']}-{tag}"
    data["title"] = f"{data['title']} ({tag})"
    data["summary"] = f"{data['summary']} [{tag}]"
    data.update(changes)
    return data


def sandbox_channel_ids(engine: Engine, settings: Settings) -> dict[str, uuid.UUID]:
    """The sandbox X, Instagram and Facebook channels (created unless they exist), by platform."""
    with session_scope(engine) as s:
        return {
            str(c.platform): c.id for c in ensure_sandbox_channels(session=s, settings=settings)
        }


def role_keys(session: Session) -> dict[str, str]:
    """One API key per role (editor, ops, admin), by role name."""
    return {r.value: create_api_key(session=session, name=f"{r.value}-key", role=r) for r in Role}


def seed_article(
    engine: Engine,
    article_json: dict[str, Any],
    tag: str = "api",
    *,
    status: PostStatus = PostStatus.SCHEDULED,
    hours: float = 1,
) -> list[Post]:
    """Ingest a variant of the fixture article; its posts rendered, in ``status`` and scheduled
    ``hours`` from now (rendering belongs to the workers; these tests need rendered posts)."""
    data = dict(article_json, external_id=f"{article_json['external_id']}-{tag}")
    with session_scope(engine) as s:
        result = ingest_article(session=s, data=parse_article(data))
        posts = list(s.exec(select(Post).where(Post.article_id == result.article.id)).all())
        for post in posts:
            post.status = status
            post.text = f"{data['title']} {tag}"
            post.scheduled_at = utcnow() + timedelta(hours=hours)
            post.rendered_revision = 1
            s.add(post)
    return posts


def by_platform(posts: list[Post]) -> dict[str, Post]:
    """Posts keyed by their platform name."""
    return {str(p.platform): p for p in posts}


def set_post(engine: Engine, post_id: uuid.UUID, **values: Any) -> None:
    """Put a post into a state directly (as a worker or the dispatcher would have left it)."""
    with session_scope(engine) as s:
        post = s.get(Post, post_id)
        assert post is not None
        for k, v in values.items():
            setattr(post, k, v)
        s.add(post)


def add_attempt(
    engine: Engine,
    post: Post,
    *,
    status: AttemptStatus = AttemptStatus.SUCCEEDED,
    error_class: str | None = None,
    minutes_ago: float = 0,
    latency_ms: int = 420,
    message: str | None = None,
) -> uuid.UUID:
    """Record a finished attempt for ``post`` (as a worker would)."""
    at = utcnow() - timedelta(minutes=minutes_ago)
    with session_scope(engine) as s:
        number = len(
            s.exec(select(DeliveryAttempt).where(DeliveryAttempt.post_id == post.id)).all()
        )
        attempt = DeliveryAttempt(
            post_id=post.id,
            channel_id=post.channel_id,
            number=number + 1,
            status=status,
            created_at=at,
            scheduled_for=at - timedelta(seconds=2),
            started_at=at,
            finished_at=at + timedelta(milliseconds=latency_ms),
            http_status=200 if status == AttemptStatus.SUCCEEDED else 500,
            error_class=error_class,
            latency_ms=latency_ms,
            message=message,
            worker="test-worker",
        )
        s.add(attempt)
        return attempt.id
