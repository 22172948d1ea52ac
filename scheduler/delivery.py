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
from sqlmodel import Session, col

from adapters import build_adapter
from adapters.base import ArticleContent, ChannelSettings, Payload, PublishResult
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
class _Snapshot:
    """What one delivery needs, read inside the fencing transaction."""

    post_id: uuid.UUID
    channel_id: uuid.UUID
    platform: str
    account_id: str
    credentials: dict[str, str]
    payload: Payload
    state: dict[str, Any]
    attempt_number: int
    had_ambiguous: bool
    stale: bool
    content: ArticleContent
    settings: ChannelSettings
    revision: int


def _start_attempt(
    engine: Engine,
    attempt_id: uuid.UUID,
    *,
    settings: Settings,
    worker: str,
    now: datetime,
) -> _Snapshot | None:
    """Fence: start the attempt exactly once and load what the call needs, in one transaction.

    None means a stale or duplicate message, or a post held by a pause since it was claimed.
    """
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
            _supersede(s, attempt_id, now, "held: paused before delivery started")
            return None
        post = s.execute(
            sa.update(Post)
            .where(col(Post.id) == post_id, col(Post.status) == PostStatus.QUEUED)
            .values(
                status=PostStatus.PUBLISHING,
                lease_until=now + timedelta(seconds=settings.publish_lease_seconds),
                updated_at=now,
            )
            .returning(Post)
        ).scalar_one_or_none()
        if post is None:
            # The post left `queued` (cancelled, rescheduled): this attempt is void.
            _supersede(s, attempt_id, now, "post changed before delivery started")
            return None
        article = s.get(Article, post.article_id)
        assert article is not None
        earlier = s.execute(
            sa.select(col(DeliveryAttempt.status), col(DeliveryAttempt.error_class)).where(
                col(DeliveryAttempt.post_id) == post_id, col(DeliveryAttempt.id) != attempt_id
            )
        ).all()
        # Rate limits do not use up the retry budget: only count the other attempts.
        budget_used = 1 + sum(
            1
            for st, ec in earlier
            if st in (AttemptStatus.RETRY, AttemptStatus.FAILED, AttemptStatus.UNKNOWN)
            and ec not in RATE_LIMIT_CLASSES
        )
        return _Snapshot(
            post_id=post_id,
            channel_id=channel_id,
            platform=str(channel.platform),
            account_id=channel.account_id,
            credentials=channel_credentials(channel, settings=settings),
            payload=payload_from_post(post),
            state=dict(post.platform_state or {}),
            attempt_number=budget_used,
            had_ambiguous=any(ec == "ambiguous" for _, ec in earlier),
            stale=article.revision != post.rendered_revision and post.text_override is None,
            content=article_content(article),
            settings=channel_settings(channel),
            revision=article.revision,
        )


def _supersede(s: Session, attempt_id: uuid.UUID, now: datetime, why: str) -> None:
    s.execute(
        sa.update(DeliveryAttempt)
        .where(col(DeliveryAttempt.id) == attempt_id)
        .values(status=AttemptStatus.SUPERSEDED, finished_at=now, message=why)
    )


def _refresh_stale(
    engine: Engine, snap: _Snapshot, *, settings: Settings, client: httpx.Client
) -> Payload | str:
    """Re-render a post whose article was corrected after rendering; a string is a refusal."""
    payload = render_for_channel(
        snap.content, snap.platform, snap.settings, settings=settings, client=client
    )
    if payload.problems:
        return "The corrected article cannot be posted as it is: " + " ".join(payload.problems)
    with session_scope(engine) as s:
        s.execute(
            sa.update(Post)
            .where(col(Post.id) == snap.post_id)
            .values(
                text=payload.text,
                link=payload.link,
                media=[m.as_dict() for m in payload.media],
                warnings=payload.warnings,
                weighted_length=payload.weighted_length,
                fingerprint=payload.fingerprint,
                rendered_revision=snap.revision,
            )
        )
    return payload


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
    try:
        snap = _start_attempt(engine, attempt_id, settings=settings, worker=worker, now=now)
    except Exception:
        log.error("attempt_start_failed", attempt_id=str(attempt_id), exc_info=True)
        raise  # nothing was sent; the lease expires and the reaper handles the post
    if snap is None:
        log.info("attempt_fenced", attempt_id=str(attempt_id))
        return "stale"
    outcome = dict(
        engine=engine,
        attempt_id=attempt_id,
        post_id=snap.post_id,
        channel_id=snap.channel_id,
        settings=settings,
    )
    payload = snap.payload
    try:
        if snap.stale:
            refreshed = _refresh_stale(engine, snap, settings=settings, client=client)
            if isinstance(refreshed, str):
                return record_attempt_outcome(
                    **outcome,
                    error=PermanentError(refreshed),  # type: ignore[arg-type]
                    latency_ms=0,
                    to_draft=True,
                )
            payload = refreshed
    except Exception as exc:  # nothing was sent: a readable failure, retried with back-off
        err = RetryableError(
            f"Preparing the post failed before sending: {type(exc).__name__}: "
            f"{redact(str(exc))[:300]}"
        )
        return record_attempt_outcome(
            **outcome,
            error=err,
            latency_ms=0,  # type: ignore[arg-type]
            attempt_number=snap.attempt_number,
        )
    if payload.problems:
        refusal = "The post has problems to fix first: " + " ".join(payload.problems)
        return record_attempt_outcome(
            **outcome,
            error=PermanentError(refusal),  # type: ignore[arg-type]
            latency_ms=0,
            to_draft=True,
        )
    adapter = build_adapter(snap.platform, settings=settings, client=client)
    started = time.perf_counter()
    result: PublishResult | None = None
    error: DeliveryError | None = None
    try:
        result = adapter.publish(
            payload,
            snap.credentials,
            account_id=snap.account_id,
            state=snap.state,
            on_progress=_progress_saver(engine, snap.post_id),
        )
    except DuplicateContentError as exc:
        # After an ambiguous attempt a "duplicate" most likely means our own earlier post.
        error = (
            UnknownOutcomeError(
                exc.message, http_status=exc.http_status, code=exc.code, subcode=exc.subcode
            )
            if snap.had_ambiguous
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
        **outcome,
        result=result,
        error=error,  # type: ignore[arg-type]
        latency_ms=latency_ms,
        attempt_number=snap.attempt_number,
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
    success_rate_limit: dict[str, Any] | None = None
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
        success_rate_limit = result.rate_limit
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
        if success_rate_limit is not None:
            # Every success on a channel would otherwise update (and lock) the same row and
            # serialise the workers; a few seconds of staleness in channel health is fine.
            s.execute(
                sa.update(Channel)
                .where(
                    col(Channel.id) == channel_id,
                    sa.or_(
                        col(Channel.last_success_at).is_(None),
                        col(Channel.last_success_at) < now - timedelta(seconds=5),
                    ),
                )
                .values(last_success_at=now, rate_limit=success_rate_limit)
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
