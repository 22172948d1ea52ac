"""The reaper: re-send messages that were lost and give up on workers that went silent.

Leases are the only clock: a ``queued`` post whose lease expired lost its message (broker
restart, crash between the dispatcher's commit and its send), and a ``publishing`` post whose
lease expired lost its worker mid-call, so its outcome is unknown and reconciliation
(:mod:`scheduler.delivery.reconcile`) asks the platform.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col

from adapters.errors import ErrorClass
from scheduler.db.engine import session_scope
from scheduler.delivery.dispatch import Sender, TaskMessage, claim_unknown_posts, deliver_queue
from scheduler.delivery.tasks import DELIVER_TASK
from scheduler.models import AttemptStatus, DeliveryAttempt, Post, PostStatus, utcnow
from scheduler.runtime.logs import get_logger

log = get_logger(__name__)


def reap_expired_leases(
    *, engine: Engine, now: datetime, lease_seconds: int
) -> tuple[list[TaskMessage], int]:
    """Re-send lost messages and give up on silent workers.

    ``queued`` posts whose lease expired lost their message (broker restart, crash between
    commit and send): re-send the same attempt id.  ``publishing`` posts whose lease expired
    had their worker killed or hung mid-call: the outcome is unknown, so reconcile.
    """
    messages: list[TaskMessage] = []
    with session_scope(engine) as s:
        lost = s.execute(
            sa.update(Post)
            .where(col(Post.status) == PostStatus.QUEUED, col(Post.lease_until) < now)
            .values(lease_until=now + timedelta(seconds=lease_seconds))
            .returning(col(Post.id), col(Post.platform))
        ).all()
        if lost:
            ids = [pid for pid, _ in lost]
            attempts = s.execute(
                sa.select(col(DeliveryAttempt.id), col(DeliveryAttempt.post_id)).where(
                    col(DeliveryAttempt.post_id).in_(ids),
                    col(DeliveryAttempt.status) == AttemptStatus.ENQUEUED,
                )
            ).all()
            platform_of = dict(lost)
            for attempt_id, post_id in attempts:
                messages.append(
                    TaskMessage(
                        DELIVER_TASK,
                        str(attempt_id),
                        (str(attempt_id),),
                        deliver_queue(str(platform_of[post_id])),
                    )
                )
        stuck = s.execute(
            sa.update(Post)
            .where(col(Post.status) == PostStatus.PUBLISHING, col(Post.lease_until) < now)
            .values(
                status=PostStatus.UNKNOWN,
                lease_until=None,
                last_error="The worker stopped answering during delivery (killed or timed out); "
                "checking with the platform whether the post went out.",
                updated_at=now,
            )
            .returning(col(Post.id))
        ).all()
        if stuck:
            s.execute(
                sa.update(DeliveryAttempt)
                .where(
                    col(DeliveryAttempt.post_id).in_([r[0] for r in stuck]),
                    col(DeliveryAttempt.status) == AttemptStatus.STARTED,
                )
                .values(
                    status=AttemptStatus.UNKNOWN,
                    finished_at=now,
                    error_class=ErrorClass.AMBIGUOUS.value,
                    message="worker lost during delivery; outcome unknown",
                )
            )
    if lost or stuck:
        log.warning("reaped", resent=len(messages), unknown=len(stuck))
    return messages, len(stuck)


def reap_tick(*, engine: Engine, send: Sender, lease_seconds: int, batch: int = 50) -> None:
    """The reaper and reconciliation tick."""
    now = utcnow()
    messages, _ = reap_expired_leases(engine=engine, now=now, lease_seconds=lease_seconds)
    send(messages)
    send(claim_unknown_posts(engine=engine, now=now, batch=batch, lease_seconds=lease_seconds))
