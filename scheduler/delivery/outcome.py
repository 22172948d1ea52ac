"""The outcome rules of one delivery attempt, as a pure decision: no database, no I/O.

Given what the platform call produced (a result or a classified error), the attempt's place in
the retry budget and whether an earlier attempt of the post was ambiguous, decide the attempt's
and the post's next state and what the channel learns.  The stores (``stores/``) only execute
the decision; every rule is written here, once.

=================================  ==============  ==============  =========================
the call ended in                  outcome         attempt         post
=================================  ==============  ==============  =========================
a result                           published       succeeded       published
UnknownOutcomeError (ambiguous)    unknown         unknown         unknown (reconciled)
DuplicateContentError after an     unknown         unknown         unknown (most likely our
ambiguous attempt                                                  own earlier post)
AuthExpiredError, Permission…      needs_reauth    failed          needs_reauth, and the
                                                                   channel's waiting posts
RateLimitedError, Quota…, Blocked  retry_wait      retry           retry_wait at the reset
                                                                   (budget not used)
RetryableError, budget left        retry_wait      retry           retry_wait with back-off
RetryableError, budget used up     failed          failed          failed ("Gave up after N")
anything else                      failed/draft    failed          failed, or draft when the
                                                                   post must be edited first
=================================  ==============  ==============  =========================
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from adapters.base import PublishResult
from adapters.errors import (
    AuthExpiredError,
    DeliveryError,
    DuplicateContentError,
    ErrorClass,
    RateLimitedError,
    RetryableError,
    UnknownOutcomeError,
)
from config import Settings
from scheduler.delivery.backoff import next_attempt_at
from scheduler.models import AttemptStatus, ChannelStatus, PostStatus, clip_text
from scheduler.runtime.logs import redact

#: Channel health: a success older than this is refreshed (see ``OutcomeDecision.touch_channel``).
SUCCESS_REFRESH = timedelta(seconds=5)


class Outcome(StrEnum):
    """What ``deliver_attempt`` reports (logs, tests); ``stale`` means nothing was recorded."""

    PUBLISHED = "published"
    UNKNOWN = "unknown"
    NEEDS_REAUTH = "needs_reauth"
    RETRY_WAIT = "retry_wait"
    FAILED = "failed"
    DRAFT = "draft"
    STALE = "stale"


@dataclass(frozen=True)
class OutcomeDecision:
    """The next state of the attempt, the post and the channel, ready for a store to write.

    ``attempt``/``post``/``channel`` are column values.  The attempt is updated only from a
    status in ``attempt_from`` and the post only from ``post_from`` (compare-and-set: a late
    result never overwrites the reaper or a person); nothing else is written if the attempt
    update matched no row.
    """

    outcome: Outcome
    error_class: ErrorClass | None
    attempt: dict[str, Any]
    post: dict[str, Any]
    channel: dict[str, Any]
    attempt_from: tuple[str, ...]
    post_from: tuple[str, ...]
    #: Refresh the channel's ``last_success_at`` (and its rate-limit snapshot): a success on a
    #: channel whose health is older than ``SUCCESS_REFRESH``.
    touch_channel: bool = False
    success_rate_limit: dict[str, Any] | None = None
    #: Auth expired: the channel's other waiting posts go to ``needs_reauth`` too.
    hold_channel_posts: bool = False
    #: When the health refresh counts as due (``now - SUCCESS_REFRESH``).
    since: datetime | None = field(default=None)


def decide_outcome(
    result_or_error: PublishResult | DeliveryError,
    *,
    attempt_number: int,
    settings: Settings,
    now: datetime,
    had_ambiguous: bool = False,
    to_draft: bool = False,
    channel_last_success_at: datetime | None = None,
    rng: random.Random | None = None,
) -> OutcomeDecision:
    """Decide what one attempt's result or error means; pure (``rng`` only for the back-off).

    ``attempt_number`` counts this attempt among those that used the retry budget (rate limits
    do not); ``had_ambiguous`` says an earlier attempt of the post may have been published;
    ``to_draft`` sends a refused post back to the editor instead of failing it;
    ``channel_last_success_at`` (read at the fence) spares a health update that would be a no-op.
    """
    if isinstance(result_or_error, PublishResult):
        return _published(result_or_error, now=now, last_success_at=channel_last_success_at)
    error = result_or_error
    if isinstance(error, DuplicateContentError) and had_ambiguous:
        # After an ambiguous attempt a "duplicate" most likely means our own earlier post.
        error = UnknownOutcomeError(
            error.message, http_status=error.http_status, code=error.code, subcode=error.subcode
        )
    message = clip_text(redact(error.message)) or ""
    attempt: dict[str, Any] = dict(
        finished_at=now,
        http_status=error.http_status,
        error_code=error.code,
        error_subcode=error.subcode,
        error_class=error.error_class,
        rate_limit=error.rate_limit,
        message=message,
    )
    post: dict[str, Any] = dict(lease_until=None, updated_at=now, last_error=message)
    channel: dict[str, Any] = dict(last_error_at=now, last_error=message)
    if error.rate_limit:
        channel["rate_limit"] = error.rate_limit
    outcome: Outcome
    if isinstance(error, UnknownOutcomeError):
        outcome = Outcome.UNKNOWN
        attempt["status"], post["status"] = AttemptStatus.UNKNOWN, PostStatus.UNKNOWN
    elif isinstance(error, AuthExpiredError):
        outcome = Outcome.NEEDS_REAUTH
        attempt["status"], post["status"] = AttemptStatus.FAILED, PostStatus.NEEDS_REAUTH
        channel.update(status=ChannelStatus.NEEDS_REAUTH, status_reason=message)
    elif isinstance(error, RateLimitedError):
        # Rate limits do not use up the attempt budget: the platform told us when.
        outcome = Outcome.RETRY_WAIT
        reset_at = error.reset_at or now + timedelta(seconds=settings.rate_limit_fallback_seconds)
        attempt["status"], post["status"] = AttemptStatus.RETRY, PostStatus.RETRY_WAIT
        post["next_attempt_at"] = _due(now, 1, settings=settings, reset_at=reset_at, rng=rng)
        channel["rate_limited_until"] = error.reset_at
    elif isinstance(error, RetryableError) and attempt_number < settings.max_attempts:
        outcome = Outcome.RETRY_WAIT
        attempt["status"], post["status"] = AttemptStatus.RETRY, PostStatus.RETRY_WAIT
        post["next_attempt_at"] = _due(now, attempt_number, settings=settings, rng=rng)
    else:
        outcome = Outcome.DRAFT if to_draft else Outcome.FAILED
        attempt["status"] = AttemptStatus.FAILED
        post["status"] = PostStatus.DRAFT if to_draft else PostStatus.FAILED
        if isinstance(error, RetryableError):
            post["last_error"] = clip_text(
                f"Gave up after {attempt_number} attempts. Last error: {message}"
            )
    return OutcomeDecision(
        outcome=outcome,
        error_class=error.error_class,
        attempt=attempt,
        post=post,
        channel=channel,
        attempt_from=(AttemptStatus.STARTED.value,),
        post_from=(PostStatus.PUBLISHING.value,),
        hold_channel_posts=outcome is Outcome.NEEDS_REAUTH,
    )


def _published(
    result: PublishResult, *, now: datetime, last_success_at: datetime | None
) -> OutcomeDecision:
    since = now - SUCCESS_REFRESH
    return OutcomeDecision(
        outcome=Outcome.PUBLISHED,
        error_class=None,
        attempt=dict(
            finished_at=now,
            status=AttemptStatus.SUCCEEDED,
            http_status=result.http_status,
            rate_limit=result.rate_limit,
            external_id=result.external_id,
            message="published",
        ),
        post=dict(
            lease_until=None,
            updated_at=now,
            status=PostStatus.PUBLISHED,
            external_id=result.external_id,
            external_url=result.external_url,
            published_at=now,
            last_error=None,
            next_attempt_at=None,
        ),
        channel={},
        # A late success is still recorded after the reaper declared the attempt unknown, and
        # over a post the reaper or reconciliation moved to unknown / needs_review.
        attempt_from=(AttemptStatus.STARTED.value, AttemptStatus.UNKNOWN.value),
        post_from=(
            PostStatus.PUBLISHING.value,
            PostStatus.UNKNOWN.value,
            PostStatus.NEEDS_REVIEW.value,
        ),
        # Every success on a channel would otherwise update (and lock) the same row and
        # serialise the workers; a few seconds of staleness in channel health is fine.
        touch_channel=last_success_at is None or last_success_at < since,
        success_rate_limit=result.rate_limit,
        since=since,
    )


def _due(
    now: datetime,
    attempt: int,
    *,
    settings: Settings,
    reset_at: datetime | None = None,
    rng: random.Random | None,
) -> datetime:
    return next_attempt_at(
        now,
        attempt,
        base=settings.backoff_base_seconds,
        cap=settings.backoff_max_seconds,
        reset_at=reset_at,
        rng=rng,
    )
