"""Seeding for channel-policy tests: channels with settings, articles with due posts."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from config import Settings
from scheduler.channels import ensure_sandbox_channels
from scheduler.db.engine import session_scope
from scheduler.intake.articles import ingest_article
from scheduler.intake.schemas import parse_article
from scheduler.models import Channel, Post, PostStatus
from tests.conftest import FIXTURE_ARTICLE


def sandbox_channels(
    engine: Engine, settings: Settings, **policies: dict[str, Any]
) -> dict[str, uuid.UUID]:
    """The sandbox channels by platform; ``x={...}`` etc. set a channel's settings."""
    with session_scope(engine) as s:
        channels = {
            str(c.platform): c for c in ensure_sandbox_channels(session=s, settings=settings)
        }
        for platform, values in policies.items():
            channels[platform].settings = {**channels[platform].settings, **values}
            s.add(channels[platform])
        return {p: c.id for p, c in channels.items()}


def due_article(
    engine: Engine, tag: str, *, published: datetime, due: datetime, priority: str = "normal"
) -> dict[str, uuid.UUID]:
    """An article's posts, rendered and scheduled at ``due``; post ids by platform."""
    data: dict[str, Any] = json.loads(FIXTURE_ARTICLE.read_text(encoding="utf-8"))
    data.update(
        external_id=f"policy-{tag}",
        title=f"Policy test {tag}",
        published_at=published.isoformat(),
        priority=priority,
    )
    with session_scope(engine) as s:
        article = ingest_article(session=s, data=parse_article(data)).article
        s.execute(
            sa.update(Post)
            .where(col(Post.article_id) == article.id)
            .values(
                status=PostStatus.SCHEDULED,
                text=f"t {tag}",
                scheduled_at=due,
                rendered_revision=article.revision,
            )
        )
        rows = s.execute(
            sa.select(col(Post.platform), col(Post.id)).where(col(Post.article_id) == article.id)
        ).all()
    return {str(platform): post_id for platform, post_id in rows}


def post(engine: Engine, post_id: uuid.UUID) -> Post:
    with Session(engine) as s:
        found = s.get(Post, post_id)
        assert found is not None
        return found


def channel(engine: Engine, channel_id: uuid.UUID) -> Channel:
    with Session(engine) as s:
        found = s.get(Channel, channel_id)
        assert found is not None
        return found


def queued(engine: Engine, platform: str) -> list[uuid.UUID]:
    """The ids of ``platform``'s posts the dispatcher has claimed, in claim order."""
    with Session(engine) as s:
        rows = s.exec(
            select(Post)
            .where(col(Post.platform) == platform, col(Post.status) == PostStatus.QUEUED)
            .order_by(col(Post.updated_at), col(Post.id))
        ).all()
        return [p.id for p in rows]


def ago(now: datetime, **delta: float) -> datetime:
    return now - timedelta(**delta)


def sent(engine: Engine, post_id: uuid.UUID, at: datetime) -> None:
    """Record a claimed post as published at ``at``, as the worker's outcome would."""
    with session_scope(engine) as s:
        s.execute(
            sa.update(Post)
            .where(col(Post.id) == post_id)
            .values(status=PostStatus.PUBLISHED, published_at=at, lease_until=None)
        )
