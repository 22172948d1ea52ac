"""The column values of a new article and a new post (intake's plain multi-row INSERTs)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from scheduler.channels import ChannelRow, channel_settings
from scheduler.intake.schemas import ArticleIn
from scheduler.models import Article, ArticleState, Channel, PostStatus, Priority


def initial_schedule(article: Article, channel: Channel | ChannelRow, *, now: datetime) -> datetime:
    """When a new post should go out: after publication plus the channel's delay."""
    delay = 0 if article.priority == Priority.BREAKING else channel_settings(channel).delay_minutes
    base = max(now, article.published_at or now)
    return base + timedelta(minutes=delay)


def article_row(data: ArticleIn, *, revision: int, digest: str, now: datetime) -> dict[str, Any]:
    """Every column of a new article (the JSON and timestamp columns have no SQL default)."""
    return {
        "id": uuid.uuid4(),
        "source": data.source,
        "external_id": data.external_id,
        "url": data.url,
        "title": data.title,
        "summary": data.summary,
        "body": data.body,
        "image_url": data.image_url,
        "image_credit": data.image_credit,
        "tags": list(data.tags),
        "section": data.section,
        "author": data.author,
        "language": data.language,
        "published_at": data.published_at,
        "priority": Priority(data.priority).value,
        "state": ArticleState.PUBLISHED.value,
        "revision": revision,
        "content_hash": digest,
        "created_at": now,
        "updated_at": now,
    }


def post_row(
    article: Article, channel: ChannelRow, *, now: datetime, created: datetime
) -> dict[str, Any]:
    """Every column of a new post (the JSON and timestamp columns have no SQL default)."""
    return {
        "id": uuid.uuid4(),
        "article_id": article.id,
        "channel_id": channel.id,
        "platform": str(channel.platform),
        "kind": "link",
        "parent_id": None,
        "status": PostStatus.RENDERING.value,
        "text": "",
        "text_override": None,
        "edited_by": None,
        "link": None,
        "media": [],
        "problems": [],
        "warnings": [],
        "weighted_length": None,
        "rendered_revision": 0,
        "render_requested_revision": article.revision,
        "scheduled_at": initial_schedule(article, channel, now=now),
        "approved_by": None,
        "approved_at": None,
        "version": 1,
        "external_id": None,
        "external_url": None,
        "platform_state": {},
        "fingerprint": None,
        "next_attempt_at": None,
        "lease_until": None,
        "last_error": None,
        "attempt_count": 0,
        "published_at": None,
        "created_at": created,
        "updated_at": created,
    }
