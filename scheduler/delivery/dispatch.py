"""The dispatcher: claim due posts atomically, record the attempt, commit, then send the task.

The post table is the outbox and the dispatcher the relay (reference/ENGINEERING.md §1, §3.3):

* a claim is one ``UPDATE … WHERE id IN (due posts) AND status IN (…) RETURNING`` — on
  PostgreSQL the inner select takes ``FOR UPDATE SKIP LOCKED`` so replicas never wait on each
  other; on SQLite the transaction is ``BEGIN IMMEDIATE`` and the status re-check makes it safe;
* the DeliveryAttempt row is inserted in the same transaction, and the Celery message (task id =
  attempt id) is sent only after the commit; a crash in between leaves a ``queued`` post whose
  lease expires, and the reaper re-sends the same attempt id (the worker's fence makes any
  duplicate message a no-op);
* no Celery ETA or countdown anywhere: due times live in ``scheduled_at``/``next_attempt_at``;
* channel policy (spacing, slots, daily cap, breaking lane, staleness) is decided by
  :mod:`.policy` and read and written by :mod:`.pacing`, in the claim's transaction;
* a follow-up (first comment, thread reply) is claimed only once its parent is ``published``
  with its platform id (:func:`.pacing.parent_live`, in the select and in the UPDATE); it takes
  no spacing, slot or cap.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from scheduler.db.engine import is_sqlite, session_scope
from scheduler.delivery.pacing import (
    DISPATCHABLE,
    candidates,
    claim_order,
    due_clause,
    expire_stale,
    load_policies,
    lock_paced,
    parent_live,
    save_plans,
)
from scheduler.delivery.policy import ChannelPlan, plan_channel
from scheduler.delivery.tasks import DELIVER_TASK, FORMAT_TASK, RECONCILE_TASK
from scheduler.models import (
    Article,
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
    """Claim up to ``batch`` due posts under channel policy, create their attempts, commit.

    In one transaction: expire stale posts; claim on the paced channels (spacing, slots, daily
    cap) what :func:`.policy.plan_channel` allows under their row locks; claim the other
    channels' due posts, breaking first; record why the paced channels' other posts wait.
    """
    with session_scope(engine) as s:
        policies = load_policies(s)
        expire_stale(s, policies, now=now)
        paced = [cid for cid, p in policies.items() if p.paced]
        pacing = lock_paced(s, paced, now=now, skip_locked=not is_sqlite(engine))
        found = candidates(s, policies, list(pacing), now=now, batch=batch)
        plans: dict[uuid.UUID, ChannelPlan] = {}
        for channel_id, state in pacing.items():
            room = batch - sum(len(p.post_ids) for p in plans.values())
            plan = plan_channel(
                policies[channel_id], state, found.get(channel_id, []), now=now, room=room
            )
            if plan.post_ids or plan.wait is not None:
                plans[channel_id] = plan
        chosen = [pid for plan in plans.values() for pid in plan.post_ids]
        rows = (
            _claim(s, col(Post.id).in_(chosen), now=now, lease_seconds=lease_seconds)
            if chosen
            else []
        )
        due = (
            sa.select(col(Post.id))
            .join(Channel, col(Channel.id) == col(Post.channel_id))
            .join(Article, col(Article.id) == col(Post.article_id))
            .where(
                due_clause(now),
                col(Channel.status) == ChannelStatus.ACTIVE,
                sa.or_(
                    col(Channel.rate_limited_until).is_(None),
                    col(Channel.rate_limited_until) <= now,
                ),
                # Paced channels are claimed above, under their row lock, or not at all;
                # their follow-ups (which take no spacing, slot or cap) here, once the parent
                # is live.
                sa.or_(col(Post.channel_id).not_in(paced), col(Post.parent_id).is_not(None)),
                parent_live(),
            )
            .order_by(*claim_order())
            .limit(max(0, batch - len(rows)))
        )
        if len(rows) < batch:
            due = _lock_due(due, engine)
            rows += _claim(
                s, col(Post.id).in_(due.scalar_subquery()), now=now, lease_seconds=lease_seconds
            )
        save_plans(s, plans, now=now)
        return _record_attempts(s, rows, now=now)


def _claim(s: Session, which: Any, *, now: datetime, lease_seconds: int) -> list[Any]:
    """Move the posts ``which`` selects from scheduled/retry_wait to queued; returns them."""
    return list(
        s.execute(
            sa.update(Post)
            .where(which, col(Post.status).in_(DISPATCHABLE), parent_live())
            .values(
                status=PostStatus.QUEUED,
                lease_until=now + timedelta(seconds=lease_seconds),
                attempt_count=col(Post.attempt_count) + 1,
                wait_code=None,
                wait_reason=None,
                wait_until=None,
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
            .execution_options(synchronize_session=False)
        ).all()
    )


def _record_attempts(s: Session, rows: list[Any], *, now: datetime) -> list[TaskMessage]:
    """Insert one attempt per claimed post (one statement); the messages to send after commit."""
    messages: list[TaskMessage] = []
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
    only: Any = None,
) -> list[Any]:
    """Lease up to ``batch`` posts in ``status`` whose lease is free (and that match ``only``);
    returns (id, extra) rows."""
    free = sa.or_(col(Post.lease_until).is_(None), col(Post.lease_until) < now)
    due = sa.select(col(Post.id)).where(col(Post.status) == status, free)
    if only is not None:
        due = due.where(only)
    due = due.limit(batch)
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
    """Posts whose outcome is unknown, to be reconciled with the platform.

    A post is taken once its lease is over: reconciliation sets the lease to the next check
    while the platform fails (the back-off), so a failing platform is not asked every tick.  A
    channel that needs reconnecting is not asked at all: its token was refused; its posts are
    checked again once it is active.
    """
    askable = sa.select(col(Channel.id)).where(col(Channel.status) != ChannelStatus.NEEDS_REAUTH)
    rows = _lease_posts(
        engine,
        PostStatus.UNKNOWN,
        col(Post.platform),
        now=now,
        batch=batch,
        lease_seconds=lease_seconds,
        only=col(Post.channel_id).in_(askable.scalar_subquery()),
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
