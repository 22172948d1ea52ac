"""Reading the audit trail: filters and keyset pages, newest first."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from scheduler.cursors import decode_cursor, encode_cursor
from scheduler.models import AuditEvent


@dataclass(frozen=True)
class AuditFilter:
    post_id: uuid.UUID | None = None
    channel_id: uuid.UUID | None = None
    actor: str | None = None


def audit_row(event: AuditEvent) -> dict[str, Any]:
    """One audit event as the API shows it."""
    return {
        "id": str(event.id),
        "at": event.at.isoformat(),
        "actor": event.actor,
        "action": event.action,
        "article_id": str(event.article_id) if event.article_id else None,
        "post_id": str(event.post_id) if event.post_id else None,
        "channel_id": str(event.channel_id) if event.channel_id else None,
        "detail": event.detail,
        "before": event.before,
        "after": event.after,
    }


def page_audit_events(
    *, session: Session, flt: AuditFilter, limit: int, cursor: str | None = None
) -> tuple[list[dict[str, Any]], str | None]:
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
