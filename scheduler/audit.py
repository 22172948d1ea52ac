"""Audit trail: who did what to which article, post or channel, and when."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session

from scheduler.models import AuditEvent


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
