"""The rules of reconciliation, as a pure decision: no database, no I/O.

Never a blind retry: only a platform answer of "not there" sends the post back to the queue.
What the check of an ``unknown`` post ended in decides the rest:

==============================  =============  =============================================
the check ended in              outcome        post
==============================  =============  =============================================
found                           published      published; the latest unknown attempt succeeded
proven absent, budget left      retry_wait     retry_wait with back-off (an ordinary retry)
proven absent, budget used up   failed         failed ("Gave up after N attempts; …")
an answer that cannot settle    needs_review   needs_review: a person checks the account
the platform failing (5xx,      unknown        unknown; checked again after an exponential
timeout, rate limit, no JSON)                  back-off (never before a rate-limit reset)
the token refused               needs_reauth   unknown, its channel ``needs_reauth``: checked
                                               again once the channel is reconnected
the question refused (4xx)      needs_review   needs_review, with the platform's words
==============================  =============  =============================================

A platform outage never escalates to a person, however long it lasts: the post waits, and the
reason it waits says when the next check is.  :mod:`scheduler.delivery.reconcile` asks and
writes the decision.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from adapters.base import ReconcileResult
from adapters.errors import (
    AuthExpiredError,
    DeliveryError,
    RateLimitedError,
    RetryableError,
    UnknownOutcomeError,
)
from config import Settings
from scheduler.delivery.backoff import next_attempt_at
from scheduler.models import AttemptStatus, PostStatus, clip_text
from scheduler.runtime.logs import redact

PLATFORM_NAMES = {"x": "X", "instagram": "Instagram", "facebook": "Facebook"}
#: ``platform_state`` keys: every check made, and the checks in a row the platform failed.
TRIES_KEY = "reconcile_tries"
OUTAGES_KEY = "reconcile_outages"


@dataclass(frozen=True)
class ReconcileDecision:
    """The post's new columns (written only if it is still ``unknown``) and its attempts' fate."""

    outcome: str
    post: dict[str, Any]
    #: The latest unknown attempt is confirmed published with these columns.
    confirm_attempt: dict[str, Any] | None = None
    #: The unknown attempts were proven not published: they become ordinary retries.
    attempts_not_published: bool = field(default=False)
    #: The platform refused the channel's token: the channel needs reconnecting, for this
    #: reason, and its waiting posts wait for that (as after a refused delivery).
    reauth_reason: str | None = None


def platform_failing(error: DeliveryError) -> bool:
    """Whether asking failed because the platform is failing (wait), not refusing (a person).

    Transport failures, retryable and rate-limit classes, any 5xx, and a 2xx that is not a
    usable answer: none says anything about the post, and each passes with time.
    """
    if isinstance(error, RetryableError | UnknownOutcomeError):
        return True
    status = error.http_status or 0
    return status >= 500 or 200 <= status < 300


def decide_reconcile(
    answer: ReconcileResult | DeliveryError,
    *,
    platform: str,
    tries: int,
    budget_used: int,
    state: dict[str, Any],
    last_error: str,
    settings: Settings,
    now: datetime,
    rng: random.Random | None = None,
) -> ReconcileDecision:
    """Decide what the platform's answer (or the error asking it) means; pure.

    ``tries`` counts this check among all the post's checks; ``budget_used`` the post's attempts
    that used the retry budget (``settings.max_attempts``).  ``state`` is the post's
    ``platform_state``; its ``reconcile_outages`` (checks in a row the platform failed) sets the
    back-off and is cleared by any answer.  ``rng`` only jitters the back-off.
    """
    name = PLATFORM_NAMES.get(platform, platform)
    if isinstance(answer, DeliveryError):
        if isinstance(answer, AuthExpiredError):
            return _reauth(answer, name=name, state={**state, TRIES_KEY: tries}, now=now)
        if platform_failing(answer):
            return _recheck(
                answer, name=name, tries=tries, state=state, settings=settings, now=now, rng=rng
            )
        refused = f"{name} refused to say: {redact(answer.message)}"
        return _needs_review(_settled(state, tries, now), refused)
    settled = _settled(state, tries, now)
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
    if answer.published is None:
        return _needs_review(settled, answer.detail)
    return _proven_absent(settled, budget_used, last_error, settings=settings, now=now, rng=rng)


def _settled(state: dict[str, Any], tries: int, now: datetime) -> dict[str, Any]:
    # The platform answered: the outage streak (if any) is over.
    new_state = {k: v for k, v in state.items() if k != OUTAGES_KEY}
    return dict(lease_until=None, platform_state={**new_state, TRIES_KEY: tries}, updated_at=now)


def _proven_absent(
    settled: dict[str, Any],
    budget_used: int,
    last_error: str,
    *,
    settings: Settings,
    now: datetime,
    rng: random.Random | None,
) -> ReconcileDecision:
    """Absence is proven: an ordinary retry with back-off, or failed once the budget is used.

    Never ``needs_review``: there is nothing left for a person to find out.
    """
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


def _recheck(
    error: DeliveryError,
    *,
    name: str,
    tries: int,
    state: dict[str, Any],
    settings: Settings,
    now: datetime,
    rng: random.Random | None,
) -> ReconcileDecision:
    """The platform is failing: stay ``unknown`` and ask again after an exponential back-off."""
    outages = int(state.get(OUTAGES_KEY, 0)) + 1
    rate_limited = isinstance(error, RateLimitedError)
    due = next_attempt_at(
        now,
        outages,
        base=settings.backoff_base_seconds,
        cap=settings.backoff_max_seconds,
        # A rate limit says when to come back; asking earlier only prolongs it.
        reset_at=error.reset_at if isinstance(error, RateLimitedError) else None,
        rng=rng,
    )
    if error.http_status is not None:
        how = f"HTTP {error.http_status}"
    else:
        cause = error.__cause__
        how = f"no answer: {type(cause).__name__}" if cause is not None else "no answer"
    doing = "is rate-limiting newsrelay" if rate_limited else "is failing"
    message = (
        f"{name} {doing} ({how}); checking again at {due:%H:%M:%S} UTC whether the post went "
        f"out. It is not sent again until {name} answers."
    )
    if error.http_status is not None:  # the platform's own words; ours add nothing here
        message = f"{message} {name} said: {redact(error.message)}"
    post = dict(
        platform_state={**state, TRIES_KEY: tries, OUTAGES_KEY: outages},
        # The reconcile claim takes only posts whose lease is over: the lease is the back-off.
        lease_until=due,
        last_error=clip_text(message),
        updated_at=now,
    )
    return ReconcileDecision("unknown", post)


def _reauth(
    error: AuthExpiredError, *, name: str, state: dict[str, Any], now: datetime
) -> ReconcileDecision:
    """The token was refused: the channel needs reconnecting; the post stays ``unknown``.

    The post itself does not become ``needs_reauth``: reconnecting a channel sends its
    ``needs_reauth`` posts again, and this one may already be live.
    """
    detail = clip_text(redact(error.message)) or ""
    message = (
        f"{name} refused the channel's credentials while newsrelay checked whether the post "
        f"went out: {detail} Reconnect the channel; the post is checked again then, and is not "
        "sent again before that."
    )
    post = dict(
        platform_state=state, lease_until=None, last_error=clip_text(message), updated_at=now
    )
    return ReconcileDecision("needs_reauth", post, reauth_reason=detail)


def _needs_review(settled: dict[str, Any], detail: str) -> ReconcileDecision:
    message = (
        "Could not prove whether the post was published; a person must check the account "
        f"before retrying. {detail}"
    ).strip()
    return ReconcileDecision(
        "needs_review",
        dict(settled, status=PostStatus.NEEDS_REVIEW, last_error=clip_text(message)),
    )
