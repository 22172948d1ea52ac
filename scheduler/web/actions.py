"""The editor's post actions as the web UI calls them.

These are the minimal services the UI needs (edit, approve, schedule, post now, cancel, retry),
written to the signatures planned for ``scheduler.posts``; each is a compare-and-set on the
post's status and version, records an audit event, and refuses with a sentence an editor can
act on.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from sqlmodel import Session, col

from adapters import build_adapter
from adapters.base import text_fingerprint
from config import Settings
from scheduler.audit import record_audit
from scheduler.channels import channel_settings
from scheduler.models import Channel, ChannelStatus, Post, PostStatus, utcnow
from scheduler.rendering import payload_from_post


class PostNotFound(LookupError):
    """No post with that id."""


class PostActionRefused(ValueError):
    """The post's state does not allow the action; the message says why and what to do."""


EDITABLE = frozenset(
    {
        PostStatus.DRAFT,
        PostStatus.PENDING_APPROVAL,
        PostStatus.SCHEDULED,
        PostStatus.HELD,
        PostStatus.FAILED,
        PostStatus.NEEDS_REAUTH,
    }
)
CANCELLABLE = frozenset(
    {
        PostStatus.RENDERING,
        PostStatus.DRAFT,
        PostStatus.PENDING_APPROVAL,
        PostStatus.SCHEDULED,
        PostStatus.HELD,
        PostStatus.RETRY_WAIT,
        PostStatus.NEEDS_REAUTH,
        PostStatus.FAILED,
    }
)
SCHEDULABLE = frozenset(
    {PostStatus.PENDING_APPROVAL, PostStatus.SCHEDULED, PostStatus.HELD, PostStatus.DRAFT}
)
RETRYABLE = frozenset({PostStatus.FAILED, PostStatus.NEEDS_REAUTH, PostStatus.RETRY_WAIT})
#: Scheduling this far in the past is a mistake, not "now" (the picker is per minute).
PAST_TOLERANCE = timedelta(minutes=1)

_STATUS_WORDS = {
    PostStatus.RENDERING: "is still being prepared",
    PostStatus.QUEUED: "is being sent right now",
    PostStatus.PUBLISHING: "is being sent right now",
    PostStatus.PUBLISHED: "is already published",
    PostStatus.CANCELLED: "was cancelled",
    PostStatus.UNKNOWN: "is being checked with the platform",
    PostStatus.NEEDS_REVIEW: "needs a person to check the platform first",
}


def _load(session: Session, post_id: uuid.UUID) -> tuple[Post, Channel]:
    post = session.get(Post, post_id)
    if post is None:
        raise PostNotFound(f"There is no post with id {post_id}.")
    channel = session.get(Channel, post.channel_id)
    assert channel is not None  # foreign key
    return post, channel


def _refuse_unless(post: Post, allowed: Iterable[PostStatus], verb: str) -> None:
    if post.status not in allowed:
        why = _STATUS_WORDS.get(PostStatus(post.status), f"is {post.status}")
        raise PostActionRefused(f"This post cannot be {verb}: it {why}.")


def _set(session: Session, post: Post, **values: Any) -> None:
    """Compare-and-set on (status, version): a concurrent change makes this refuse, not clobber."""
    result = session.execute(
        sa.update(Post)
        .where(
            col(Post.id) == post.id,
            col(Post.status) == post.status,
            col(Post.version) == post.version,
        )
        .values(**values, version=post.version + 1, updated_at=utcnow())
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise PostActionRefused(
            "Someone else changed this post a moment ago; reload the page and try again."
        )
    session.expire(post)


def _released_status(post: Post, channel: Channel) -> PostStatus:
    """Where an approved, problem-free post goes: on the schedule unless its channel holds it."""
    if channel.status == ChannelStatus.PAUSED:
        return PostStatus.HELD
    if channel.status == ChannelStatus.NEEDS_REAUTH:
        return PostStatus.NEEDS_REAUTH
    return PostStatus.SCHEDULED


def _needs_approval(post: Post, channel: Channel) -> bool:
    return channel_settings(channel).requires_approval and post.approved_at is None


def get_post(*, session: Session, post_id: uuid.UUID) -> Post:
    return _load(session, post_id)[0]


def edit_post_text(
    *, session: Session, post_id: uuid.UUID, text: str, actor: str, settings: Settings
) -> list[str]:
    """Store the editor's text (it wins over re-rendering); returns the platform's problems.

    A text with problems makes the post a draft; fixing them puts it back where it was headed.
    """
    post, channel = _load(session, post_id)
    _refuse_unless(post, EDITABLE, "edited")
    text = text.replace("\r\n", "\n")
    payload = payload_from_post(post)
    payload.text = text
    cs = channel_settings(channel)
    with httpx.Client() as client:  # validate() does no I/O; the adapter just wants a client
        adapter = build_adapter(str(post.platform), settings=settings, client=client)
        problems = adapter.validate(payload, cs)
    weighted = None
    if post.platform == "x":
        from adapters.x import x_weighted_length

        weighted = x_weighted_length(text)
    if problems:
        status = PostStatus.DRAFT
    elif post.status in (PostStatus.DRAFT, PostStatus.PENDING_APPROVAL):
        status = (
            PostStatus.PENDING_APPROVAL
            if _needs_approval(post, channel)
            else _released_status(post, channel)
        )
    else:
        status = PostStatus(post.status)
    before = {"text": payload_from_post(post).text, "status": str(post.status)}
    _set(
        session,
        post,
        text_override=text,
        edited_by=actor,
        problems=problems,
        weighted_length=weighted,
        fingerprint=text_fingerprint(text) if text else None,
        last_error=" ".join(problems) or None,
        status=status,
    )
    record_audit(
        session=session,
        actor=actor,
        action="post.edit",
        post_id=post_id,
        article_id=post.article_id,
        channel_id=post.channel_id,
        before=before,
        after={"text": text, "status": str(status), "problems": problems},
    )
    return problems


def _refuse_problems(post: Post, verb: str) -> None:
    if post.problems:
        raise PostActionRefused(f"This post cannot be {verb}: " + " ".join(post.problems))


def approve_post(*, session: Session, post_id: uuid.UUID, actor: str) -> Post:
    """Approve a post waiting for approval; it goes on the schedule (or is held by its channel)."""
    post, channel = _load(session, post_id)
    _refuse_problems(post, "approved")
    _refuse_unless(post, {PostStatus.PENDING_APPROVAL, PostStatus.DRAFT}, "approved")
    status = _released_status(post, channel)
    _set(session, post, status=status, approved_by=actor, approved_at=utcnow())
    record_audit(
        session=session,
        actor=actor,
        action="post.approve",
        post_id=post_id,
        article_id=post.article_id,
        channel_id=post.channel_id,
        after={"status": str(status)},
    )
    return post


def schedule_post(*, session: Session, post_id: uuid.UUID, at: datetime, actor: str) -> Post:
    """Move a post's publication time; an unapproved post keeps waiting for approval."""
    post, channel = _load(session, post_id)
    _refuse_unless(post, SCHEDULABLE, "rescheduled")
    _refuse_problems(post, "scheduled")
    if at < utcnow() - PAST_TOLERANCE:
        raise PostActionRefused("That time has already passed; pick a later time, or use Post now.")
    status = (
        PostStatus.PENDING_APPROVAL
        if _needs_approval(post, channel)
        else _released_status(post, channel)
    )
    before = {"scheduled_at": post.scheduled_at.isoformat() if post.scheduled_at else None}
    _set(session, post, scheduled_at=at, next_attempt_at=None, status=status)
    record_audit(
        session=session,
        actor=actor,
        action="post.schedule",
        post_id=post_id,
        article_id=post.article_id,
        channel_id=post.channel_id,
        before=before,
        after={"scheduled_at": at.isoformat(), "status": str(status)},
    )
    return post


def post_now(*, session: Session, post_id: uuid.UUID, actor: str) -> Post:
    """Send the post at the dispatcher's next tick."""
    post, channel = _load(session, post_id)
    _refuse_unless(post, SCHEDULABLE, "sent now")
    _refuse_problems(post, "sent")
    if _needs_approval(post, channel):
        raise PostActionRefused("This post needs approval first; approve it, then post it now.")
    return schedule_post(session=session, post_id=post_id, at=utcnow(), actor=actor)


def cancel_post(*, session: Session, post_id: uuid.UUID, actor: str) -> Post:
    """Cancel a post that has not been sent."""
    post, _ = _load(session, post_id)
    _refuse_unless(post, CANCELLABLE, "cancelled")
    before = {"status": str(post.status)}
    _set(session, post, status=PostStatus.CANCELLED, next_attempt_at=None, lease_until=None)
    record_audit(
        session=session,
        actor=actor,
        action="post.cancel",
        post_id=post_id,
        article_id=post.article_id,
        channel_id=post.channel_id,
        before=before,
    )
    return post


def retry_post(*, session: Session, post_id: uuid.UUID, actor: str) -> Post:
    """Put a failed (or waiting) post back on the schedule for now."""
    post, channel = _load(session, post_id)
    _refuse_unless(post, RETRYABLE, "retried")
    _refuse_problems(post, "retried")
    if channel.status == ChannelStatus.NEEDS_REAUTH:
        raise PostActionRefused(
            f"The channel {channel.name} needs reconnecting first; mark it reconnected once "
            "the account is authorised again, then retry."
        )
    before = {"status": str(post.status), "last_error": post.last_error}
    _set(
        session,
        post,
        status=_released_status(post, channel),
        scheduled_at=utcnow(),
        next_attempt_at=None,
        last_error=None,
    )
    record_audit(
        session=session,
        actor=actor,
        action="post.retry",
        post_id=post_id,
        article_id=post.article_id,
        channel_id=post.channel_id,
        before=before,
    )
    return post
