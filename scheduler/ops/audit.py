"""Audit trail: who did what to which article, post or channel, and when; writing and reading it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Session, col, select

from scheduler.db.cursors import decode_cursor, encode_cursor
from scheduler.models import AuditEvent, clip_text, utcnow


def record_audit(
    *,
    session: Session,
    actor: str,
    action: str,
    article_id: uuid.UUID | None = None,
    post_id: uuid.UUID | None = None,
    channel_id: uuid.UUID | None = None,
    detail: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the session (committed with the change it describes)."""
    event = AuditEvent(
        actor=actor,
        action=action,
        article_id=article_id,
        post_id=post_id,
        channel_id=channel_id,
        detail=clip_text(detail) or None,
        before=before or {},
        after=after or {},
    )
    session.add(event)
    return event


_INSERT_AUDIT = sa.insert(AuditEvent.__table__)  # type: ignore[attr-defined]


def add_audit_row(
    *,
    session: Session,
    actor: str,
    action: str,
    article_id: uuid.UUID | None = None,
    post_id: uuid.UUID | None = None,
    channel_id: uuid.UUID | None = None,
    detail: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> uuid.UUID:
    """Insert an audit event now, as one plain INSERT (no ORM object; for hot paths).

    Same row as :func:`record_audit`, in the caller's transaction; the rows it refers to must
    already be in the database (it is executed at once, not at the next flush).
    """
    event_id = uuid.uuid4()
    # Values as parameters, not in the statement: the compiled statement is cached.
    session.execute(
        _INSERT_AUDIT,
        {
            "id": event_id,
            "at": utcnow(),
            "actor": actor,
            "action": action,
            "article_id": article_id,
            "post_id": post_id,
            "channel_id": channel_id,
            "detail": clip_text(detail) or None,
            "before": before or {},
            "after": after or {},
        },
    )
    return event_id


@dataclass(frozen=True)
class AuditFilter:
    post_id: uuid.UUID | None = None
    channel_id: uuid.UUID | None = None
    actor: str | None = None


class AuditEventOut(BaseModel):
    id: str
    at: str
    actor: str
    action: str
    article_id: str | None
    post_id: str | None
    channel_id: str | None
    detail: str | None
    before: dict[str, Any]
    after: dict[str, Any]


def audit_row(event: AuditEvent) -> AuditEventOut:
    """One audit event as the API shows it."""
    return AuditEventOut(
        id=str(event.id),
        at=event.at.isoformat(),
        actor=event.actor,
        action=event.action,
        article_id=str(event.article_id) if event.article_id else None,
        post_id=str(event.post_id) if event.post_id else None,
        channel_id=str(event.channel_id) if event.channel_id else None,
        detail=event.detail,
        before=event.before,
        after=event.after,
    )


def page_audit_events(
    *, session: Session, flt: AuditFilter, limit: int, cursor: str | None = None
) -> tuple[list[AuditEventOut], str | None]:
    """One page of audit events, newest first, and the next page's cursor (or None)."""
    stmt = select(AuditEvent)
    if flt.post_id:
        stmt = stmt.where(col(AuditEvent.post_id) == flt.post_id)
    if flt.channel_id:
        stmt = stmt.where(col(AuditEvent.channel_id) == flt.channel_id)
    if flt.actor:
        stmt = stmt.where(col(AuditEvent.actor) == flt.actor)
    if cursor:
        at, row_id = decode_cursor(cursor)
        stmt = stmt.where(
            sa.or_(
                col(AuditEvent.at) < at,
                sa.and_(col(AuditEvent.at) == at, col(AuditEvent.id) < row_id),
            )
        )
    stmt = stmt.order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc()).limit(limit + 1)
    rows = list(session.exec(stmt).all())
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1].at, page[-1].id) if len(rows) > limit else None
    return [audit_row(e) for e in page], next_cursor
