"""Delivering one attempt: fence, (re-)render if needed, publish, record the outcome.

Called by the ``deliver`` Celery task with the attempt id (which is also the task id).

1. **Fence**: flip the attempt ``enqueued → started`` and the post ``queued → publishing`` with
   compare-and-set updates.  Zero rows changed means a duplicate or stale message: stop, no I/O.
2. **Re-render** a post whose article changed after it was rendered, unless an editor edited it.
3. **Publish** through the channel's adapter (the only platform I/O); the Instagram container id
   is persisted the moment it is known.
4. **Record** the attempt, the post and the channel in one transaction, each update conditional
   on the state this worker set, so a late result never overwrites the reaper or a person.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col

from adapters import build_adapter
from adapters.base import Payload, PublishResult
from adapters.errors import (
    AuthExpiredError,
    DeliveryError,
    DuplicateContentError,
    PermanentError,
    RateLimitedError,
    RetryableError,
    UnknownOutcomeError,
)
from config import Settings
from scheduler.articles import article_content
from scheduler.backoff import next_attempt_at
from scheduler.channels import channel_credentials, channel_settings
from scheduler.db import session_scope
from scheduler.logs import get_logger, redact
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
from scheduler.rendering import payload_from_post, render_for_channel
from scheduler.state import global_pause

log = get_logger(__name__)

RATE_LIMIT_CLASSES = frozenset({"rate_limited", "quota", "blocked"})


@dataclass(frozen=True)
class _Work:
    attempt_id: uuid.UUID
    post_id: uuid.UUID
    channel_id: uuid.UUID
    platform: str
    account_id: str
    credentials: dict[str, str]
    payload: Payload
    state: dict[str, Any]
    attempt_number: int
    had_ambiguous: bool


def _fence(
    engine: Engine, attempt_id: uuid.UUID, *, settings: Settings, worker: str, now: datetime
) -> tuple[uuid.UUID, uuid.UUID] | None:
    """Start the attempt exactly once; None means stale/duplicate (or held by a pause)."""
    with session_scope(engine) as s:
        started = s.execute(
            sa.update(DeliveryAttempt)
            .where(
                col(DeliveryAttempt.id) == attempt_id,
                col(DeliveryAttempt.status) == AttemptStatus.ENQUEUED,
            )
            .values(status=AttemptStatus.STARTED, started_at=now, worker=worker[:200])
            .returning(col(DeliveryAttempt.post_id), col(DeliveryAttempt.channel_id))
        ).first()
        if started is None:
            return None
        post_id, channel_id = started
        channel = s.get(Channel, channel_id)
        pause = global_pause(session=s, now=now)
        if pause is not None or channel is None or channel.status != ChannelStatus.ACTIVE:
            # The kill switch or a channel pause came after the claim: do not publish.
            back = (
                PostStatus.SCHEDULED
                if pause is not None or channel is None
                else (
                    PostStatus.HELD
                    if channel.status == ChannelStatus.PAUSED
                    else PostStatus.NEEDS_REAUTH
                )
            )
            s.execute(
                sa.update(Post)
                .where(col(Post.id) == post_id, col(Post.status) == PostStatus.QUEUED)
                .values(status=back, lease_until=None, next_attempt_at=None, updated_at=now)
            )
            s.execute(
                sa.update(DeliveryAttempt)
                .where(col(DeliveryAttempt.id) == attempt_id)
                .values(
                    status=AttemptStatus.SUPERSEDED,
                    finished_at=now,
                    message="held: paused before delivery started",
                )
            )
            return None
        moved = s.execute(
            sa.update(Post)
            .where(col(Post.id) == post_id, col(Post.status) == PostStatus.QUEUED)
            .values(
                status=PostStatus.PUBLISHING,
                lease_until=now + timedelta(seconds=settings.publish_lease_seconds),
                updated_at=now,
            )
        )
        if moved.rowcount == 0:  # type: ignore[attr-defined]
            # The post left `queued` (cancelled, rescheduled): this attempt is void.
            s.execute(
                sa.update(DeliveryAttempt)
                .where(col(DeliveryAttempt.id) == attempt_id)
                .values(
                    status=AttemptStatus.SUPERSEDED,
                    finished_at=now,
                    message="post changed before delivery started",
                )
            )
            return None
        return post_id, channel_id


def _load_work(
    engine: Engine,
    attempt_id: uuid.UUID,
    post_id: uuid.UUID,
    *,
    settings: Settings,
    client: httpx.Client,
) -> _Work | str:
    """Everything the publish call needs; a string is a reason the post cannot be sent."""
    with session_scope(engine) as s:
        post = s.get(Post, post_id)
        attempt = s.get(DeliveryAttempt, attempt_id)
        assert post is not None and attempt is not None
        article = s.get(Article, post.article_id)
        channel = s.get(Channel, post.channel_id)
        assert article is not None and channel is not None
        earlier = s.execute(
            sa.select(col(DeliveryAttempt.status), col(DeliveryAttempt.error_class)).where(
                col(DeliveryAttempt.post_id) == post_id, col(DeliveryAttempt.id) != attempt_id
            )
        ).all()
        had_ambiguous = any(ec == "ambiguous" for _, ec in earlier)
        # Rate limits do not use up the retry budget: only count the other attempts.
        budget_used = 1 + sum(
            1
            for st, ec in earlier
            if st in (AttemptStatus.RETRY, AttemptStatus.FAILED, AttemptStatus.UNKNOWN)
            and ec not in RATE_LIMIT_CLASSES
        )
        stale = article.revision != post.rendered_revision and post.text_override is None
        content = article_content(article)
        cs = channel_settings(channel)
        payload = payload_from_post(post)
        revision = article.revision
        work = dict(
            channel_id=channel.id,
            platform=str(channel.platform),
            account_id=channel.account_id,
            credentials=channel_credentials(channel, settings=settings),
            state=dict(post.platform_state or {}),
            attempt_number=budget_used,
        )
    if stale:
        # The article was corrected after this post was rendered: send the correction.
        payload = render_for_channel(
            content,
            work["platform"],
            cs,
            settings=settings,  # type: ignore[arg-type]
            client=client,
        )
        if payload.problems:
            return "The corrected article cannot be posted as it is: " + " ".join(payload.problems)
        with session_scope(engine) as s:
            s.execute(
                sa.update(Post)
                .where(col(Post.id) == post_id)
                .values(
                    text=payload.text,
                    link=payload.link,
                    media=[m.as_dict() for m in payload.media],
                    warnings=payload.warnings,
                    weighted_length=payload.weighted_length,
                    fingerprint=payload.fingerprint,
                    rendered_revision=revision,
                )
            )
    if payload.problems:
        return "The post has problems to fix first: " + " ".join(payload.problems)
    return _Work(
        attempt_id=attempt_id, post_id=post_id, payload=payload, had_ambiguous=had_ambiguous, **work
    )  # type: ignore[arg-type]


def _progress_saver(engine: Engine, post_id: uuid.UUID) -> Any:
    def save(update: dict[str, Any]) -> None:
        # Persist platform ids (the Instagram container) the moment they are known.
        with session_scope(engine) as s:
            post = s.get(Post, post_id)
            if post is not None:
                state = dict(post.platform_state or {})
                state.update(update)
                post.platform_state = {k: v for k, v in state.items() if v is not None}
                s.add(post)

    return save


def deliver_attempt(
    *,
    engine: Engine,
    attempt_id: uuid.UUID,
    settings: Settings,
    client: httpx.Client,
    worker: str = "worker",
) -> str:
    """Deliver one attempt end to end; returns the outcome (for logs and tests)."""
    now = utcnow()
    fenced = _fence(engine, attempt_id, settings=settings, worker=worker, now=now)
    if fenced is None:
        log.info("attempt_fenced", attempt_id=str(attempt_id))
        return "stale"
    post_id, channel_id = fenced
    try:
        work = _load_work(engine, attempt_id, post_id, settings=settings, client=client)
    except Exception as exc:  # nothing was sent: a readable failure, retried with back-off
        err = RetryableError(
            f"Preparing the post failed before sending: {type(exc).__name__}: "
            f"{redact(str(exc))[:300]}"
        )
        return record_attempt_outcome(
            engine=engine,
            attempt_id=attempt_id,
            post_id=post_id,
            channel_id=channel_id,
            settings=settings,
            error=err,
            latency_ms=0,
        )
    if isinstance(work, str):
        return record_attempt_outcome(
            engine=engine,
            attempt_id=attempt_id,
            post_id=post_id,
            channel_id=channel_id,
            settings=settings,
            error=PermanentError(work),
            latency_ms=0,
            to_draft=True,
        )
    adapter = build_adapter(work.platform, settings=settings, client=client)
    started = time.perf_counter()
    result: PublishResult | None = None
    error: DeliveryError | None = None
    try:
        result = adapter.publish(
            work.payload,
            work.credentials,
            account_id=work.account_id,
            state=work.state,
            on_progress=_progress_saver(engine, post_id),
        )
    except DuplicateContentError as exc:
        # After an ambiguous attempt a "duplicate" most likely means our own earlier post.
        error = (
            UnknownOutcomeError(
                exc.message, http_status=exc.http_status, code=exc.code, subcode=exc.subcode
            )
            if work.had_ambiguous
            else exc
        )
    except DeliveryError as exc:
        error = exc
    except Exception as exc:  # an unexpected bug mid-call: the request may have gone out
        error = UnknownOutcomeError(
            f"Unexpected error during the platform call: "
            f"{type(exc).__name__}: {redact(str(exc))[:300]}"
        )
    latency_ms = int((time.perf_counter() - started) * 1000)
    return record_attempt_outcome(
        engine=engine,
        attempt_id=attempt_id,
        post_id=post_id,
        channel_id=channel_id,
        settings=settings,
        result=result,
        error=error,
        latency_ms=latency_ms,
        attempt_number=work.attempt_number,
    )


def record_attempt_outcome(
    *,
    engine: Engine,
    attempt_id: uuid.UUID,
    post_id: uuid.UUID,
    channel_id: uuid.UUID,
    settings: Settings,
    result: PublishResult | None = None,
    error: DeliveryError | None = None,
    latency_ms: int,
    attempt_number: int = 1,
    to_draft: bool = False,
) -> str:
    """Write the attempt, the post and the channel in one transaction; returns the outcome."""
    now = utcnow()
    attempt_values: dict[str, Any] = {"finished_at": now, "latency_ms": latency_ms}
    post_values: dict[str, Any] = {"lease_until": None, "updated_at": now}
    channel_values: dict[str, Any] = {}
    if result is not None:
        outcome = "published"
        attempt_values.update(
            status=AttemptStatus.SUCCEEDED,
            http_status=result.http_status,
            rate_limit=result.rate_limit,
            external_id=result.external_id,
            message="published",
        )
        post_values.update(
            status=PostStatus.PUBLISHED,
            external_id=result.external_id,
            external_url=result.external_url,
            published_at=now,
            last_error=None,
            next_attempt_at=None,
        )
        channel_values.update(last_success_at=now, rate_limit=result.rate_limit)
    else:
        assert error is not None
        message = redact(error.message)[:2000]
        attempt_values.update(
            http_status=error.http_status,
            error_code=error.code,
            error_subcode=error.subcode,
            error_class=error.error_class,
            rate_limit=error.rate_limit,
            message=message,
        )
        post_values["last_error"] = message
        channel_values.update(last_error_at=now, last_error=message)
        if error.rate_limit:
            channel_values["rate_limit"] = error.rate_limit
        if isinstance(error, UnknownOutcomeError):
            outcome = "unknown"
            attempt_values["status"] = AttemptStatus.UNKNOWN
            post_values["status"] = PostStatus.UNKNOWN
        elif isinstance(error, AuthExpiredError):
            outcome = "needs_reauth"
            attempt_values["status"] = AttemptStatus.FAILED
            post_values["status"] = PostStatus.NEEDS_REAUTH
            channel_values.update(status=ChannelStatus.NEEDS_REAUTH, status_reason=message)
        elif isinstance(error, RateLimitedError):
            # Rate limits do not use up the attempt budget: the platform told us when.
            outcome = "retry_wait"
            attempt_values["status"] = AttemptStatus.RETRY
            due = next_attempt_at(
                now,
                1,
                base=settings.backoff_base_seconds,
                cap=settings.backoff_max_seconds,
                reset_at=error.reset_at
                or now + timedelta(seconds=settings.rate_limit_fallback_seconds),
            )
            post_values.update(status=PostStatus.RETRY_WAIT, next_attempt_at=due)
            channel_values["rate_limited_until"] = error.reset_at
        elif isinstance(error, RetryableError) and attempt_number < settings.max_attempts:
            outcome = "retry_wait"
            attempt_values["status"] = AttemptStatus.RETRY
            post_values.update(
                status=PostStatus.RETRY_WAIT,
                next_attempt_at=next_attempt_at(
                    now,
                    attempt_number,
                    base=settings.backoff_base_seconds,
                    cap=settings.backoff_max_seconds,
                ),
            )
        else:
            outcome = "draft" if to_draft else "failed"
            attempt_values["status"] = AttemptStatus.FAILED
            if isinstance(error, RetryableError):
                post_values["last_error"] = (
                    f"Gave up after {attempt_number} attempts. Last error: {message}"
                )[:2000]
            post_values["status"] = PostStatus.DRAFT if to_draft else PostStatus.FAILED
    with session_scope(engine) as s:
        # A late success is still recorded after the reaper declared the attempt unknown.
        allowed = [AttemptStatus.STARTED] + ([AttemptStatus.UNKNOWN] if result else [])
        done = s.execute(
            sa.update(DeliveryAttempt)
            .where(col(DeliveryAttempt.id) == attempt_id, col(DeliveryAttempt.status).in_(allowed))
            .values(**attempt_values)
        )
        if done.rowcount == 0:  # type: ignore[attr-defined]
            log.warning("outcome_dropped", attempt_id=str(attempt_id), outcome=outcome)
            return "stale"
        post_from = [PostStatus.PUBLISHING] + (
            [PostStatus.UNKNOWN, PostStatus.NEEDS_REVIEW] if result else []
        )
        s.execute(
            sa.update(Post)
            .where(col(Post.id) == post_id, col(Post.status).in_(post_from))
            .values(**post_values)
        )
        if channel_values:
            s.execute(
                sa.update(Channel).where(col(Channel.id) == channel_id).values(**channel_values)
            )
        if outcome == "needs_reauth":
            # Hold the channel's other waiting posts too; reconnecting releases them.
            s.execute(
                sa.update(Post)
                .where(
                    col(Post.channel_id) == channel_id,
                    col(Post.status).in_([PostStatus.SCHEDULED, PostStatus.RETRY_WAIT]),
                )
                .values(status=PostStatus.NEEDS_REAUTH, updated_at=now)
            )
    log.info(
        "attempt_recorded",
        attempt_id=str(attempt_id),
        post_id=str(post_id),
        channel_id=str(channel_id),
        outcome=outcome,
        latency_ms=latency_ms,
        error_class=error.error_class if error else None,
    )
    return outcome
