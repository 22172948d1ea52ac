"""Post services: listing, and the editor's actions (edit, approve, schedule, post now, cancel,
retry) and the approval rules.  The HTTP API, the web UI and the CLI all call these.

Every action loads the post, decides from its status, then writes with a compare-and-set on
``(status, version)``: if a worker, the dispatcher or another editor changed the post in between,
the action refuses instead of overwriting.  Each records an :class:`AuditEvent` (actor, before,
after) in the same transaction.

Errors:

* :class:`PostNotFound` — no post with that id;
* :class:`PostActionRefused` — the post's state does not allow the action; the message is a
  sentence an editor can act on;
* :class:`scheduler.intake.schemas.InvalidInput` — an argument is invalid (bad filter, naive time).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import sqlalchemy as sa
from sqlmodel import Session, col

from adapters import build_adapter
from adapters.base import text_fingerprint
from adapters.followups import followup_problems
from config import Settings
from scheduler.channels import channel_settings
from scheduler.editorial.approvals import (
    post_requires_approval,
    set_approval_required,
    set_source_approval,
)
from scheduler.editorial.followups import cancel_followups, restore_followups
from scheduler.editorial.lifecycle import (
    APPROVABLE,
    CANCELLABLE,
    EDITABLE,
    RETRYABLE,
    SCHEDULABLE,
    released_status,
)
from scheduler.editorial.post_writes import (
    PostActionRefused,
    PostNotFound,
    _audit,
    _cleared,
    _due,
    _load,
    _refuse_problems,
    _refuse_unless,
    _refuse_unpublished,
    _set,
    _snapshot,
)
from scheduler.editorial.queries import (
    PostDetail,
    PostSummary,
    effective_text,
    list_post_rows,
    page_posts,
    post_detail,
    post_row,
)
from scheduler.editorial.rendering import payload_from_post
from scheduler.intake.schemas import InvalidInput
from scheduler.models import (
    AttemptStatus,
    Channel,
    ChannelStatus,
    DeliveryAttempt,
    Post,
    PostStatus,
    clip_text,
    utcnow,
)
from scheduler.ops.state import global_pause

__all__ = [
    "MAX_TEXT_LENGTH",
    "PostActionRefused",
    "PostNotFound",
    "TimeHasPassed",
    "approve_post",
    "cancel_post",
    "edit_post_text",
    "get_post",
    "list_post_rows",
    "list_posts",
    "post_now",
    "post_row",
    "retry_post",
    "schedule_post",
    "set_approval_required",
    "set_source_approval",
]

#: No platform takes more; anything longer is a paste accident, refused before validation.
MAX_TEXT_LENGTH = 10_000


# --- reading --------------------------------------------------------------------------------------


def list_posts(
    *,
    session: Session,
    status: PostStatus | str | None = None,
    channel: str | None = None,
    article_id: uuid.UUID | None = None,
    scheduled_from: datetime | None = None,
    scheduled_to: datetime | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[PostSummary], str | None]:
    """One keyset page of posts (soonest first) and the next page's cursor, or None at the end.

    ``channel`` is a channel id or a platform name.  Raises InvalidInput for bad filters.
    """
    return page_posts(
        session=session,
        status=status,
        channel=channel,
        article_id=article_id,
        scheduled_from=scheduled_from,
        scheduled_to=scheduled_to,
        limit=limit,
        cursor=cursor,
    )


def get_post(*, session: Session, post_id: uuid.UUID) -> PostDetail:
    """One post in detail: texts, link, media, problems, approval, attempts, article, channel."""
    detail = post_detail(session=session, post_id=post_id)
    if detail is None:
        raise PostNotFound(f"There is no post with id {post_id}.")
    return detail


# --- the editor's actions -------------------------------------------------------------------------


def _validate_text(post: Post, channel: Channel, text: str, settings: Settings) -> list[str]:
    if post.parent_id is not None:
        return followup_problems(str(channel.platform), text)
    payload = payload_from_post(post)
    payload.text = text
    # validate() does no I/O; the adapter only wants a client, so give it one that is closed.
    with httpx.Client() as client:
        adapter = build_adapter(str(channel.platform), settings=settings, client=client)
        return adapter.validate(payload, channel_settings(channel))


def _weighted_length(platform: str, text: str, current: int | None) -> int | None:
    if platform != "x":
        return current
    from adapters.x import x_weighted_length

    return x_weighted_length(text)


def edit_post_text(
    *, session: Session, post_id: uuid.UUID, text: str, actor: str, settings: Settings
) -> list[str]:
    """Store the editor's text for a post and return the platform's problems with it.

    The text is kept as an override that wins over re-rendering when the article is corrected.
    A text with problems turns the post into a draft (the problems become its ``last_error``);
    a valid edit of a draft sends it on to approval or the schedule.  When the post needs
    approval, editing withdraws an earlier approval.  Refused once the post is being sent, is
    published or cancelled, or while the platform is being asked whether it went out.
    """
    if len(text) > MAX_TEXT_LENGTH:
        raise InvalidInput([f"text: must be at most {MAX_TEXT_LENGTH:,} characters"])
    text = text.replace("\r\n", "\n")
    post, article, channel = _load(session, post_id)
    _refuse_unless(post, EDITABLE, "edited")
    before = {**_snapshot(post), "text": effective_text(post), "problems": list(post.problems)}
    problems = _validate_text(post, channel, text, settings)
    needs_approval = post.parent_id is None and post_requires_approval(
        session=session, channel=channel, article=article
    )
    values: dict[str, Any] = {
        "text_override": text,
        "edited_by": actor,
        "problems": problems,
        "weighted_length": _weighted_length(str(post.platform), text, post.weighted_length),
        "fingerprint": text_fingerprint(text) if text else None,
    }
    if needs_approval:
        values.update(approved_by=None, approved_at=None)
    if problems:
        values.update(status=PostStatus.DRAFT, last_error=clip_text(" ".join(problems)))
    elif post.status in APPROVABLE:
        if post.status == PostStatus.DRAFT:
            values["last_error"] = None
        if needs_approval:
            values["status"] = PostStatus.PENDING_APPROVAL
        else:
            values["status"] = released_status(channel)
    elif needs_approval and post.status != PostStatus.FAILED:
        # The approved text is not the text that would go out any more.
        values["status"] = PostStatus.PENDING_APPROVAL
    _set(session, post, **values)
    _audit(session, post, "post.edit", before, actor=actor, text=text, problems=problems)
    return problems


def approve_post(*, session: Session, post_id: uuid.UUID, actor: str) -> Post:
    """Approve a post waiting for approval (or a problem-free draft); it goes on the schedule,
    or is held if its channel is paused.  Refused with the reasons if the post has problems."""
    post, article, channel = _load(session, post_id)
    if post.status in APPROVABLE:
        _refuse_problems(post, "approved")
    _refuse_unless(post, APPROVABLE, "approved")
    _refuse_unpublished(article, "approved")
    before = _snapshot(post)
    _set(session, post, status=released_status(channel), approved_by=actor, approved_at=utcnow())
    _audit(session, post, "post.approve", before, actor=actor)
    return post


#: A time this little in the past still means "now": the picker has minute precision and a form
#: takes a moment to send.  Anything older is refused (it was a mistake, not a wish to post now).
PAST_GRACE = timedelta(seconds=90)


class TimeHasPassed(InvalidInput):
    """A schedule time already past; ``str()`` is the sentence for a person (API: 422)."""

    def __init__(self, sentence: str) -> None:
        super().__init__([f"at: {sentence}"])
        self.sentence = sentence

    def __str__(self) -> str:
        return self.sentence


def _refuse_past(at: datetime, now: datetime, *, zone: str) -> None:
    if at.tzinfo is None or at >= now - PAST_GRACE:
        return  # naive times are refused by _due with their own sentence
    local = at.astimezone(ZoneInfo(zone))
    today = now.astimezone(ZoneInfo(zone)).date()
    when = local.strftime("%H:%M") if local.date() == today else local.strftime("%d %b %Y %H:%M")
    raise TimeHasPassed(
        f"That time has passed ({when} {zone}). Choose a later time, or use Post now."
    )


def schedule_post(*, session: Session, post_id: uuid.UUID, at: datetime, actor: str) -> Post:
    """Schedule or reschedule a post for ``at`` (timezone-aware).

    A post that needs approval keeps waiting for it; a cancelled post is brought back.  A time
    already past (beyond :data:`PAST_GRACE`) raises :class:`TimeHasPassed` with a sentence naming
    it in the channel's zone; times more than a year ahead and naive times raise InvalidInput.
    """
    return _schedule(session=session, post_id=post_id, at=at, actor=actor, refuse_past=True)


def _schedule(
    *, session: Session, post_id: uuid.UUID, at: datetime, actor: str, refuse_past: bool
) -> Post:
    now = utcnow()
    due = _due(at, now)
    post, article, channel = _load(session, post_id)
    if refuse_past:
        _refuse_past(at, now, zone=channel.timezone)
    _refuse_unless(post, SCHEDULABLE, "rescheduled")
    _refuse_problems(post, "scheduled")
    _refuse_unpublished(article, "scheduled")
    before = _snapshot(post)
    status = _cleared(session, post, article, channel)
    _set(
        session,
        post,
        status=status,
        scheduled_at=due,
        next_attempt_at=None,
        lease_until=None,
    )
    if before["status"] == PostStatus.CANCELLED:
        restore_followups(session=session, parent=post, channel=channel)
    _audit(session, post, "post.schedule", before, actor=actor, requested_at=at.isoformat())
    return post


def post_now(*, session: Session, post_id: uuid.UUID, actor: str) -> Post:
    """Send a post at the dispatcher's next tick.

    Refused if it still needs approval, or if its channel or the whole newsroom is paused (it
    would not go out "now", and saying so beats a silent hold).
    """
    post, article, channel = _load(session, post_id)
    _refuse_unless(post, SCHEDULABLE, "sent now")
    _refuse_problems(post, "sent")
    needs = post.parent_id is None and post_requires_approval(
        session=session, channel=channel, article=article
    )
    if needs and post.approved_at is None:
        raise PostActionRefused("This post needs approval first; approve it, then post it now.")
    if channel.status != ChannelStatus.ACTIVE:
        state = "is paused" if channel.status == ChannelStatus.PAUSED else "must be reconnected"
        raise PostActionRefused(
            f"This post cannot be sent now: the channel {channel.name} {state}."
        )
    pause = global_pause(session=session)
    if pause is not None:
        raise PostActionRefused(
            "This post cannot be sent now: the newsroom-wide pause is on "
            f"({pause.get('reason') or 'no reason given'}); lift it first."
        )
    return _schedule(session=session, post_id=post_id, at=utcnow(), actor=actor, refuse_past=False)


def cancel_post(*, session: Session, post_id: uuid.UUID, actor: str) -> Post:
    """Cancel a post that no worker has started sending.

    A queued post's attempt is superseded in the same transaction, so the worker's fence turns
    the message into a no-op.  Refused once the post is publishing or published; cancelling a
    cancelled post changes nothing.
    """
    post, _, _ = _load(session, post_id)
    if post.status == PostStatus.CANCELLED:
        return post  # cancelling twice is what the editor wanted: answer the same, change nothing
    _refuse_unless(post, CANCELLABLE, "cancelled")
    before = _snapshot(post)
    with session.begin_nested():  # the attempt and the post change together, or neither does
        if post.status == PostStatus.QUEUED:
            # Lock the attempt before the post: the worker's fence takes them in that order.
            session.execute(
                sa.update(DeliveryAttempt)
                .where(
                    col(DeliveryAttempt.post_id) == post.id,
                    col(DeliveryAttempt.status) == AttemptStatus.ENQUEUED,
                )
                .values(
                    status=AttemptStatus.SUPERSEDED,
                    finished_at=utcnow(),
                    message=clip_text(f"cancelled by {actor}"),
                )
                .execution_options(synchronize_session=False)
            )
        _set(session, post, status=PostStatus.CANCELLED, next_attempt_at=None, lease_until=None)
        followups = cancel_followups(session=session, parent=post)
    detail = f"{followups} follow-up(s) cancelled with it" if followups else None
    _audit(session, post, "post.cancel", before, actor=actor, detail=detail)
    return post


def retry_post(
    *, session: Session, post_id: uuid.UUID, actor: str, checked_not_on_platform: bool = False
) -> Post:
    """Send this one post again now (only this post: its article's other posts are untouched).

    For failed, cancelled, waiting or problem-free draft posts, and for posts in
    ``needs_review`` once a person has checked the platform and says so with
    ``checked_not_on_platform`` (such a post may be live: a blind retry could publish it twice).
    A post that needs approval and has none goes to approval first.
    """
    post, article, channel = _load(session, post_id)
    _refuse_unless(post, RETRYABLE, "retried")
    if post.status == PostStatus.NEEDS_REVIEW and not checked_not_on_platform:
        raise PostActionRefused(
            "This post may already be live: check the account first. If the post is not "
            "there, confirm that you checked and retry; if it is, mark it as published."
        )
    _refuse_problems(post, "retried")
    _refuse_unpublished(article, "retried")
    if channel.status == ChannelStatus.NEEDS_REAUTH:
        raise PostActionRefused(
            f"This post cannot be retried: the channel {channel.name} must be reconnected first."
        )
    before = {**_snapshot(post), "last_error": post.last_error}
    _set(
        session,
        post,
        status=_cleared(session, post, article, channel),
        scheduled_at=utcnow(),
        next_attempt_at=None,
        lease_until=None,
        last_error=None,
    )
    if before["status"] == PostStatus.CANCELLED:
        restore_followups(session=session, parent=post, channel=channel)
    detail = (
        "checked by a person: not on the platform" if before["status"] == "needs_review" else None
    )
    _audit(session, post, "post.retry", before, actor=actor, detail=detail)
    return post
