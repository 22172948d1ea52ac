"""Channel routing: which channels take an article (``ChannelSettings.routing``).

Intake creates posts only on the channels whose rules match; a re-published article follows the
rules in force, so its pending posts on channels that no longer take it are cancelled.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col

from adapters.base import ChannelRouting
from scheduler.channels import ChannelRow, channel_settings
from scheduler.editorial.lifecycle import RERENDERABLE
from scheduler.models import Article, Post, PostStatus
from scheduler.ops.audit import record_audit

NO_ROUTE_NOTE = "No channel takes this article (routing)"
UNROUTED_REASON = "Cancelled: the channel's routing no longer takes this article"


def takes(routing: ChannelRouting, article: Article) -> bool:
    """True when a channel with these rules takes the article (see :class:`ChannelRouting`)."""
    section = (article.section or "").casefold()
    tags = {str(tag).casefold() for tag in article.tags or ()}
    if routing.sources and article.source not in routing.sources:
        return False
    if routing.sections and section not in _folded(routing.sections):
        return False
    if routing.tags_any and not tags & _folded(routing.tags_any):
        return False
    if section and section in _folded(routing.exclude_sections):
        return False
    return not tags & _folded(routing.exclude_tags)


def _folded(words: Iterable[str]) -> set[str]:
    return {word.casefold() for word in words}


def routed_channels(channels: list[ChannelRow], article: Article) -> list[ChannelRow]:
    """The channels (in the given order) whose routing takes the article."""
    return [ch for ch in channels if takes(channel_settings(ch).routing, article)]


def cancel_unrouted(
    *,
    session: Session,
    article: Article,
    keep: set[object],
    actor: str,
    now: datetime,
) -> list[uuid.UUID]:
    """Cancel the article's not-yet-sent posts on channels outside ``keep`` (ids of the channels
    that take it); returns the cancelled post ids.  Posts in flight or sent are left alone."""
    return cancel_pending_posts(
        session=session, article=article, reason=UNROUTED_REASON, actor=actor, now=now, keep=keep
    )


def cancel_pending_posts(
    *,
    session: Session,
    article: Article,
    reason: str,
    actor: str,
    now: datetime,
    keep: set[object] | None = None,
) -> list[uuid.UUID]:
    """Cancel the article's posts not yet handed to a worker (``RERENDERABLE``), except those on
    the channels in ``keep``; audit each with ``reason``; return their ids.

    Compare-and-set on the status: a post the dispatcher claims at this moment is no longer
    cancellable, and is left alone like posts in flight or sent.
    """
    session.flush()  # the update below reads the rows; earlier ORM changes must be in them
    cancelled = list(
        session.execute(
            sa.update(Post)
            .where(
                col(Post.article_id) == article.id,
                col(Post.channel_id).not_in(list(keep)) if keep else sa.true(),
                col(Post.status).in_(sorted(RERENDERABLE)),
            )
            .values(
                status=PostStatus.CANCELLED,
                last_error=reason,
                lease_until=None,
                next_attempt_at=None,
                version=Post.version + 1,
                updated_at=now,
            )
            .returning(col(Post.id))
            .execution_options(synchronize_session=False)
        ).scalars()
    )
    if cancelled:
        session.expire_all()  # the ORM may hold these posts from earlier in the transaction
    for post_id in cancelled:
        record_audit(
            session=session,
            actor=actor,
            action="post.cancel",
            article_id=article.id,
            post_id=post_id,
            detail=reason,
        )
    return cancelled
