"""Bulk approve, schedule and cancel: the editor's one action applied to many posts.

Each post goes through the same service as its own button (:mod:`scheduler.editorial.actions`),
each inside its own savepoint: a post whose state refuses the action, or that someone changed a
moment ago (the compare-and-set found another version), is left exactly as it was and reported
with the reason; the others are changed.  Nothing is half-done for any single post.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col

from scheduler.editorial.actions import (
    PAST_GRACE,
    PostActionRefused,
    PostNotFound,
    TimeHasPassed,
    approve_post,
    cancel_post,
    schedule_post,
)
from scheduler.intake.schemas import InvalidInput
from scheduler.models import Post, PostStatus, utcnow

#: The actions a bulk request may take, with the word the summary uses for a changed post.
BULK_ACTIONS: dict[str, str] = {
    "approve": "approved",
    "schedule": "scheduled",
    "cancel": "cancelled",
}
#: At most this many posts per request: one page of the queue is far fewer, and each post is
#: a few statements, so a request stays well under a second.
MAX_BULK_POSTS = 200


@dataclass(frozen=True)
class BulkOutcome:
    """What happened to one post: changed (``applied``) or left as it was, and why."""

    post_id: uuid.UUID
    applied: bool
    status: str | None
    reason: str | None = None


@dataclass(frozen=True)
class BulkResult:
    action: str
    outcomes: list[BulkOutcome]

    @property
    def applied(self) -> int:
        return sum(1 for o in self.outcomes if o.applied)

    @property
    def skipped(self) -> list[BulkOutcome]:
        return [o for o in self.outcomes if not o.applied]

    @property
    def summary(self) -> str:
        """``3 approved; 1 skipped: already published`` (skips grouped by their reason)."""
        reasons: dict[str, int] = {}
        for o in self.skipped:
            why = o.reason or "not possible now"
            reasons[why] = reasons.get(why, 0) + 1
        parts = [f"{self.applied} {BULK_ACTIONS[self.action]}"]
        parts += [f"{n} skipped: {why}" for why, n in reasons.items()]
        return "; ".join(parts)


def _reason(exc: Exception) -> str:
    """The refusal sentence's reason, as the end of ``N skipped: …``.

    ``This post cannot be cancelled: it is already published.`` gives ``already published``.
    """
    text = str(exc).strip()
    if isinstance(exc, PostNotFound):
        return "no such post"
    _, sep, why = text.partition(": ")
    why = (why if sep else text).rstrip(".")
    why = why.removeprefix("it is ")
    return why[:1].lower() + why[1:]


def _validate(action: str, post_ids: list[uuid.UUID], at: datetime | None) -> None:
    problems = []
    if action not in BULK_ACTIONS:
        problems.append(f"action: must be one of {', '.join(BULK_ACTIONS)}, not {action!r}")
    if not post_ids:
        problems.append("post_ids: select at least one post")
    elif len(post_ids) > MAX_BULK_POSTS:
        problems.append(f"post_ids: at most {MAX_BULK_POSTS} posts at a time (got {len(post_ids)})")
    if action == "schedule" and at is None:
        problems.append("at: the schedule action needs a date and time")
    if action != "schedule" and at is not None:
        problems.append("at: only the schedule action takes a time")
    if at is not None and (at.tzinfo is None or at.utcoffset() is None):
        problems.append("at: must include a time zone offset")
    if problems:
        raise InvalidInput(problems)


def _refuse_past(at: datetime, zone_name: str) -> None:
    """A time already gone is refused once for the whole request, not once per post."""
    if at < utcnow() - PAST_GRACE:
        local = at.astimezone(ZoneInfo(zone_name))
        raise TimeHasPassed(
            f"That time has passed ({local:%d %b %Y %H:%M} {zone_name}). Choose a later time."
        )


def bulk_post_action(
    *,
    session: Session,
    action: str,
    post_ids: list[uuid.UUID],
    actor: str,
    at: datetime | None = None,
    zone: str = "UTC",
) -> BulkResult:
    """Apply ``action`` (approve, schedule or cancel) to each post and report each outcome.

    ``at`` (timezone-aware) is the schedule action's time; ``zone`` names the zone a refusal
    of a past time is worded in.  Raises InvalidInput for an unknown action, no or too many
    posts, or a missing, naive or past time; then nothing is changed.  Duplicate ids count once.
    """
    _validate(action, post_ids, at)
    if at is not None:
        _refuse_past(at, zone)
    unique = list(dict.fromkeys(post_ids))
    before = _statuses(session, unique)
    outcomes = []
    for pid in unique:
        if action == "cancel" and before.get(pid) == PostStatus.CANCELLED:
            outcomes.append(BulkOutcome(pid, False, "cancelled", "already cancelled"))
            continue
        try:
            with session.begin_nested():  # this post's change and audit, or none of them
                post = _apply(session, action, pid, actor=actor, at=at)
        except (PostNotFound, PostActionRefused, InvalidInput) as exc:
            outcomes.append(BulkOutcome(pid, False, before.get(pid), _reason(exc)))
        else:
            outcomes.append(BulkOutcome(pid, True, str(post.status)))
    return BulkResult(action, outcomes)


def _apply(
    session: Session, action: str, post_id: uuid.UUID, *, actor: str, at: datetime | None
) -> Post:
    if action == "approve":
        return approve_post(session=session, post_id=post_id, actor=actor)
    if action == "schedule":
        assert at is not None  # _validate
        return schedule_post(session=session, post_id=post_id, at=at, actor=actor)
    return cancel_post(session=session, post_id=post_id, actor=actor)


def _statuses(session: Session, post_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = session.execute(
        sa.select(col(Post.id), col(Post.status)).where(col(Post.id).in_(post_ids))
    ).all()
    return {r[0]: str(r[1]) for r in rows}
