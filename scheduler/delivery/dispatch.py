"""The dispatcher: claim due posts atomically, record the attempt, commit, then send the task.

The post table is the outbox and the dispatcher the relay (reference/ENGINEERING.md §1, §3.3):

* a claim is one ``UPDATE … WHERE id IN (due posts) AND status IN (…) RETURNING`` — on
  PostgreSQL the inner select takes ``FOR UPDATE SKIP LOCKED`` so replicas never wait on each
  other; on SQLite the transaction is ``BEGIN IMMEDIATE`` and the status re-check makes it safe;
* the DeliveryAttempt row is inserted in the same transaction, and the Celery message (task id =
  attempt id) is sent only after the commit; a crash in between leaves a ``queued`` post whose
  lease expires, and the reaper re-sends the same attempt id (the worker's fence makes any
  duplicate message a no-op);
* no Celery ETA or countdown anywhere: due times live in ``scheduled_at``/``next_attempt_at``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col

from scheduler.db.engine import is_sqlite, session_scope
from scheduler.delivery.tasks import DELIVER_TASK, FORMAT_TASK, RECONCILE_TASK
from scheduler.models import (
    AttemptStatus,
    Channel,
    ChannelStatus,
    DeliveryAttempt,
    Post,
    PostStatus,
    utcnow,
)
from scheduler.ops.state import DISPATCHER_HEARTBEAT, beat, global_pause
from scheduler.runtime.logs import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class TaskMessage:
    """A message for the workers: the task name, its id and its queue."""

    name: str
    task_id: str
    args: tuple[str, ...]
    queue: str


#: Sends a batch of messages and returns how many went out; failures are logged, not raised
#: (an unsent message's lease expires and the reaper re-sends it).
Sender = Callable[[list[TaskMessage]], int]


def deliver_queue(platform: str) -> str:
    """One queue per platform, so one platform's outage does not starve the others."""
    return f"deliver.{platform}"


def send_each(messages: list[TaskMessage], send_one: Callable[[TaskMessage], None]) -> int:
    """Send one message at a time; a failure is logged and the rest still go."""
    sent = 0
    for msg in messages:
        try:
            send_one(msg)
            sent += 1
        except Exception as exc:  # broker down: the lease expires and the reaper re-sends
            log.warning("send_failed", task=msg.name, task_id=msg.task_id, error=str(exc))
    return sent


def _lock_due(stmt: sa.Select, engine: Engine) -> sa.Select:  # type: ignore[type-arg]
    if is_sqlite(engine):
        return stmt  # SQLite: BEGIN IMMEDIATE serialises writers; the UPDATE re-checks status
    return stmt.with_for_update(of=Post, skip_locked=True)


def claim_due_posts(
    *, engine: Engine, now: datetime, batch: int, lease_seconds: int
) -> list[TaskMessage]:
    """Claim up to ``batch`` due posts, create their attempts, commit; return the messages."""
    dispatchable = [PostStatus.SCHEDULED, PostStatus.RETRY_WAIT]
    due = (
        sa.select(col(Post.id))
        .join(Channel, col(Channel.id) == col(Post.channel_id))
        .where(
            sa.or_(
                sa.and_(col(Post.status) == PostStatus.SCHEDULED, col(Post.scheduled_at) <= now),
                sa.and_(
                    col(Post.status) == PostStatus.RETRY_WAIT, col(Post.next_attempt_at) <= now
                ),
            ),
            col(Channel.status) == ChannelStatus.ACTIVE,
            sa.or_(
                col(Channel.rate_limited_until).is_(None), col(Channel.rate_limited_until) <= now
            ),
        )
        .order_by(sa.func.coalesce(col(Post.next_attempt_at), col(Post.scheduled_at)))
        .limit(batch)
    )
    due = _lock_due(due, engine)
    messages: list[TaskMessage] = []
    with session_scope(engine) as s:
        rows = s.execute(
            sa.update(Post)
            .where(col(Post.id).in_(due.scalar_subquery()), col(Post.status).in_(dispatchable))
            .values(
                status=PostStatus.QUEUED,
                lease_until=now + timedelta(seconds=lease_seconds),
                attempt_count=col(Post.attempt_count) + 1,
                updated_at=now,
            )
            .returning(
                col(Post.id),
                col(Post.channel_id),
                col(Post.platform),
                col(Post.attempt_count),
                col(Post.scheduled_at),
                col(Post.next_attempt_at),
            )
        ).all()
        attempts: list[dict[str, object]] = []
        for post_id, channel_id, platform, number, scheduled_at, next_at in rows:
            # Plain rows, not model instances: building a SQLModel object runs pydantic's
            # defaults machinery, a fifth of the dispatcher's CPU in a burst.
            attempt_id = uuid.uuid4()
            attempts.append(
                dict(
                    id=attempt_id,
                    post_id=post_id,
                    channel_id=channel_id,
                    number=number,
                    status=AttemptStatus.ENQUEUED.value,
                    created_at=now,
                    scheduled_for=next_at if next_at and number > 1 else scheduled_at,
                    rate_limit={},
                )
            )
            messages.append(
                TaskMessage(
                    DELIVER_TASK, str(attempt_id), (str(attempt_id),), deliver_queue(str(platform))
                )
            )
        if attempts:
            # One multi-row INSERT, not the ORM unit of work (a burst claims hundreds at once).
            s.execute(sa.insert(DeliveryAttempt.__table__), attempts)  # type: ignore[attr-defined]
    return messages


def _lease_posts(
    engine: Engine,
    status: PostStatus,
    extra: Any,
    *,
    now: datetime,
    batch: int,
    lease_seconds: int,
) -> list[Any]:
    """Lease up to ``batch`` posts in ``status`` whose lease is free; returns (id, extra) rows."""
    free = sa.or_(col(Post.lease_until).is_(None), col(Post.lease_until) < now)
    due = sa.select(col(Post.id)).where(col(Post.status) == status, free).limit(batch)
    due = _lock_due(due, engine)
    with session_scope(engine) as s:
        return list(
            s.execute(
                sa.update(Post)
                .where(col(Post.id).in_(due.scalar_subquery()), col(Post.status) == status, free)
                .values(lease_until=now + timedelta(seconds=lease_seconds))
                .returning(col(Post.id), extra)
            ).all()
        )


def claim_posts_to_render(
    *, engine: Engine, now: datetime, batch: int, lease_seconds: int
) -> list[TaskMessage]:
    """The format outbox: posts waiting in ``rendering`` whose lease is free."""
    rows = _lease_posts(
        engine,
        PostStatus.RENDERING,
        col(Post.render_requested_revision),
        now=now,
        batch=batch,
        lease_seconds=lease_seconds,
    )
    return [
        TaskMessage(
            FORMAT_TASK, f"format-{pid}-{rev}-{uuid.uuid4().hex[:8]}", (str(pid),), "format"
        )
        for pid, rev in rows
    ]


def claim_unknown_posts(
    *, engine: Engine, now: datetime, batch: int, lease_seconds: int
) -> list[TaskMessage]:
    """Posts whose outcome is unknown, to be reconciled with the platform."""
    rows = _lease_posts(
        engine,
        PostStatus.UNKNOWN,
        col(Post.platform),
        now=now,
        batch=batch,
        lease_seconds=lease_seconds,
    )
    return [
        TaskMessage(
            RECONCILE_TASK,
            f"reconcile-{pid}-{uuid.uuid4().hex[:8]}",
            (str(pid),),
            deliver_queue(str(platform)),
        )
        for pid, platform in rows
    ]


@dataclass
class TickResult:
    """What one dispatcher tick did."""

    dispatched: int = 0
    formatted: int = 0
    paused: bool = False


def dispatch_tick(
    *,
    engine: Engine,
    send: Sender,
    batch: int,
    lease_seconds: int,
    now: datetime | None = None,
    max_rounds: int = 20,
) -> TickResult:
    """One dispatcher tick: heartbeat, format outbox, then due deliveries (unless paused)."""
    now = now or utcnow()
    result = TickResult()
    with session_scope(engine) as s:
        beat(session=s, key=DISPATCHER_HEARTBEAT)
        paused = global_pause(session=s, now=now) is not None
    result.formatted = send(
        claim_posts_to_render(engine=engine, now=now, batch=batch, lease_seconds=lease_seconds)
    )
    if paused:
        result.paused = True
        return result
    # A full batch means more may be due: keep claiming within the tick (bounded).
    for _ in range(max_rounds):
        messages = claim_due_posts(
            engine=engine, now=utcnow(), batch=batch, lease_seconds=lease_seconds
        )
        result.dispatched += send(messages)
        if len(messages) < batch:
            break
    return result
