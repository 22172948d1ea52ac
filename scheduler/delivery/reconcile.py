"""Reconciliation: settle a post whose delivery outcome is unknown by asking the platform.

Never a blind retry: only a platform answer of "not there" sends the post back to the queue.
If the platform cannot say, the post waits for a person (``needs_review``).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col

from adapters import build_adapter
from adapters.errors import DeliveryError
from config import Settings
from scheduler.channels import channel_credentials
from scheduler.db.engine import session_scope
from scheduler.delivery.attempt import RATE_LIMIT_CLASSES
from scheduler.delivery.backoff import next_attempt_at
from scheduler.editorial.rendering import payload_from_post
from scheduler.models import (
    AttemptStatus,
    Channel,
    DeliveryAttempt,
    Post,
    PostStatus,
    utcnow,
)
from scheduler.runtime.logs import get_logger, redact

log = get_logger(__name__)

MAX_RECONCILE_TRIES = 5


def reconcile_post(
    *, engine: Engine, post_id: uuid.UUID, settings: Settings, client: httpx.Client
) -> str:
    """Ask the platform whether an ``unknown`` post went out, and settle it."""
    with session_scope(engine) as s:
        post = s.get(Post, post_id)
        if post is None or post.status != PostStatus.UNKNOWN:
            return "stale"
        channel = s.get(Channel, post.channel_id)
        assert channel is not None
        first = s.execute(
            sa.select(sa.func.min(col(DeliveryAttempt.started_at))).where(
                col(DeliveryAttempt.post_id) == post_id
            )
        ).scalar_one()
        payload = payload_from_post(post)
        state = dict(post.platform_state or {})
        platform, account = str(channel.platform), channel.account_id
        credentials = channel_credentials(channel, settings=settings)
        tries = int(state.get("reconcile_tries", 0)) + 1
        state_error = post.last_error or ""
    since = (first or utcnow()) - timedelta(minutes=5)
    adapter = build_adapter(platform, settings=settings, client=client)
    now = utcnow()
    try:
        answer = adapter.reconcile(
            payload, credentials, account_id=account, state=state, since=since
        )
        published, detail = answer.published, answer.detail
    except DeliveryError as exc:
        answer, published, detail = None, None, redact(exc.message)
    with session_scope(engine) as s:
        where = (col(Post.id) == post_id, col(Post.status) == PostStatus.UNKNOWN)
        new_state = {**state, "reconcile_tries": tries}
        if published and answer is not None:
            s.execute(
                sa.update(Post)
                .where(*where)
                .values(
                    status=PostStatus.PUBLISHED,
                    external_id=answer.external_id,
                    external_url=answer.external_url,
                    published_at=now,
                    lease_until=None,
                    last_error=None,
                    platform_state=new_state,
                    updated_at=now,
                )
            )
            latest = s.execute(
                sa.select(col(DeliveryAttempt.id))
                .where(
                    col(DeliveryAttempt.post_id) == post_id,
                    col(DeliveryAttempt.status) == AttemptStatus.UNKNOWN,
                )
                .order_by(col(DeliveryAttempt.number).desc())
                .limit(1)
            ).scalar_one_or_none()
            if latest is not None:
                s.execute(
                    sa.update(DeliveryAttempt)
                    .where(col(DeliveryAttempt.id) == latest)
                    .values(
                        status=AttemptStatus.SUCCEEDED,
                        external_id=answer.external_id,
                        message="published (confirmed by reconciliation)",
                    )
                )
            outcome = "published"
        elif published is False and tries <= MAX_RECONCILE_TRIES:
            # Proven absent: the ambiguous attempts become ordinary retries, with back-off.
            s.execute(
                sa.update(DeliveryAttempt)
                .where(
                    col(DeliveryAttempt.post_id) == post_id,
                    col(DeliveryAttempt.status) == AttemptStatus.UNKNOWN,
                )
                .values(
                    status=AttemptStatus.RETRY,
                    message=sa.func.coalesce(col(DeliveryAttempt.message), "")
                    + " — reconciliation: not published.",
                )
            )
            used = s.execute(
                sa.select(sa.func.count())
                .select_from(DeliveryAttempt)
                .where(
                    col(DeliveryAttempt.post_id) == post_id,
                    col(DeliveryAttempt.error_class).not_in(sorted(RATE_LIMIT_CLASSES)),
                )
            ).scalar_one()
            if used >= settings.max_attempts:
                s.execute(
                    sa.update(Post)
                    .where(*where)
                    .values(
                        status=PostStatus.FAILED,
                        lease_until=None,
                        platform_state=new_state,
                        updated_at=now,
                        last_error=f"Gave up after {used} attempts; the platform "
                        f"confirmed the post is not there. Last error: {state_error}"[:2000],
                    )
                )
                outcome = "failed"
            else:
                due = next_attempt_at(
                    now, used, base=settings.backoff_base_seconds, cap=settings.backoff_max_seconds
                )
                s.execute(
                    sa.update(Post)
                    .where(*where)
                    .values(
                        status=PostStatus.RETRY_WAIT,
                        next_attempt_at=due,
                        lease_until=None,
                        platform_state=new_state,
                        updated_at=now,
                        last_error="The platform confirmed the post is not there; it will be sent "
                        "again.",
                    )
                )
                outcome = "retry_wait"
        elif published is None and tries < MAX_RECONCILE_TRIES and answer is None:
            # The platform could not be asked (error): try again after the lease.
            s.execute(
                sa.update(Post)
                .where(*where)
                .values(
                    platform_state=new_state,
                    lease_until=now + timedelta(seconds=15),
                    last_error=f"Checking with the platform failed: {detail}"[:2000],
                )
            )
            outcome = "unknown"
        else:
            s.execute(
                sa.update(Post)
                .where(*where)
                .values(
                    status=PostStatus.NEEDS_REVIEW,
                    lease_until=None,
                    platform_state=new_state,
                    updated_at=now,
                    last_error=(
                        "Could not prove whether the post was published; a person must "
                        f"check the account before retrying. {detail}"
                    ).strip()[:2000],
                )
            )
            outcome = "needs_review"
    log.info("reconciled", post_id=str(post_id), outcome=outcome, tries=tries)
    return outcome
