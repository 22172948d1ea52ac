"""What the post-action tests share: an actor, an over-long X text, seeding and reading posts."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from scheduler.db.engine import session_scope
from scheduler.editorial.actions import (
    set_approval_required,
)
from scheduler.intake.articles import ingest_article
from scheduler.intake.schemas import parse_article
from scheduler.models import (
    AuditEvent,
    Post,
    PostStatus,
    utcnow,
)

EDITOR = "key:desk-editor"
LONG_X_TEXT = "Breaking: " + "word " * 61  # 315 characters: over X's 280


def seed(
    engine: Engine,
    article_json: dict[str, Any],
    tag: str = "a",
    *,
    status: PostStatus = PostStatus.SCHEDULED,
    hours: float = 1,
) -> dict[str, uuid.UUID]:
    """Ingest a variant of the fixture article; its posts rendered and in ``status``."""
    data = dict(article_json, external_id=f"{article_json['external_id']}-{tag}")
    with session_scope(engine) as s:
        article = ingest_article(session=s, data=parse_article(data)).article
        posts = s.exec(select(Post).where(Post.article_id == article.id)).all()
        for post in posts:
            # Rendering belongs to the workers (tested there); these tests need rendered posts.
            post.status = status
            post.text = f"{data['title']} {tag}"
            post.scheduled_at = utcnow() + timedelta(hours=hours)
            post.rendered_revision = 1
            s.add(post)
        return {str(p.platform): p.id for p in posts}


def load(engine: Engine, post_id: uuid.UUID) -> Post:
    with Session(engine) as s:
        post = s.get(Post, post_id)
        assert post is not None
        return post


def force(engine: Engine, post_id: uuid.UUID, **values: Any) -> None:
    with session_scope(engine) as s:
        post = s.get(Post, post_id)
        assert post is not None
        for k, v in values.items():
            setattr(post, k, v)
        s.add(post)


def audit_actions(engine: Engine, post_id: uuid.UUID) -> list[AuditEvent]:
    with Session(engine) as s:
        return list(
            s.exec(
                select(AuditEvent).where(AuditEvent.post_id == post_id).order_by(col(AuditEvent.at))
            ).all()
        )


def require_approval(engine: Engine, channel_id: uuid.UUID) -> None:
    with session_scope(engine) as s:
        set_approval_required(session=s, channel_id=channel_id, required=True, actor=EDITOR)
