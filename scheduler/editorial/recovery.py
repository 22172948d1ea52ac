"""Taking back a cancel, and settling a ``needs_review`` post that a person found live.

* :func:`cancel_records` — who cancelled each cancelled post and when, read from the audit trail
  (every editor's cancel records a ``post.cancel`` event with its actor, time and the state
  before), and whether the cancel can still be undone.
* :func:`restore_post` — undo an editor's cancel within :data:`UNDO_WINDOW`: the post returns to
  the state it had.  A post that was waiting to go out returns to the schedule at the same time
  if that time is still ahead; if the time passed while it was cancelled it becomes a draft
  waiting for an editor's new time (the reason in ``last_error``), because a post sent at a moment
  nobody chose is the worse surprise, and "Post now" is one click away on the same card.
* :func:`mark_post_published` — a person found the post on the platform: ``needs_review`` →
  ``published`` with its address, and the attempt whose outcome was unknown becomes the
  succeeded one in the delivery log (as reconciliation records a post it found).

Both write with the same compare-and-set on ``(status, version)`` as the other editor actions,
and record an audit event in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col, select

from config import Settings
from scheduler.editorial.post_urls import PLATFORM_NAMES, check_post_url
from scheduler.editorial.post_writes import (
    PostActionRefused,
    _audit,
    _cleared,
    _load,
    _refuse_unless,
    _refuse_unpublished,
    _set,
    _snapshot,
)
from scheduler.models import (
    Article,
    AttemptStatus,
    AuditEvent,
    Channel,
    DeliveryAttempt,
    Post,
    PostStatus,
    clip_text,
    utcnow,
)

__all__ = [
    "UNDO_WINDOW",
    "CancelRecord",
    "Restored",
    "cancel_records",
    "mark_post_published",
    "restore_post",
]

#: How long after a cancel the card offers "Undo" (and the API accepts a restore).
UNDO_WINDOW = timedelta(minutes=10)
CANCEL_ACTION = "post.cancel"
#: States whose post waits for a person whatever the time: they come back exactly as they were.
_UNTIMED = frozenset(
    {
        PostStatus.RENDERING,
        PostStatus.DRAFT,
        PostStatus.PENDING_APPROVAL,
        PostStatus.FAILED,
        PostStatus.EXPIRED,
    }
)


@dataclass(frozen=True)
class CancelRecord:
    """An editor's cancel of a post, from its ``post.cancel`` audit event."""

    post_id: uuid.UUID
    actor: str
    at: datetime
    #: The post's status and scheduled time just before the cancel.
    status_before: PostStatus
    scheduled_before: datetime | None
    #: The post's version the cancel wrote: any later change makes the undo stale.
    version: int
    #: Whether "Undo" is still offered (inside the window, nothing changed since).
    undoable: bool

    @property
    def undo_until(self) -> datetime:
        return self.at + UNDO_WINDOW


def _record(event: AuditEvent, post: Post, now: datetime) -> CancelRecord:
    before: dict[str, Any] = event.before or {}
    scheduled = before.get("scheduled_at")
    version = int((event.after or {}).get("version", -1))
    at = event.at
    return CancelRecord(
        post_id=post.id,
        actor=event.actor,
        at=at,
        status_before=PostStatus(str(before.get("status", PostStatus.DRAFT))),
        scheduled_before=datetime.fromisoformat(scheduled) if scheduled else None,
        version=version,
        undoable=(
            post.status == PostStatus.CANCELLED
            and post.version == version
            and now < at + UNDO_WINDOW
        ),
    )


def cancel_records(*, session: Session, posts: Iterable[Post]) -> dict[uuid.UUID, CancelRecord]:
    """The latest editor's cancel of each cancelled post among ``posts`` (by post id).

    Posts cancelled by newsrelay itself (the article unpublished in the CMS, routing) have no
    record.  One query over the audit trail's post index, for the few posts of one article.
    """
    cancelled = {p.id: p for p in posts if p.status == PostStatus.CANCELLED}
    if not cancelled:
        return {}
    events = session.exec(
        select(AuditEvent)
        .where(
            col(AuditEvent.post_id).in_(list(cancelled)),
            col(AuditEvent.action) == CANCEL_ACTION,
        )
        .order_by(col(AuditEvent.at).desc())
    ).all()
    now = utcnow()
    records: dict[uuid.UUID, CancelRecord] = {}
    for event in events:
        assert event.post_id is not None
        if event.post_id not in records:
            records[event.post_id] = _record(event, cancelled[event.post_id], now)
    return records


@dataclass(frozen=True)
class Restored:
    """A restored post and a sentence saying where it went (the web UI shows it)."""

    post: Post
    sentence: str


def _restored_values(
    session: Session,
    post: Post,
    article: Article,
    channel: Channel,
    record: CancelRecord,
    now: datetime,
) -> tuple[dict[str, Any], str]:
    values: dict[str, Any] = {"next_attempt_at": None, "lease_until": None}
    before = record.status_before
    due = record.scheduled_before
    if before in _UNTIMED:
        values["status"] = before
        return values, f"The cancel was undone; the post is {before.replace('_', ' ')} again."
    if due is not None and due > now:
        status = _cleared(session, post, article, channel)
        values.update(status=status, scheduled_at=due)
        return values, f"The cancel was undone; the post is {status.replace('_', ' ')} again."
    zone = ZoneInfo(channel.timezone)
    when = f"{due.astimezone(zone):%H:%M} {channel.timezone}" if due else "its time"
    sentence = (
        f"The cancel was undone, but its time ({when}) passed while it was cancelled: it waits "
        "as a draft. Choose a new time, or use Post now."
    )
    values.update(status=PostStatus.DRAFT, last_error=clip_text(sentence))
    return values, sentence


def _latest_cancel(session: Session, post: Post) -> CancelRecord | None:
    return cancel_records(session=session, posts=[post]).get(post.id)


def restore_post(*, session: Session, post_id: uuid.UUID, actor: str) -> Restored:
    """Undo the latest cancel of a post (within :data:`UNDO_WINDOW` of it).

    Refused (:class:`PostActionRefused`) if the post is not cancelled, was cancelled by
    newsrelay rather than an editor, changed since the cancel, or the window closed.
    """
    post, article, channel = _load(session, post_id)
    _refuse_unless(post, {PostStatus.CANCELLED}, "restored")
    record = _latest_cancel(session, post)
    if record is None:
        raise PostActionRefused(
            "This post cannot be restored: no editor cancelled it (newsrelay did, when its "
            "article was unpublished or its channel stopped taking it); schedule it instead."
        )
    if record.version != post.version:
        raise PostActionRefused(
            "This post cannot be restored: it changed after it was cancelled; schedule it instead."
        )
    now = utcnow()
    if now >= record.undo_until:
        minutes = int(UNDO_WINDOW.total_seconds() // 60)
        raise PostActionRefused(
            f"This post cannot be restored: undo is possible for {minutes} minutes after a "
            "cancel; schedule it or retry it instead."
        )
    _refuse_unpublished(article, "restored")
    values, sentence = _restored_values(session, post, article, channel, record, now)
    before = _snapshot(post)
    _set(session, post, **values)
    _audit(
        session,
        post,
        "post.restore",
        before,
        actor=actor,
        detail=f"undid the cancel by {record.actor} at {record.at.isoformat()}",
    )
    return Restored(post=post, sentence=sentence)


def _confirm_unknown_attempt(
    session: Session, post: Post, *, external_id: str | None, actor: str, now: datetime
) -> None:
    """The post's latest attempt of unknown outcome is the one that published it."""
    latest = session.execute(
        sa.select(col(DeliveryAttempt.id))
        .where(
            col(DeliveryAttempt.post_id) == post.id,
            col(DeliveryAttempt.status) == AttemptStatus.UNKNOWN,
        )
        .order_by(col(DeliveryAttempt.number).desc())
        .limit(1)
    ).scalar_one_or_none()
    if latest is None:
        return
    session.execute(
        sa.update(DeliveryAttempt)
        .where(col(DeliveryAttempt.id) == latest)
        .values(
            status=AttemptStatus.SUCCEEDED,
            external_id=external_id,
            finished_at=sa.func.coalesce(col(DeliveryAttempt.finished_at), now),
            message=clip_text(f"published (confirmed by {actor}, who found it on the platform)"),
        )
        .execution_options(synchronize_session=False)
    )


def mark_post_published(
    *, session: Session, post_id: uuid.UUID, url: str, actor: str, settings: Settings
) -> Post:
    """A person found a ``needs_review`` post live: record it published at ``url``.

    ``url`` must be the post's https address on its platform's host (the sandbox's outside
    production); anything else raises :class:`scheduler.editorial.post_urls.PostUrlRefused`
    with the reason (an InvalidInput: the API answers 422).  Refused
    (:class:`PostActionRefused`) unless the post is ``needs_review``.
    """
    post, _, channel = _load(session, post_id)
    _refuse_unless(post, {PostStatus.NEEDS_REVIEW}, "marked as published")
    address, found_id = check_post_url(url, platform=str(channel.platform), settings=settings)
    external_id = found_id or post.external_id
    before = {**_snapshot(post), "last_error": post.last_error}
    now = utcnow()
    with session.begin_nested():  # the post and its attempt change together, or neither does
        _set(
            session,
            post,
            status=PostStatus.PUBLISHED,
            external_url=address,
            external_id=external_id,
            published_at=now,
            last_error=None,
            next_attempt_at=None,
            lease_until=None,
        )
        _confirm_unknown_attempt(session, post, external_id=external_id, actor=actor, now=now)
    name = PLATFORM_NAMES.get(str(channel.platform), str(channel.platform))
    _audit(
        session,
        post,
        "post.mark_published",
        before,
        actor=actor,
        detail=f"found live on {name} by a person",
        external_url=address,
    )
    return post
