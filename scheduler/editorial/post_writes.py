"""What every editor action on a post shares: load it, refuse with a reason, write it with a
compare-and-set on ``(status, version)``, and record the audit event.

The underscore helpers are private to :mod:`scheduler.editorial`: only
:mod:`scheduler.editorial.actions` uses them, and callers outside the package see the actions.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from scheduler.editorial.approvals import post_requires_approval
from scheduler.editorial.lifecycle import refusal_reason, released_status
from scheduler.errors import NotFound
from scheduler.intake.schemas import InvalidInput
from scheduler.models import Article, ArticleState, Channel, Post, PostStatus, utcnow
from scheduler.ops.audit import record_audit

#: How far ahead a post may be scheduled.
MAX_SCHEDULE_AHEAD = timedelta(days=365)


class PostNotFound(NotFound):
    """No post with that id."""


class PostActionRefused(ValueError):
    """The post's state does not allow the action; the message says why and what to do."""


def _load(session: Session, post_id: uuid.UUID) -> tuple[Post, Article, Channel]:
    post = session.get(Post, post_id)
    if post is None:
        raise PostNotFound(f"There is no post with id {post_id}.")
    # Re-read: an earlier action in this session may have changed the row behind the ORM's back.
    session.refresh(post)
    article = session.get(Article, post.article_id)
    channel = session.get(Channel, post.channel_id)
    assert article is not None and channel is not None  # foreign keys
    return post, article, channel


def _refuse_unless(post: Post, allowed: Iterable[PostStatus], verb: str) -> None:
    if post.status not in allowed:
        why = refusal_reason(PostStatus(post.status))
        raise PostActionRefused(f"This post cannot be {verb}: {why}.")


def _refuse_problems(post: Post, verb: str) -> None:
    if post.problems:
        raise PostActionRefused(f"This post cannot be {verb}: " + " ".join(post.problems))


def _refuse_unpublished(article: Article, verb: str) -> None:
    if article.state == ArticleState.UNPUBLISHED:
        raise PostActionRefused(
            f"This post cannot be {verb}: its article was unpublished in the CMS."
        )


def _cleared(session: Session, post: Post, article: Article, channel: Channel) -> PostStatus:
    """Where a problem-free post goes: approval first if it needs one, then the schedule."""
    if post.rendered_revision == 0:
        return PostStatus.RENDERING  # never rendered (cancelled early): the format task decides
    # A follow-up needs no approval of its own: its parent's covers it.
    needs = post.parent_id is None and post_requires_approval(
        session=session, channel=channel, article=article
    )
    if needs and post.approved_at is None:
        return PostStatus.PENDING_APPROVAL
    return released_status(channel)


def _snapshot(post: Post) -> dict[str, Any]:
    return {
        "status": str(post.status),
        "scheduled_at": post.scheduled_at.isoformat() if post.scheduled_at else None,
        "approved_by": post.approved_by,
        "version": post.version,
    }


def _set(session: Session, post: Post, **values: Any) -> None:
    """Compare-and-set on (status, version): a concurrent change refuses instead of clobbering."""
    result = session.execute(
        sa.update(Post)
        .where(
            col(Post.id) == post.id,
            col(Post.status) == post.status,
            col(Post.version) == post.version,
        )
        .values(**values, version=post.version + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise PostActionRefused(
            "Someone else changed this post a moment ago; reload it and try again."
        )
    session.refresh(post)


def _audit(session: Session, post: Post, action: str, before: dict[str, Any], **extra: Any) -> None:
    record_audit(
        session=session,
        actor=extra.pop("actor"),
        action=action,
        post_id=post.id,
        article_id=post.article_id,
        channel_id=post.channel_id,
        detail=extra.pop("detail", None),
        before=before,
        after={**_snapshot(post), **extra},
    )


def _due(at: datetime, now: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidInput(["at: must include a time zone offset"])
    if at > now + MAX_SCHEDULE_AHEAD:
        raise InvalidInput(["at: must be within a year from now"])
    return max(at, now)  # a time already past means "as soon as possible"
