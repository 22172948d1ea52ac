"""Follow-up posts: a channel with ``first_comment`` gets one beside the article's post.

The follow-up (Instagram's first comment, a Facebook comment, the X reply that makes a thread)
is its own post, ``kind`` comment or reply, with ``parent_id`` the article's post on the same
channel.  It is rendered like any post and waits in ``scheduled`` until the dispatcher's claim
finds its parent published (:mod:`scheduler.delivery.dispatch`).  One per (article, channel,
kind): the unique constraint makes a second intake a no-op.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from scheduler.channels import ChannelRow, channel_settings
from scheduler.editorial.lifecycle import RERENDERABLE
from scheduler.intake.rows import post_row
from scheduler.models import Article, Post, utcnow


class PostKind(StrEnum):
    """``Post.kind``: the article's post on a channel (link), or a follow-up under it:
    Instagram's first comment or a Facebook comment (comment), the X thread reply (reply)."""

    LINK = "link"
    COMMENT = "comment"
    REPLY = "reply"


#: The follow-up kind of each platform.
FOLLOWUP_KIND = {"x": PostKind.REPLY, "instagram": PostKind.COMMENT, "facebook": PostKind.COMMENT}


def ensure_followups(
    *, session: Session, article: Article, channels: list[ChannelRow], now: datetime
) -> int:
    """Create the missing follow-up of each of the article's posts not yet sent, on the channels
    that have a ``first_comment``; returns how many were created.

    A post already handed to a worker (or published, cancelled, failed) gets none: a channel
    that gains ``first_comment`` later does not comment on old posts.
    """
    wanted = {ch.id: ch for ch in channels if channel_settings(ch).first_comment}
    if not wanted:
        return 0
    parents = session.execute(
        sa.select(col(Post.id), col(Post.channel_id), col(Post.scheduled_at)).where(
            col(Post.article_id) == article.id,
            col(Post.kind) == PostKind.LINK,
            col(Post.channel_id).in_(list(wanted)),
            col(Post.status).in_(sorted(RERENDERABLE)),
        )
    ).all()
    created_at = utcnow()
    rows = [
        followup_row(
            article, wanted[channel_id], parent_id, scheduled_at, now=now, created=created_at
        )
        for parent_id, channel_id, scheduled_at in parents
    ]
    if not rows:
        return 0
    table = Post.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(table)
        .on_conflict_do_nothing(index_elements=["article_id", "channel_id", "kind"])
        .returning(table.c.id)
    )
    return len(session.execute(stmt, rows).all())


def followup_row(
    article: Article,
    channel: ChannelRow,
    parent_id: uuid.UUID,
    scheduled_at: datetime | None,
    *,
    now: datetime,
    created: datetime,
) -> dict[str, Any]:
    """Every column of a new follow-up: rendered by the format task, due with its parent."""
    row = post_row(article, channel, now=now, created=created)
    row.update(
        kind=FOLLOWUP_KIND[str(channel.platform)].value,
        parent_id=parent_id,
        scheduled_at=scheduled_at or row["scheduled_at"],
    )
    return row
