"""Audit trail: who did what to which article, post or channel, and when."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from scheduler.models import AuditEvent, utcnow


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
        detail=detail[:2000] if detail else None,
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
            "detail": detail[:2000] if detail else None,
            "before": before or {},
            "after": after or {},
        },
    )
    return event_id
