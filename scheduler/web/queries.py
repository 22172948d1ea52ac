"""Read queries behind the web pages.  Each page costs a fixed handful of queries, whatever the
number of posts: joins instead of per-row lookups, aggregates for counts, and keyset pages."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from config import Settings
from scheduler.channels import list_channels
from scheduler.editorial.lifecycle import NEEDS_ATTENTION
from scheduler.models import Article, Channel, Post, PostStatus
from scheduler.ops.channel_health import ChannelHealth, channel_health_row
from scheduler.ops.health import recent_attempts


@dataclass(frozen=True)
class QueueRow:
    """One post as the queue and calendar show it."""

    post_id: uuid.UUID
    article_id: uuid.UUID
    title: str
    platform: str
    channel_name: str
    channel_tz: str
    status: str
    scheduled_at: datetime | None
    published_at: datetime | None
    external_url: str | None
    last_error: str | None
    priority: str = "normal"
    wait_code: str | None = None
    wait_reason: str | None = None

    @property
    def breaking(self) -> bool:
        return str(self.priority) == "breaking"

    @property
    def why_waiting(self) -> str | None:
        """Why the post has not gone out: the dispatcher's reason (slot, spacing, quota, cap)
        or, from the status, approval."""
        if self.status == PostStatus.PENDING_APPROVAL:
            return "Waiting for approval"
        if self.status in (PostStatus.SCHEDULED, PostStatus.HELD) and self.wait_reason:
            return self.wait_reason
        return None


_QUEUE_COLUMNS = (
    col(Post.id),
    col(Post.article_id),
    col(Article.title),
    col(Post.platform),
    col(Channel.name),
    col(Channel.timezone),
    col(Post.status),
    col(Post.scheduled_at),
    col(Post.published_at),
    col(Post.external_url),
    col(Post.last_error),
    col(Article.priority),
    col(Post.wait_code),
    col(Post.wait_reason),
)

#: Posts that may still go out by themselves (what "next out" looks at).
UPCOMING = (
    PostStatus.SCHEDULED,
    PostStatus.HELD,
    PostStatus.PENDING_APPROVAL,
    PostStatus.RETRY_WAIT,
    PostStatus.QUEUED,
)


def _queue_select(channel_id: uuid.UUID | None, status: str | None) -> Any:
    stmt = (
        sa.select(*_QUEUE_COLUMNS)
        .join(Article, col(Article.id) == col(Post.article_id))
        .join(Channel, col(Channel.id) == col(Post.channel_id))
        .where(col(Post.scheduled_at).is_not(None))
    )
    if channel_id is not None:
        stmt = stmt.where(col(Post.channel_id) == channel_id)
    if status:
        stmt = stmt.where(col(Post.status) == status)
    return stmt


def status_counts(*, session: Session, channel_id: uuid.UUID | None = None) -> dict[str, int]:
    """Posts by status (one aggregate query)."""
    stmt = sa.select(col(Post.status), sa.func.count()).group_by(col(Post.status))
    if channel_id is not None:
        stmt = stmt.where(col(Post.channel_id) == channel_id)
    return {str(s): int(n) for s, n in session.execute(stmt).all()}


def day_counts(
    *,
    session: Session,
    days: list[tuple[datetime, datetime]],
    channel_id: uuid.UUID | None = None,
    status: str | None = None,
) -> list[int]:
    """How many posts are scheduled in each ``[start, end)`` range (one aggregate query)."""
    at = col(Post.scheduled_at)
    stmt = sa.select(
        *(sa.func.count().filter(sa.and_(at >= lo, at < hi)) for lo, hi in days)
    ).where(at >= days[0][0], at < days[-1][1])
    if channel_id is not None:
        stmt = stmt.where(col(Post.channel_id) == channel_id)
    if status:
        stmt = stmt.where(col(Post.status) == status)
    row = session.execute(stmt).one()
    return [int(n or 0) for n in row]


def window_rows(
    *,
    session: Session,
    start: datetime,
    end: datetime,
    channel_id: uuid.UUID | None = None,
    status: str | None = None,
    limit: int = 12,
) -> list[QueueRow]:
    """The first ``limit`` posts scheduled in ``[start, end)`` (one calendar day's cell)."""
    stmt = (
        _queue_select(channel_id, status)
        .where(col(Post.scheduled_at) >= start, col(Post.scheduled_at) < end)
        .order_by(col(Post.scheduled_at), col(Post.id))
        .limit(limit)
    )
    return [QueueRow(*r) for r in session.execute(stmt).all()]


def article_with_posts(
    *, session: Session, article_id: uuid.UUID
) -> tuple[Article, list[tuple[Post, Channel]]] | None:
    """The article and its posts with their channels (one query for the posts)."""
    article = session.get(Article, article_id)
    if article is None:
        return None
    rows = session.exec(
        select(Post, Channel)
        .join(Channel, col(Channel.id) == col(Post.channel_id))
        .where(col(Post.article_id) == article_id)
        .order_by(col(Channel.platform), col(Channel.name), col(Post.kind))
    ).all()
    return article, [(p, c) for p, c in rows]


def post_article_id(*, session: Session, post_id: uuid.UUID) -> uuid.UUID | None:
    """The article a post belongs to (where an action on it redirects back to)."""
    value = session.execute(sa.select(col(Post.article_id)).where(col(Post.id) == post_id)).first()
    return value[0] if value else None


def channel_options(*, session: Session) -> list[tuple[uuid.UUID, str, str]]:
    """(id, name, platform) of every channel, for filter menus."""
    rows = session.execute(
        sa.select(col(Channel.id), col(Channel.name), col(Channel.platform)).order_by(
            col(Channel.platform), col(Channel.name)
        )
    ).all()
    return [(r[0], r[1], str(r[2])) for r in rows]


def post_channel_zone(*, session: Session, post_id: uuid.UUID) -> str | None:
    """The time zone of the post's channel (a schedule picker is read in it), or None."""
    value = session.execute(
        sa.select(col(Channel.timezone))
        .join(Post, col(Post.channel_id) == col(Channel.id))
        .where(col(Post.id) == post_id)
    ).first()
    return str(value[0]) if value else None


def channel_health_rows(
    *, session: Session, settings: Settings | None = None
) -> list[ChannelHealth]:
    """Every channel's health row (as the ops API shows it) with counts of posts needing care;
    with ``settings`` it names a token about to expire."""
    counts: dict[uuid.UUID, dict[str, int]] = {}
    rows = session.execute(
        sa.select(col(Post.channel_id), col(Post.status), sa.func.count())
        .where(col(Post.status).in_(sorted(NEEDS_ATTENTION)))
        .group_by(col(Post.status), col(Post.channel_id))
    ).all()
    for channel_id, status, n in rows:
        counts.setdefault(channel_id, {})[str(status)] = int(n)
    recent = recent_attempts(session=session)
    return [
        channel_health_row(c, counts.get(c.id, {}), recent.get(c.id), settings=settings)
        for c in list_channels(session=session)
    ]


def next_out(*, session: Session) -> list[QueueRow]:
    """Per channel, the post that goes out next (soonest upcoming, breaking first): one query."""
    breaking_first = sa.case((col(Article.priority) == "breaking", 0), else_=1)
    rank = (
        sa.func.row_number()
        .over(
            partition_by=col(Post.channel_id),
            order_by=(breaking_first, col(Post.scheduled_at), col(Post.id)),
        )
        .label("rank")
    )
    inner = (
        _queue_select(None, None)
        .add_columns(rank)
        .where(col(Post.status).in_(list(UPCOMING)))
        .subquery()
    )
    cols = list(inner.c)[: len(_QUEUE_COLUMNS)]  # the QueueRow columns, in order
    stmt = sa.select(*cols).where(inner.c.rank == 1).order_by(cols[3], cols[4])
    return [QueueRow(*r) for r in session.execute(stmt).all()]
