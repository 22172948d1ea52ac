"""The delivery log: every attempt with its outcome, for ops."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from adapters.errors import RATE_LIMIT_CLASSES
from scheduler.db.cursors import decode_cursor, encode_cursor
from scheduler.models import Article, AttemptStatus, Channel, DeliveryAttempt, Post, PostStatus
from scheduler.ops.delivery_groups import attempt_facts, post_facts
from scheduler.ops.delivery_words import PostFacts, describe_attempt


class Delivery(BaseModel):
    """One delivery attempt and its outcome (messages are redacted when recorded)."""

    id: str
    post_id: str
    article_external_id: str
    article_title: str = Field(description="The article's headline (any script)")
    channel: str
    channel_name: str
    number: int
    status: str
    created_at: str
    scheduled_for: str | None
    started_at: str | None
    finished_at: str | None
    http_status: int | None
    error_code: str | None
    error_subcode: str | None
    error_class: str | None
    message: str | None
    latency_ms: int | None
    worker: str | None
    external_id: str | None
    rate_limit: dict[str, Any]
    summary: str = Field(
        description="What happened and what happens next, in one sentence (no token ever)"
    )


def attempt_row(
    a: DeliveryAttempt,
    post: Post,
    channel: Channel,
    article: Article,
    *,
    facts: PostFacts | None = None,
    tz: str = "UTC",
) -> Delivery:
    """One delivery-log entry (never a token: messages are redacted when recorded).

    ``facts`` say where the post stands for the summary; without them the attempt is taken as
    the post's newest (as on the live stream) and no retry budget is named.
    """
    facts = facts or PostFacts(status=str(post.status), next_attempt_at=post.next_attempt_at)
    return Delivery(
        id=str(a.id),
        post_id=str(a.post_id),
        article_external_id=article.external_id,
        article_title=article.title,
        channel=str(channel.platform),
        channel_name=channel.name,
        number=a.number,
        status=str(a.status),
        created_at=a.created_at.isoformat(),
        scheduled_for=a.scheduled_for.isoformat() if a.scheduled_for else None,
        started_at=a.started_at.isoformat() if a.started_at else None,
        finished_at=a.finished_at.isoformat() if a.finished_at else None,
        http_status=a.http_status,
        error_code=a.error_code,
        error_subcode=a.error_subcode,
        error_class=a.error_class,
        message=a.message,
        latency_ms=a.latency_ms,
        worker=a.worker,
        external_id=a.external_id,
        rate_limit=a.rate_limit,
        summary=describe_attempt(attempt_facts(a, str(channel.platform)), facts, tz=tz),
    )


def list_deliveries(
    *,
    session: Session,
    limit: int = 100,
    finished_after: datetime | None = None,
    status: str | None = None,
    channel: str | None = None,
    error_class: str | None = None,
) -> list[Delivery]:
    """Attempts, newest first (or, with ``finished_after``, oldest finished first)."""
    stmt = (
        select(DeliveryAttempt, Post, Channel, Article)
        .join(Post, col(Post.id) == col(DeliveryAttempt.post_id))
        .join(Channel, col(Channel.id) == col(DeliveryAttempt.channel_id))
        .join(Article, col(Article.id) == col(Post.article_id))
    )
    if status:
        stmt = stmt.where(col(DeliveryAttempt.status) == status)
    if channel:
        stmt = stmt.where(col(Channel.platform) == channel)
    if error_class:
        stmt = stmt.where(col(DeliveryAttempt.error_class) == error_class)
    if finished_after is not None:
        stmt = stmt.where(col(DeliveryAttempt.finished_at) > finished_after).order_by(
            col(DeliveryAttempt.finished_at), col(DeliveryAttempt.id)
        )
    else:
        stmt = stmt.order_by(col(DeliveryAttempt.created_at).desc(), col(DeliveryAttempt.id))
    stmt = stmt.limit(limit)
    return [attempt_row(a, p, c, ar) for a, p, c, ar in session.exec(stmt).all()]


@dataclass(frozen=True)
class DeliveryFilter:
    """What ops narrow the delivery log by; ``channel`` is a platform name or a channel id."""

    status: str | None = None
    channel: str | None = None
    error_class: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _filtered(stmt: Any, flt: DeliveryFilter) -> Any:
    if flt.status:
        stmt = stmt.where(col(DeliveryAttempt.status) == flt.status)
    if flt.channel:
        try:
            stmt = stmt.where(col(DeliveryAttempt.channel_id) == uuid.UUID(flt.channel))
        except ValueError:
            stmt = stmt.where(col(Channel.platform) == flt.channel)
    if flt.error_class:
        stmt = stmt.where(col(DeliveryAttempt.error_class) == flt.error_class)
    if flt.since is not None:
        stmt = stmt.where(col(DeliveryAttempt.created_at) >= flt.since)
    if flt.until is not None:
        stmt = stmt.where(col(DeliveryAttempt.created_at) < flt.until)
    return stmt


def _joined() -> Any:
    return (
        select(DeliveryAttempt, Post, Channel, Article)
        .join(Post, col(Post.id) == col(DeliveryAttempt.post_id))
        .join(Channel, col(Channel.id) == col(DeliveryAttempt.channel_id))
        .join(Article, col(Article.id) == col(Post.article_id))
    )


def _post_budgets(session: Session, post_ids: set[uuid.UUID]) -> dict[uuid.UUID, tuple[int, int]]:
    """(newest attempt number, attempts that used the retry budget) of only these posts."""
    if not post_ids:
        return {}
    a = DeliveryAttempt
    used = sa.and_(
        col(a.error_class).is_not(None), col(a.error_class).not_in(sorted(RATE_LIMIT_CLASSES))
    )
    rows = session.execute(
        sa.select(
            col(a.post_id), sa.func.max(col(a.number)), sa.func.sum(sa.case((used, 1), else_=0))
        )
        .where(col(a.post_id).in_(post_ids))
        .group_by(col(a.post_id))
    ).all()
    return {pid: (int(newest), int(n or 0)) for pid, newest, n in rows}


def page_deliveries(
    *,
    session: Session,
    flt: DeliveryFilter,
    limit: int,
    cursor: str | None = None,
    tz: str = "UTC",
    max_attempts: int | None = None,
) -> tuple[list[Delivery], str | None]:
    """One page of the delivery log, newest first, and the cursor of the next page (or None).

    Keyset pagination on ``(created_at, id)``: stable while new attempts arrive, and each page
    costs an index range scan however deep the client pages (no OFFSET).  The summaries need
    each page post's newest attempt and retry budget: one more query over only those posts.
    """
    stmt = _filtered(_joined(), flt)
    if cursor:
        at, row_id = decode_cursor(cursor)
        stmt = stmt.where(
            sa.or_(
                col(DeliveryAttempt.created_at) < at,
                sa.and_(col(DeliveryAttempt.created_at) == at, col(DeliveryAttempt.id) < row_id),
            )
        )
    stmt = stmt.order_by(col(DeliveryAttempt.created_at).desc(), col(DeliveryAttempt.id).desc())
    rows = session.exec(stmt.limit(limit + 1)).all()
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        last = page[-1][0]
        next_cursor = encode_cursor(last.created_at, last.id)
    budgets = _post_budgets(session, {r[0].post_id for r in page})
    out = []
    for a, p, c, ar in page:
        newest, used = budgets.get(a.post_id, (a.number, 0))
        facts = post_facts(p, latest=a.number >= newest, used=used, max_attempts=max_attempts or 0)
        if max_attempts is None:
            facts = replace(facts, attempts_left=None)
        out.append(attempt_row(a, p, c, ar, facts=facts, tz=tz))
    return out, next_cursor


def _with_cursors(rows: Any) -> list[tuple[Delivery, str]]:
    out = []
    for a, p, c, ar in rows:
        assert a.finished_at is not None  # the queries select finished attempts only
        out.append((attempt_row(a, p, c, ar), encode_cursor(a.finished_at, a.id)))
    return out


def finished_after(
    *, session: Session, after: tuple[datetime, uuid.UUID] | None, limit: int = 200
) -> list[tuple[Delivery, str]]:
    """Finished attempts strictly after a ``(finished_at, id)`` position, oldest first, each
    with its stream cursor."""
    stmt = _joined().where(col(DeliveryAttempt.finished_at).is_not(None))
    if after is not None:
        at, row_id = after
        stmt = stmt.where(
            sa.or_(
                col(DeliveryAttempt.finished_at) > at,
                sa.and_(col(DeliveryAttempt.finished_at) == at, col(DeliveryAttempt.id) > row_id),
            )
        )
    stmt = stmt.order_by(col(DeliveryAttempt.finished_at), col(DeliveryAttempt.id))
    return _with_cursors(session.exec(stmt.limit(limit)).all())


def finished_late(
    *, session: Session, after: tuple[datetime, uuid.UUID], window: timedelta, limit: int = 200
) -> list[tuple[Delivery, str]]:
    """Finished attempts stamped within ``window`` before a position, oldest first.

    A worker stamps ``finished_at`` before its transaction commits, so a row can become visible
    after rows stamped later; a live tail re-reads this window and de-duplicates by id.
    """
    at, row_id = after
    stmt = _joined().where(
        col(DeliveryAttempt.finished_at) > at - window,
        sa.or_(
            col(DeliveryAttempt.finished_at) < at,
            sa.and_(col(DeliveryAttempt.finished_at) == at, col(DeliveryAttempt.id) <= row_id),
        ),
    )
    stmt = stmt.order_by(col(DeliveryAttempt.finished_at), col(DeliveryAttempt.id))
    return _with_cursors(session.exec(stmt.limit(limit)).all())


def waiting_deliveries(*, session: Session, platforms: list[str], enqueued_before: datetime) -> int:
    """Attempts for ``platforms`` handed to the broker before ``enqueued_before`` and not started.

    A healthy worker with a free thread starts an attempt within milliseconds, so such attempts
    mean their messages are lost (the reaper re-sends them) or nobody is consuming them.
    """
    if not platforms:
        return 0
    return int(
        session.execute(
            sa.select(sa.func.count())
            .select_from(DeliveryAttempt)
            .join(Post, col(Post.id) == col(DeliveryAttempt.post_id))
            .where(
                col(DeliveryAttempt.status) == AttemptStatus.ENQUEUED,
                col(DeliveryAttempt.created_at) < enqueued_before,
                col(Post.platform).in_(platforms),
            )
        ).scalar_one()
    )


def waiting_renders(*, session: Session, requested_before: datetime) -> int:
    """Posts waiting for the format task since before ``requested_before``."""
    return int(
        session.execute(
            sa.select(sa.func.count())
            .select_from(Post)
            .where(
                col(Post.status) == PostStatus.RENDERING,
                col(Post.updated_at) < requested_before,
            )
        ).scalar_one()
    )
