"""Health: is each part of the pipeline alive?  A queue that silently stops must turn red, and
so must a channel whose deliveries all fail while its status still says "active".

Readiness checks the pipeline (database, broker, dispatcher, workers); :func:`channel_health`
derives each channel's health from its status and its recent delivery attempts.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from adapters.errors import RATE_LIMIT_CLASSES
from config import Settings
from scheduler.db.engine import session_scope
from scheduler.models import AttemptStatus, ChannelStatus, DeliveryAttempt, utcnow
from scheduler.ops.state import DISPATCHER_HEARTBEAT, WORKER_HEARTBEAT_PREFIX, heartbeats

WORKER_SILENCE = timedelta(seconds=60)


@dataclass(frozen=True)
class Check:
    """One readiness check and what it found."""

    name: str
    ok: bool
    detail: str


def dispatcher_silence(settings: Settings) -> timedelta:
    """How long without a dispatcher tick counts as stopped (a few intervals)."""
    return timedelta(seconds=max(10.0, settings.dispatch_interval * 5))


def check_database(engine: Engine) -> Check:
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return Check("database", True, "reachable")
    except Exception as exc:
        return Check("database", False, f"unreachable: {type(exc).__name__}")


def check_broker(settings: Settings) -> Check:
    from kombu.connection import Connection

    url = settings.resolved_broker_url.removeprefix("sqla+")
    kw = {"transport": "workers.broker:Transport"} if settings.embedded_broker else {}
    try:
        with Connection(url, connect_timeout=2, **kw) as conn:  # type: ignore[no-untyped-call]
            conn.ensure_connection(max_retries=1, timeout=2)
        return Check("broker", True, "reachable")
    except Exception as exc:
        return Check("broker", False, f"unreachable: {type(exc).__name__}")


def check_dispatcher(engine: Engine, settings: Settings) -> Check:
    try:
        with session_scope(engine) as s:
            beats = heartbeats(session=s, prefix=DISPATCHER_HEARTBEAT)
    except Exception as exc:
        return Check("dispatcher", False, f"cannot read heartbeat: {type(exc).__name__}")
    last = beats.get(DISPATCHER_HEARTBEAT)
    if last is None:
        return Check("dispatcher", False, "the dispatcher has never ticked (no scheduler running)")
    age = utcnow() - last
    if age > dispatcher_silence(settings):
        return Check("dispatcher", False, f"last tick {int(age.total_seconds())} s ago")
    return Check("dispatcher", True, f"last tick {age.total_seconds():.1f} s ago")


def check_workers(engine: Engine) -> Check:
    try:
        with session_scope(engine) as s:
            beats = heartbeats(session=s, prefix=WORKER_HEARTBEAT_PREFIX)
    except Exception as exc:
        return Check("workers", False, f"cannot read heartbeats: {type(exc).__name__}")
    now = utcnow()
    alive = [k for k, at in beats.items() if now - at <= WORKER_SILENCE]
    if not alive:
        return Check("workers", False, "no worker has answered within a minute")
    return Check("workers", True, f"{len(alive)} worker(s) alive")


def readiness(engine: Engine, settings: Settings) -> list[Check]:
    """Every readiness check, in pipeline order."""
    db = check_database(engine)
    checks = [db, check_broker(settings)]
    if db.ok:
        checks += [check_dispatcher(engine, settings), check_workers(engine)]
    return checks


# --- Channel health ------------------------------------------------------------------------

#: How many of a channel's newest finished attempts its health looks at, and how far back.
RECENT_ATTEMPTS = 10
RECENT_WINDOW = timedelta(hours=24)
#: This many failures in a row, with no success since the first of them, is "failing".
FAILING_STREAK = 3
_WINDOW_WORDS = f"{int(RECENT_WINDOW.total_seconds() // 3600)} hours"
#: Attempt outcomes that count: superseded attempts never ran, enqueued/started are not done.
FINISHED = (
    AttemptStatus.SUCCEEDED,
    AttemptStatus.FAILED,
    AttemptStatus.RETRY,
    AttemptStatus.UNKNOWN,
)


class ChannelHealthState(StrEnum):
    """A channel's health, worst first; what ops should look at, not only what it is set to."""

    NEEDS_RECONNECT = "needs_reconnect"
    FAILING = "failing"
    RATE_LIMITED = "rate_limited"
    PAUSED = "paused"
    DEGRADED = "degraded"
    ACTIVE = "active"


HEALTH_LABELS = {
    ChannelHealthState.NEEDS_RECONNECT: "Needs reconnect",
    ChannelHealthState.FAILING: "Failing",
    ChannelHealthState.RATE_LIMITED: "Rate limited",
    ChannelHealthState.PAUSED: "Paused",
    ChannelHealthState.DEGRADED: "Degraded",
    ChannelHealthState.ACTIVE: "Active",
}


class HealthSummary(BaseModel):
    """What a channel's recent deliveries say, in a word and a sentence."""

    state: Literal["needs_reconnect", "failing", "rate_limited", "paused", "degraded", "active"] = (
        Field(description="Worst first; derived from the status and the recent attempts")
    )
    label: str = Field(description="The state in words, for people")
    detail: str = Field(description="Why, in a sentence")
    recent_attempts: int = Field(description="Newest finished attempts looked at (at most 10)")
    recent_failures: int
    failures_since_success: int = Field(
        description="Failures newer than the last success (rate limits are not failures)"
    )
    recent_rate_limited: int = Field(
        default=0, description="Recent attempts the platform rate-limited (not failures)"
    )
    token_warning: str | None = Field(
        default=None,
        description="The token expires within 7 days and cannot renew itself: reconnect",
    )
    token_status: str | None = Field(
        default=None, description='The same, short: "Token expires in 5 days"'
    )


@dataclass(frozen=True)
class RecentAttempts:
    """A channel's newest finished attempts (at most ``RECENT_ATTEMPTS``, within the window).

    A rate-limit outcome (the platform said "wait until …") is counted in ``rate_limited``,
    not as a failure: a channel that is only being throttled is rate limited, not failing.
    """

    attempts: int = 0
    failures: int = 0
    failures_since_success: int = 0  # failures among the attempts newer than the last success
    rate_limited: int = 0


def recent_attempts(
    *, session: Session, channel_id: uuid.UUID | None = None, now: datetime | None = None
) -> dict[uuid.UUID, RecentAttempts]:
    """Every channel's (or one channel's) recent attempts, in one grouped query.

    The window on ``created_at`` is a range scan of ``ix_attempt_created``; the newest
    ``RECENT_ATTEMPTS`` per channel are picked with ``row_number()``, each marked with the
    successes at or before it (newest first), and summed per channel.
    Channels without a finished attempt in the window are absent.
    """
    a = DeliveryAttempt
    at = sa.func.coalesce(col(a.finished_at), col(a.created_at))
    where = [
        col(a.created_at) >= (now or utcnow()) - RECENT_WINDOW,
        col(a.status).in_([s.value for s in FINISHED]),
    ]
    if channel_id is not None:
        where.append(col(a.channel_id) == channel_id)
    newest_first = (at.desc(), col(a.number).desc())
    ok = col(a.status) == AttemptStatus.SUCCEEDED.value
    ranked = (
        sa.select(
            col(a.channel_id).label("channel_id"),
            col(a.status).label("status"),
            sa.case(
                (ok, "ok"),
                (col(a.error_class).in_(sorted(RATE_LIMIT_CLASSES)), "throttled"),
                else_="failed",
            ).label("kind"),
            sa.func.row_number()
            .over(partition_by=col(a.channel_id), order_by=newest_first)
            .label("rn"),
            sa.func.sum(sa.case((ok, 1), else_=0))
            .over(partition_by=col(a.channel_id), order_by=newest_first, rows=(None, 0))
            .label("oks_before"),
        )
        .where(*where)
        .subquery()
    )
    failed, throttled = ranked.c.kind == "failed", ranked.c.kind == "throttled"
    rows = session.execute(
        sa.select(
            ranked.c.channel_id,
            sa.func.count(),
            sa.func.sum(sa.case((failed, 1), else_=0)),
            sa.func.sum(sa.case((sa.and_(failed, ranked.c.oks_before == 0), 1), else_=0)),
            sa.func.sum(sa.case((throttled, 1), else_=0)),
        )
        .where(ranked.c.rn <= RECENT_ATTEMPTS)
        .group_by(ranked.c.channel_id)
    ).all()
    return {
        cid: RecentAttempts(
            attempts=int(n),
            failures=int(failures or 0),
            failures_since_success=int(streak or 0),
            rate_limited=int(limited or 0),
        )
        for cid, n, failures, streak, limited in rows
    }


def channel_health(
    *,
    status: str,
    rate_limited_until: datetime | None,
    recent: RecentAttempts,
    now: datetime | None = None,
    token_warning: str | None = None,
    token_status: str | None = None,
) -> HealthSummary:
    """A channel's health state with a label and a sentence in words, and the figures behind it.

    Precedence, worst first: the platform refuses the login (needs reconnect); the newest
    ``FAILING_STREAK`` or more attempts all failed (failing); the platform asked us to wait
    (rate limited); a person paused it (paused); some recent attempts failed (degraded); active.
    Rate-limit outcomes are not failures (a throttled channel is rate limited, not failing);
    once the limit has reset they still make it "degraded".  ``token_warning`` (a token that
    expires within days and cannot renew itself, in words; ``token_status`` is the short form)
    is shown whatever the state: it is what a person must do before the channel breaks.
    """
    now = now or utcnow()
    streak, failures, total = recent.failures_since_success, recent.failures, recent.attempts
    if status == ChannelStatus.NEEDS_REAUTH:
        state = ChannelHealthState.NEEDS_RECONNECT
        detail = "The platform no longer accepts this channel's login; reconnect it."
    elif streak >= FAILING_STREAK:
        state = ChannelHealthState.FAILING
        detail = f"The last {streak} delivery attempts failed, with no success since."
    elif rate_limited_until is not None and _aware(rate_limited_until) > now:
        state = ChannelHealthState.RATE_LIMITED
        detail = "The platform's rate limit is reached; deliveries wait for its reset."
    elif status == ChannelStatus.PAUSED:
        state = ChannelHealthState.PAUSED
        detail = "Paused by a person; its posts are held until it is resumed."
    elif failures:
        state = ChannelHealthState.DEGRADED
        detail = f"{failures} of the last {total} delivery attempts failed."
    elif recent.rate_limited:
        state = ChannelHealthState.DEGRADED
        n = recent.rate_limited
        were = "was" if n == 1 else "were"
        detail = (
            f"{n} of the last {total} delivery attempts {were} rate-limited; the limit has reset."
        )
    else:
        state = ChannelHealthState.ACTIVE
        detail = (
            f"The last {total} delivery attempts succeeded."
            if total
            else f"No delivery attempt finished in the last {_WINDOW_WORDS}."
        )
    return HealthSummary(
        state=state.value,
        label=HEALTH_LABELS[state],
        detail=detail,
        recent_attempts=total,
        recent_failures=failures,
        failures_since_success=streak,
        recent_rate_limited=recent.rate_limited,
        token_warning=token_warning,
        token_status=token_status,
    )


def _aware(value: datetime) -> datetime:
    # SQLite hands timestamps back naive; they are stored in UTC.
    return value if value.tzinfo else value.replace(tzinfo=utcnow().tzinfo)
