"""The ops delivery log as people read it: one entry per post, its latest outcome in a sentence,
and its earlier attempts under it.

Three bounded queries per page, whatever the size of ``delivery_attempt``: a keyset page of
attempts on ``(created_at, id)`` (the ``ix_attempt_created`` range scan the API uses), then the
attempts of only the posts on that page (``post_id`` index), then those posts with their
article and channel.  Grouping happens in Python over those few rows, never as a GROUP BY over
the table.  A post whose newer attempt fell on an earlier page is left out of later pages, so
each post shows once while paging.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from adapters.errors import RATE_LIMIT_CLASSES
from scheduler.db.cursors import decode_cursor, encode_cursor
from scheduler.models import Article, Channel, DeliveryAttempt, Post, PostStatus
from scheduler.ops.delivery_words import AttemptFacts, PostFacts, describe_attempt

#: At most this many attempts of one page's posts are read (a post retried without end
#: cannot make the page slow; its count still comes from the attempt numbers).
HISTORY_CAP = 1000


@dataclass(frozen=True)
class AttemptLine:
    """One attempt of a post, as the log's expanded entry lists it."""

    id: uuid.UUID
    number: int
    status: str
    created_at: datetime
    sentence: str


@dataclass(frozen=True)
class DeliveryEntry:
    """One post in the delivery log: its latest attempt's sentence and its attempts."""

    post_id: uuid.UUID
    article_id: uuid.UUID
    article_title: str
    article_external_id: str
    platform: str
    channel_name: str
    post_status: str
    external_url: str | None
    attempts: list[AttemptLine]  # newest first
    attempt_count: int

    @property
    def latest(self) -> AttemptLine:
        return self.attempts[0]


def budget_used(error_classes: Iterable[str | None]) -> int:
    """Attempts that used the retry budget: failures other than rate limits (as delivery
    counts them)."""
    return sum(1 for c in error_classes if c is not None and c not in RATE_LIMIT_CLASSES)


def attempt_facts(a: Any, platform: str) -> AttemptFacts:
    """The sentence's input from an attempt row (ORM object or selected columns)."""
    return AttemptFacts(
        platform=platform,
        status=str(a.status),
        error_class=a.error_class,
        http_status=a.http_status,
        error_code=a.error_code,
        error_subcode=a.error_subcode,
        message=a.message,
        at=a.finished_at or a.created_at,
    )


def post_facts(post: Any, *, latest: bool, used: int, max_attempts: int) -> PostFacts:
    """Where the post stands, with the attempts it has left while it waits for a retry."""
    waiting = str(post.status) == PostStatus.RETRY_WAIT
    return PostFacts(
        status=str(post.status),
        next_attempt_at=post.next_attempt_at,
        latest=latest,
        attempts_left=max(0, max_attempts - used) if waiting else None,
    )


def _page(
    session: Session, *, status: str | None, channel_id: uuid.UUID | None, cursor: str | None,
    limit: int,
) -> tuple[list[Any], str | None]:  # fmt: skip
    a = DeliveryAttempt
    stmt = sa.select(col(a.id), col(a.post_id), col(a.created_at))
    if status:
        stmt = stmt.where(col(a.status) == status)
    if channel_id is not None:
        stmt = stmt.where(col(a.channel_id) == channel_id)
    if cursor:
        at, row_id = decode_cursor(cursor)
        stmt = stmt.where(
            sa.or_(col(a.created_at) < at, sa.and_(col(a.created_at) == at, col(a.id) < row_id))
        )
    stmt = stmt.order_by(col(a.created_at).desc(), col(a.id).desc()).limit(limit + 1)
    rows = list(session.execute(stmt).all())
    page = rows[:limit]
    more = len(rows) > limit
    return page, encode_cursor(page[-1].created_at, page[-1].id) if more else None


def _history(session: Session, post_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Any]]:
    a = DeliveryAttempt
    rows = session.execute(
        sa.select(
            col(a.id),
            col(a.post_id),
            col(a.number),
            col(a.status),
            col(a.created_at),
            col(a.finished_at),
            col(a.http_status),
            col(a.error_code),
            col(a.error_subcode),
            col(a.error_class),
            col(a.message),
        )
        .where(col(a.post_id).in_(post_ids))
        .order_by(col(a.created_at).desc(), col(a.id).desc())
        .limit(HISTORY_CAP)
    ).all()
    out: dict[uuid.UUID, list[Any]] = {}
    for r in rows:
        out.setdefault(r.post_id, []).append(r)
    return out


def _posts(session: Session, post_ids: list[uuid.UUID]) -> dict[uuid.UUID, Any]:
    rows = session.execute(
        sa.select(
            col(Post.id),
            col(Post.status),
            col(Post.next_attempt_at),
            col(Post.external_url),
            col(Article.id).label("article_id"),
            col(Article.title),
            col(Article.external_id),
            col(Channel.platform),
            col(Channel.name),
        )
        .join(Article, col(Article.id) == col(Post.article_id))
        .join(Channel, col(Channel.id) == col(Post.channel_id))
        .where(col(Post.id).in_(post_ids))
    ).all()
    return {r.id: r for r in rows}


def _position(row: Any) -> tuple[datetime, uuid.UUID]:
    return (row.created_at, row.id)


def _shown_earlier(history: list[Any], status: str | None, bound: tuple[datetime, Any]) -> bool:
    """A matching attempt at or after the cursor (the last row of the page before): the post
    was shown on an earlier page."""
    return any(_position(r) >= bound for r in history if status is None or str(r.status) == status)


def delivery_entries(
    *,
    session: Session,
    tz: str,
    max_attempts: int,
    status: str | None = None,
    channel_id: uuid.UUID | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[DeliveryEntry], str | None]:
    """One page of the log grouped by post, newest first, and the next page's cursor.

    Raises ``scheduler.db.cursors.InvalidCursor`` for a cursor this service did not issue.
    """
    page, next_cursor = _page(
        session, status=status, channel_id=channel_id, cursor=cursor, limit=limit
    )
    order = list(dict.fromkeys(r.post_id for r in page))
    if not order:
        return [], next_cursor
    histories = _history(session, order)
    posts = _posts(session, order)
    bound = decode_cursor(cursor) if cursor else None
    entries = []
    for post_id in order:
        history, post = histories.get(post_id, []), posts.get(post_id)
        if not history or post is None:
            continue
        if bound is not None and _shown_earlier(history, status, bound):
            continue
        entries.append(_entry(post, history, tz=tz, max_attempts=max_attempts))
    return entries, next_cursor


def _entry(post: Any, history: list[Any], *, tz: str, max_attempts: int) -> DeliveryEntry:
    used = budget_used(r.error_class for r in history)
    platform = str(post.platform)
    lines = [
        AttemptLine(
            id=r.id,
            number=r.number,
            status=str(r.status),
            created_at=r.created_at,
            sentence=describe_attempt(
                attempt_facts(r, platform),
                post_facts(post, latest=i == 0, used=used, max_attempts=max_attempts),
                tz=tz,
            ),
        )
        for i, r in enumerate(history)
    ]
    return DeliveryEntry(
        post_id=post.id,
        article_id=post.article_id,
        article_title=post.title,
        article_external_id=post.external_id,
        platform=platform,
        channel_name=post.name,
        post_status=str(post.status),
        external_url=post.external_url,
        attempts=lines,
        attempt_count=max(len(lines), max(r.number for r in history)),
    )
