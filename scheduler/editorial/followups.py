"""A post's follow-ups (first comment, thread reply) follow their parent's fate.

Cancelling a post cancels its follow-ups that are not yet out; bringing a cancelled post back
(schedule, retry) brings back the follow-ups cancelled with it.  Follow-ups need no approval of
their own: the parent's approval covers them, and they wait for the parent to be live.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session, col, select

from scheduler.editorial.lifecycle import CANCELLABLE, released_status
from scheduler.models import Channel, Post, PostStatus, WaitCode, utcnow

#: ``last_error`` of a follow-up cancelled because its parent was (how it is found again).
CANCELLED_WITH_PARENT = "Cancelled with its parent post."
#: Why a follow-up waits (cleared when the dispatcher claims it, once its parent is live).
FOLLOWUP_WAIT = "Goes out once its parent post is live."
# A queued follow-up has a live parent, which can no longer be cancelled: never touched here.
_CASCADE = sorted(CANCELLABLE - {PostStatus.QUEUED})


def cancel_followups(*, session: Session, parent: Post) -> int:
    """Cancel ``parent``'s follow-ups that are not yet out; returns how many."""
    result = session.execute(
        sa.update(Post)
        .where(col(Post.parent_id) == parent.id, col(Post.status).in_(_CASCADE))
        .values(
            status=PostStatus.CANCELLED,
            last_error=CANCELLED_WITH_PARENT,
            next_attempt_at=None,
            lease_until=None,
            version=col(Post.version) + 1,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def restore_followups(*, session: Session, parent: Post, channel: Channel) -> int:
    """Bring back the follow-ups cancelled with ``parent``; returns how many."""
    found = session.exec(
        select(Post).where(
            col(Post.parent_id) == parent.id,
            col(Post.status) == PostStatus.CANCELLED,
            col(Post.last_error) == CANCELLED_WITH_PARENT,
        )
    ).all()
    for post in found:
        if post.rendered_revision == 0:
            status = PostStatus.RENDERING
        elif post.problems:
            status = PostStatus.DRAFT
        else:
            status = released_status(channel)
        session.execute(
            sa.update(Post)
            .where(col(Post.id) == post.id, col(Post.status) == PostStatus.CANCELLED)
            .values(
                status=status,
                last_error=" ".join(post.problems) or None,
                wait_code=WaitCode.PARENT.value,
                wait_reason=FOLLOWUP_WAIT,
                scheduled_at=parent.scheduled_at,
                version=col(Post.version) + 1,
                updated_at=utcnow(),
            )
            .execution_options(synchronize_session=False)
        )
    return len(found)
