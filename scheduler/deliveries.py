"""The delivery log: every attempt with its outcome, for ops."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from scheduler.models import Article, Channel, DeliveryAttempt, Post


def attempt_row(
    a: DeliveryAttempt, post: Post, channel: Channel, article: Article
) -> dict[str, Any]:
    """One delivery-log entry (never a token: messages are redacted when recorded)."""
    return {
        "id": str(a.id),
        "post_id": str(a.post_id),
        "article_external_id": article.external_id,
        "channel": str(channel.platform),
        "channel_name": channel.name,
        "number": a.number,
        "status": str(a.status),
        "created_at": a.created_at.isoformat(),
        "scheduled_for": a.scheduled_for.isoformat() if a.scheduled_for else None,
        "started_at": a.started_at.isoformat() if a.started_at else None,
        "finished_at": a.finished_at.isoformat() if a.finished_at else None,
        "http_status": a.http_status,
        "error_code": a.error_code,
        "error_subcode": a.error_subcode,
        "error_class": a.error_class,
        "message": a.message,
        "latency_ms": a.latency_ms,
        "worker": a.worker,
        "external_id": a.external_id,
        "rate_limit": a.rate_limit,
    }


def list_deliveries(
    *,
    session: Session,
    limit: int = 100,
    finished_after: datetime | None = None,
    status: str | None = None,
    channel: str | None = None,
    error_class: str | None = None,
) -> list[dict[str, Any]]:
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
