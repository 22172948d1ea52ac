"""Post services: listing, and the editor's actions (approve, schedule, cancel, edit, retry)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from scheduler.models import Article, Channel, Post


def post_row(post: Post, article: Article, channel: Channel) -> dict[str, Any]:
    """The public summary of a post (CLI and API)."""
    return {
        "id": str(post.id),
        "article_id": str(post.article_id),
        "article_external_id": article.external_id,
        "article_title": article.title,
        "channel": str(channel.platform),
        "channel_id": str(channel.id),
        "channel_name": channel.name,
        "status": str(post.status),
        "scheduled_at": post.scheduled_at.isoformat() if post.scheduled_at else None,
        "external_id": post.external_id,
        "external_url": post.external_url,
        "last_error": post.last_error,
        "attempt_count": post.attempt_count,
    }


def list_post_rows(
    *, session: Session, status: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """Posts with their article and channel, newest first."""
    stmt = (
        select(Post, Article, Channel)
        .join(Article, col(Article.id) == col(Post.article_id))
        .join(Channel, col(Channel.id) == col(Post.channel_id))
        .order_by(col(Post.created_at).desc(), col(Post.id))
        .limit(limit)
    )
    if status:
        stmt = stmt.where(col(Post.status) == status)
    return [post_row(p, a, c) for p, a, c in session.exec(stmt).all()]
