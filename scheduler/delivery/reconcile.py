"""Reconciliation: settle a post whose delivery outcome is unknown by asking the platform.

Never a blind retry: only a platform answer of "not there" sends the post back to the queue.
If the platform cannot say, the post waits for a person (``needs_review``).

Read the post, ask the platform, decide (:func:`decide_reconcile`, pure), then one
compare-and-set write: the post moves only if it is still ``unknown``, and its attempts change
only if it did.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
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
from scheduler.delivery.backoff import next_attempt_at
from scheduler.editorial.rendering import payload_from_post
from scheduler.models import (
    AttemptStatus,
    Channel,
    DeliveryAttempt,
    Post,
    PostStatus,
    clip_text,
    utcnow,
)
from scheduler.runtime.logs import get_logger, redact

log = get_logger(__name__)

MAX_RECONCILE_TRIES = 5
#: How long a post whose platform could not be asked waits before the next try.
RECHECK_AFTER = timedelta(seconds=15)


@dataclass(frozen=True)
class UnknownPost:
    """What reconciling one ``unknown`` post needs, read before asking the platform."""

    post_id: uuid.UUID
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


@dataclass(frozen=True)
class ReconcileDecision:
    """The post's new columns (written only if it is still ``unknown``) and its attempts' fate."""

    outcome: str
    post: dict[str, Any]
    #: The latest unknown attempt is confirmed published with these columns.
    confirm_attempt: dict[str, Any] | None = None
    #: The unknown attempts were proven not published: they become ordinary retries.
    attempts_not_published: bool = field(default=False)


def decide_reconcile(
    answer: ReconcileResult | DeliveryError,
    *,
    tries: int,
    budget_used: int,
    state: dict[str, Any],
    last_error: str,
    settings: Settings,
    now: datetime,
    rng: random.Random | None = None,
) -> ReconcileDecision:
    """Decide what the platform's answer (or the error asking it) means; pure.

    ``tries`` counts this check; ``budget_used`` the post's attempts that used the retry budget.
    """
    new_state = {**state, "reconcile_tries": tries}
    settled = dict(lease_until=None, platform_state=new_state, updated_at=now)
    if isinstance(answer, DeliveryError):
        detail = redact(answer.message)
        if tries < MAX_RECONCILE_TRIES:
            # The platform could not be asked: try again after the lease.
            return ReconcileDecision(
                "unknown",
                dict(
                    platform_state=new_state,
                    lease_until=now + RECHECK_AFTER,
                    last_error=clip_text(f"Checking with the platform failed: {detail}"),
                ),
            )
        return _needs_review(settled, detail)
    if answer.published:
        post = dict(
            settled,
            status=PostStatus.PUBLISHED,
            external_id=answer.external_id,
            external_url=answer.external_url,
            published_at=now,
            last_error=None,
        )
        confirm = dict(
            status=AttemptStatus.SUCCEEDED,
            external_id=answer.external_id,
            message="published (confirmed by reconciliation)",
        )
        return ReconcileDecision("published", post, confirm_attempt=confirm)
    if answer.published is None or tries > MAX_RECONCILE_TRIES:
        return _needs_review(settled, answer.detail)
    # Proven absent: the ambiguous attempts become ordinary retries, with back-off.
    if budget_used >= settings.max_attempts:
        post = dict(
            settled,
            status=PostStatus.FAILED,
            last_error=clip_text(
                f"Gave up after {budget_used} attempts; the platform confirmed the post is not "
                f"there. Last error: {last_error}"
            ),
        )
        return ReconcileDecision("failed", post, attempts_not_published=True)
    due = next_attempt_at(
        now,
        budget_used,
        base=settings.backoff_base_seconds,
        cap=settings.backoff_max_seconds,
        rng=rng,
    )
    post = dict(
        settled,
        status=PostStatus.RETRY_WAIT,
        next_attempt_at=due,
        last_error="The platform confirmed the post is not there; it will be sent again.",
    )
    return ReconcileDecision("retry_wait", post, attempts_not_published=True)


def _needs_review(settled: dict[str, Any], detail: str) -> ReconcileDecision:
    message = (
        "Could not prove whether the post was published; a person must check the account "
        f"before retrying. {detail}"
    ).strip()
    return ReconcileDecision(
        "needs_review",
        dict(settled, status=PostStatus.NEEDS_REVIEW, last_error=clip_text(message)),
    )


def reconcile_post(
    *, engine: Engine, post_id: uuid.UUID, settings: Settings, client: httpx.Client
) -> str:
    """Ask the platform whether an ``unknown`` post went out, and settle it.

    Returns the outcome; ``stale`` if the post was not (or is no longer) ``unknown``.
    """
    post = _read_unknown(engine, post_id, settings=settings)
    if post is None:
        return "stale"
    tries = int(post.state.get("reconcile_tries", 0)) + 1
    adapter = build_adapter(post.platform, settings=settings, client=client)
    answer: ReconcileResult | DeliveryError
    try:
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
        tries=tries,
        budget_used=post.budget_used,
        state=post.state,
        last_error=post.last_error,
        settings=settings,
        now=utcnow(),
    )
    with engine.begin() as conn:
        written = _write(conn, post_id, decision)
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
        return UnknownPost(
            post_id=post_id,
            platform=str(channel.platform),
            account_id=channel.account_id,
            credentials=channel_credentials(channel, settings=settings),
            payload=payload_from_post(post),
            state=dict(post.platform_state or {}),
            last_error=post.last_error or "",
            since=(first or utcnow()) - timedelta(minutes=5),
            budget_used=int(budget_used),
        )


def _write(conn: Connection, post_id: uuid.UUID, decision: ReconcileDecision) -> bool:
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
    return True
