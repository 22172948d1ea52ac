"""What the post-action tests share: an actor, an over-long X text, seeding and reading posts
(rows come from :mod:`tests.utils.factories`)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from scheduler.db.engine import session_scope
from scheduler.editorial.actions import (
    set_approval_required,
)
from scheduler.models import (
    AuditEvent,
    Post,
)
from tests.utils.factories import by_platform, seed_article

EDITOR = "key:desk-editor"
LONG_X_TEXT = "Breaking: " + "word " * 61  # 315 characters: over X's 280


def seed(
    engine: Engine, article_json: dict[str, Any], tag: str = "a", **kw: Any
) -> dict[str, uuid.UUID]:
    """The ids of a seeded article's posts (see :func:`tests.utils.factories.seed_article`)."""
    return {
        platform: p.id
        for platform, p in by_platform(seed_article(engine, article_json, tag, **kw)).items()
    }


def load(engine: Engine, post_id: uuid.UUID) -> Post:
    with Session(engine) as s:
        post = s.get(Post, post_id)
        assert post is not None
        return post


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
