"""Reconciliation: settle a post whose delivery outcome is unknown by asking the platform.

Read the post, ask the platform, decide (:func:`decide_reconcile`, pure, in
:mod:`scheduler.delivery.reconcile_decision` with its rules table), then one compare-and-set
write: the post moves only if it is still ``unknown``, and its attempts (and, for a refused
token, its channel) change only if it did.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import col

from adapters import build_adapter
from adapters.base import Payload, ReconcileResult
from adapters.errors import RATE_LIMIT_CLASSES, DeliveryError
from config import Settings
from scheduler.channels import channel_credentials
from scheduler.db.engine import session_scope
from scheduler.delivery.reconcile_decision import (
    TRIES_KEY,
    ReconcileDecision,
    decide_reconcile,
)
from scheduler.editorial.rendering import payload_from_post
from scheduler.models import (
    AttemptStatus,
    Channel,
    ChannelStatus,
    DeliveryAttempt,
    Post,
    PostStatus,
    utcnow,
)
from scheduler.runtime.logs import get_logger

log = get_logger(__name__)

__all__ = ["ReconcileDecision", "UnknownPost", "decide_reconcile", "reconcile_post"]


@dataclass(frozen=True)
class UnknownPost:
    """What reconciling one ``unknown`` post needs, read before asking the platform."""

    post_id: uuid.UUID
    channel_id: uuid.UUID
    platform: str
    account_id: str
    credentials: dict[str, str]
    payload: Payload
    state: dict[str, Any]
    last_error: str
    #: The platform is searched from a little before the post's first attempt.
    since: datetime
    #: Attempts of the post that used the retry budget (rate limits do not).
    budget_used: int
    #: A follow-up is looked for under its parent post (its platform id).
    parent_external_id: str | None = None


def reconcile_post(
    *, engine: Engine, post_id: uuid.UUID, settings: Settings, client: httpx.Client
) -> str:
    """Ask the platform whether an ``unknown`` post went out, and settle it.

    Returns the outcome (:mod:`scheduler.delivery.reconcile_decision`'s table: ``unknown``
    and ``needs_reauth`` leave the post ``unknown``); ``stale`` if the post was not (or is no
    longer) ``unknown``, and then nothing was written.
    """
    post = _read_unknown(engine, post_id, settings=settings)
    if post is None:
        return "stale"
    tries = int(post.state.get(TRIES_KEY, 0)) + 1
    adapter = build_adapter(post.platform, settings=settings, client=client)
    answer: ReconcileResult | DeliveryError
    try:
        if post.parent_external_id is not None:
            answer = adapter.reconcile_followup(
                post.payload,
                post.credentials,
                account_id=post.account_id,
                parent_id=post.parent_external_id,
                since=post.since,
            )
        else:
            answer = adapter.reconcile(
                post.payload,
                post.credentials,
                account_id=post.account_id,
                state=post.state,
                since=post.since,
            )
    except DeliveryError as exc:
        answer = exc
    decision = decide_reconcile(
        answer,
        platform=post.platform,
        tries=tries,
        budget_used=post.budget_used,
        state=post.state,
        last_error=post.last_error,
        settings=settings,
        now=utcnow(),
    )
    with engine.begin() as conn:
        written = _write(conn, post_id, decision, channel_id=post.channel_id)
    outcome = decision.outcome if written else "stale"
    log.info("reconciled", post_id=str(post_id), outcome=outcome, tries=tries)
    return outcome


def _read_unknown(engine: Engine, post_id: uuid.UUID, *, settings: Settings) -> UnknownPost | None:
    with session_scope(engine) as s:
        post = s.get(Post, post_id)
        if post is None or post.status != PostStatus.UNKNOWN:
            return None
        channel = s.get(Channel, post.channel_id)
        assert channel is not None
        of_post = col(DeliveryAttempt.post_id) == post_id
        first = s.execute(
            sa.select(sa.func.min(col(DeliveryAttempt.started_at))).where(of_post)
        ).scalar_one()
        # NOT IN leaves out the attempts without an error class (the successful ones).
        budget_used = s.execute(
            sa.select(sa.func.count())
            .select_from(DeliveryAttempt)
            .where(of_post, col(DeliveryAttempt.error_class).not_in(sorted(RATE_LIMIT_CLASSES)))
        ).scalar_one()
        # The last delivery error, not the post's last_error: while the platform fails, that
        # is the reconciliation's own "checking again at …" note.
        attempt_error = s.execute(
            sa.select(col(DeliveryAttempt.message))
            .where(of_post, col(DeliveryAttempt.error_class).is_not(None))
            .order_by(col(DeliveryAttempt.number).desc())
            .limit(1)
        ).scalar_one_or_none()
        parent = s.get(Post, post.parent_id) if post.parent_id is not None else None
        return UnknownPost(
            post_id=post_id,
            channel_id=channel.id,
            platform=str(channel.platform),
            account_id=channel.account_id,
            credentials=channel_credentials(channel, settings=settings),
            payload=payload_from_post(post),
            state=dict(post.platform_state or {}),
            last_error=attempt_error or post.last_error or "",
            since=(first or utcnow()) - timedelta(minutes=5),
            budget_used=int(budget_used),
            parent_external_id=parent.external_id if parent is not None else None,
        )


def _write(
    conn: Connection, post_id: uuid.UUID, decision: ReconcileDecision, *, channel_id: uuid.UUID
) -> bool:
    """The decision as one compare-and-set: False (nothing written) if the post moved on."""
    moved = conn.execute(
        sa.update(Post)
        .where(col(Post.id) == post_id, col(Post.status) == PostStatus.UNKNOWN)
        .values(decision.post)
    ).rowcount
    if moved != 1:
        return False
    unknown = (
        col(DeliveryAttempt.post_id) == post_id,
        col(DeliveryAttempt.status) == AttemptStatus.UNKNOWN,
    )
    if decision.confirm_attempt is not None:
        latest = (
            sa.select(col(DeliveryAttempt.id))
            .where(*unknown)
            .order_by(col(DeliveryAttempt.number).desc())
            .limit(1)
            .scalar_subquery()
        )
        conn.execute(
            sa.update(DeliveryAttempt)
            .where(col(DeliveryAttempt.id) == latest)
            .values(decision.confirm_attempt)
        )
    if decision.attempts_not_published:
        conn.execute(
            sa.update(DeliveryAttempt)
            .where(*unknown)
            .values(
                status=AttemptStatus.RETRY,
                message=sa.func.coalesce(col(DeliveryAttempt.message), "")
                + " — reconciliation: not published.",
            )
        )
    if decision.reauth_reason is not None:
        _hold_for_reauth(conn, channel_id, decision.reauth_reason, now=decision.post["updated_at"])
    return True


def _hold_for_reauth(
    conn: Connection, channel_id: uuid.UUID, reason: str, *, now: datetime
) -> None:
    """The channel needs reconnecting, and its waiting posts wait for it (as after delivery)."""
    conn.execute(
        sa.update(Channel)
        .where(col(Channel.id) == channel_id)
        .values(
            status=ChannelStatus.NEEDS_REAUTH,
            status_reason=reason,
            last_error=reason,
            last_error_at=now,
        )
    )
    conn.execute(
        sa.update(Post)
        .where(
            col(Post.channel_id) == channel_id,
            col(Post.status).in_([PostStatus.SCHEDULED, PostStatus.RETRY_WAIT]),
        )
        .values(status=PostStatus.NEEDS_REAUTH, updated_at=now)
    )
