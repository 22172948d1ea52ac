"""Failures reach a person: alert conditions, grouped into one state row per (condition,
subject), sent on open, reminded at most every ``alerts.reminder_minutes``, resolved once.

Every ~30 s the ticker calls :func:`alert_tick`.  It reads the conditions with a handful of
cheap queries (:func:`current_findings`), folds them into ``alert_state``
(:func:`record_findings`), then sends what is due (:func:`send_due`).  A send is claimed with a
compare-and-set on the row (``UPDATE … WHERE sends = <read value>``), so several scheduler
replicas never send the same message twice; the claim is committed before the message leaves,
so a crash between the two loses at most one message rather than repeating it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from config import Settings
from config.settings import AlertSettings
from scheduler.access.token_warnings import token_warnings
from scheduler.db.engine import session_scope
from scheduler.models import Channel, ChannelStatus, Post, PostStatus, utcnow
from scheduler.ops.alert_models import AlertState
from scheduler.ops.alerts_delivery import AlertMessage, deliver
from scheduler.ops.health import (
    FAILING_STREAK,
    WORKER_SILENCE,
    dispatcher_silence,
    recent_attempts,
)
from scheduler.ops.state import (
    DISPATCHER_HEARTBEAT,
    WORKER_HEARTBEAT_PREFIX,
    global_pause,
    heartbeats,
)
from scheduler.runtime.logs import get_logger

log = get_logger(__name__)

CHANNEL_FAILING = "channel_failing"
CHANNEL_REAUTH = "channel_reauth"
TOKEN_EXPIRING = "token_expiring"  # noqa: S105  (a condition name)
NEEDS_REVIEW = "needs_review"
KILL_SWITCH = "kill_switch"
DISPATCHER_STALLED = "dispatcher_stalled"
WORKERS_STALLED = "workers_stalled"

#: What a page shows for each condition.
CONDITION_LABELS = {
    CHANNEL_FAILING: "Channel failing",
    CHANNEL_REAUTH: "Channel needs reconnect",
    TOKEN_EXPIRING: "Token expiring",
    NEEDS_REVIEW: "Posts need review",
    KILL_SWITCH: "Kill switch on",
    DISPATCHER_STALLED: "Dispatcher stalled",
    WORKERS_STALLED: "Workers stalled",
}


@dataclass(frozen=True)
class Finding:
    """A condition that holds now; ``key`` groups every occurrence into one alert."""

    condition: str
    subject: str
    text: str
    count: int = 1

    @property
    def key(self) -> str:
        return f"{self.condition}:{self.subject}" if self.subject else self.condition


def _channel_findings(session: Session) -> list[Finding]:
    """Failing and needs-reconnect channels: two queries (channels, grouped recent attempts)."""
    channels = session.execute(
        sa.select(col(Channel.id), col(Channel.name), col(Channel.status))
    ).all()
    recent = recent_attempts(session=session)
    found = []
    for cid, name, status in channels:
        if status == ChannelStatus.NEEDS_REAUTH:
            text = f"Channel {name} needs reconnecting: the platform refuses its login."
            found.append(Finding(CHANNEL_REAUTH, str(cid), text))
            continue
        streak = recent[cid].failures_since_success if cid in recent else 0
        if streak >= FAILING_STREAK:
            text = f"Channel {name} is failing: its last {streak} delivery attempts failed."
            found.append(Finding(CHANNEL_FAILING, str(cid), text, streak))
    return found


def _review_findings(session: Session) -> list[Finding]:
    """Posts in ``needs_review``, one finding per channel with the count."""
    rows = session.execute(
        sa.select(col(Post.channel_id), col(Channel.name), sa.func.count())
        .join(Channel, col(Channel.id) == col(Post.channel_id))
        .where(col(Post.status) == PostStatus.NEEDS_REVIEW.value)
        .group_by(col(Post.channel_id), col(Channel.name))
    ).all()
    return [
        Finding(
            NEEDS_REVIEW,
            str(cid),
            f"{n} post{'s' if n != 1 else ''} on {name} need{'s' if n == 1 else ''} review "
            "(the outcome is unknown; check the account).",
            int(n),
        )
        for cid, name, n in rows
    ]


def _process_findings(session: Session, *, settings: Settings, now: datetime) -> list[Finding]:
    """The kill switch and stalled processes (a process that has beaten before and stopped)."""
    found = []
    pause = global_pause(session=session, now=now)
    if pause:
        text = f"The kill switch is on (by {pause.get('by')}: {pause.get('reason')})."
        found.append(Finding(KILL_SWITCH, "", text))
    last = heartbeats(session=session, prefix=DISPATCHER_HEARTBEAT).get(DISPATCHER_HEARTBEAT)
    if last is not None and now - last > dispatcher_silence(settings):
        age = int((now - last).total_seconds())
        found.append(Finding(DISPATCHER_STALLED, "", f"The dispatcher last ticked {age} s ago."))
    workers = heartbeats(session=session, prefix=WORKER_HEARTBEAT_PREFIX)
    if workers and all(now - at > WORKER_SILENCE for at in workers.values()):
        age = int((now - max(workers.values())).total_seconds())
        text = f"No worker has answered for {age} s."
        found.append(Finding(WORKERS_STALLED, "", text))
    return found


def current_findings(
    *, engine: Engine, settings: Settings, now: datetime | None = None
) -> list[Finding]:
    """Every alert condition that holds at ``now``."""
    now = now or utcnow()
    with session_scope(engine) as s:
        found = _channel_findings(s) + _review_findings(s)
        found += _process_findings(s, settings=settings, now=now)
        conn = s.connection()
        found += [
            Finding(TOKEN_EXPIRING, str(w.channel_id), w.words + ".")
            for w in token_warnings(conn, settings=settings, now=now)
        ]
    return found


def record_findings(*, engine: Engine, findings: list[Finding], now: datetime) -> None:
    """Open (or reopen) a row per finding, refresh open rows, resolve rows no longer found."""
    keys = {f.key for f in findings}
    for finding in findings:
        _open_or_refresh(engine, finding, now)
    with session_scope(engine) as s:
        open_keys = s.exec(select(AlertState.key).where(col(AlertState.resolved_at).is_(None)))
        gone = [k for k in open_keys.all() if k not in keys]
        if gone:
            s.execute(
                sa.update(AlertState)
                .where(col(AlertState.key).in_(gone), col(AlertState.resolved_at).is_(None))
                .values(resolved_at=now)
            )


def _open_or_refresh(engine: Engine, finding: Finding, now: datetime) -> None:
    values = {"text": finding.text[:2000], "count": finding.count, "last_seen": now}
    reopen: dict[str, object] = {
        "first_seen": now,
        "last_sent": None,
        "resolved_at": None,
        "resolved_sent_at": None,
    }
    with session_scope(engine) as s:
        row = s.get(AlertState, finding.key)
        if row is not None:
            # A resolved alert that comes back after its "resolved" went out is a new
            # occurrence, announced again; one that comes back before that simply stays open
            # (a flapping condition does not send open/resolved pairs every tick).
            extra: dict[str, object] = {}
            if row.resolved_at is not None:
                extra = reopen if row.resolved_sent_at is not None else {"resolved_at": None}
            s.execute(
                sa.update(AlertState)
                .where(col(AlertState.key) == finding.key)
                .values(**values, **extra)
            )
            return
    try:
        with session_scope(engine) as s:
            s.add(
                AlertState(
                    key=finding.key,
                    condition=finding.condition,
                    subject=finding.subject,
                    text=finding.text[:2000],
                    count=finding.count,
                    first_seen=now,
                    last_seen=now,
                )
            )
    except IntegrityError:
        pass  # another replica opened it a moment ago; its row is as good as ours


def _claim(engine: Engine, row: AlertState, now: datetime, *, resolved: bool) -> bool:
    """Compare-and-set: exactly one replica's UPDATE matches ``sends`` as it was read."""
    where = [col(AlertState.key) == row.key, col(AlertState.sends) == row.sends]
    values: dict[str, object] = {"sends": row.sends + 1}
    if resolved:
        where.append(col(AlertState.resolved_sent_at).is_(None))
        values["resolved_sent_at"] = now
    else:
        where.append(col(AlertState.resolved_at).is_(None))
        values["last_sent"] = now
    with session_scope(engine) as s:
        result = s.execute(sa.update(AlertState).where(*where).values(**values))
        return bool(result.rowcount)  # type: ignore[attr-defined]


def due_messages(
    *, engine: Engine, settings: AlertSettings, now: datetime
) -> list[tuple[AlertState, str]]:
    """Rows with a message due: never sent, reminder due, or resolved after being sent."""
    remind_before = now - timedelta(minutes=settings.reminder_minutes)
    a = AlertState
    with session_scope(engine) as s:
        rows = s.exec(
            select(a).where(
                sa.or_(
                    sa.and_(col(a.resolved_at).is_(None), col(a.last_sent).is_(None)),
                    sa.and_(col(a.resolved_at).is_(None), col(a.last_sent) <= remind_before),
                    sa.and_(
                        col(a.resolved_at).is_not(None),
                        col(a.last_sent).is_not(None),
                        col(a.resolved_sent_at).is_(None),
                    ),
                )
            )
        ).all()
        s.expunge_all()
    due = []
    for row in rows:
        if row.resolved_at is not None:
            due.append((row, "resolved"))
        else:
            due.append((row, "open" if row.last_sent is None else "reminder"))
    return due


def send_due(
    *,
    engine: Engine,
    settings: AlertSettings,
    now: datetime,
    client: httpx.Client | None = None,
) -> list[AlertMessage]:
    """Claim and send every due message; returns the ones this replica sent."""
    due = due_messages(engine=engine, settings=settings, now=now)
    return send_messages(engine=engine, settings=settings, due=due, now=now, client=client)


def send_messages(
    *,
    engine: Engine,
    settings: AlertSettings,
    due: list[tuple[AlertState, str]],
    now: datetime,
    client: httpx.Client | None = None,
) -> list[AlertMessage]:
    """Send ``due`` (as read by :func:`due_messages`, possibly by several replicas at once):
    each row is claimed first, so a message another replica already claimed is skipped."""
    sent: list[AlertMessage] = []
    for row, kind in due:
        if not _claim(engine, row, now, resolved=kind == "resolved"):
            continue  # another replica claimed it first
        text = row.text if kind != "resolved" else f"{row.text} Now resolved."
        message = AlertMessage(row.key, row.condition, kind, text, row.count)
        where, errors = deliver(settings=settings, message=message, client=client)
        with session_scope(engine) as s:
            s.execute(
                sa.update(AlertState)
                .where(col(AlertState.key) == row.key)
                .values(sent_to=", ".join(where), last_error="; ".join(errors)[:500] or None)
            )
        log.info("alert_sent", key=row.key, kind=kind, to=where)
        sent.append(message)
    return sent


def alert_tick(
    *,
    engine: Engine,
    settings: Settings,
    now: datetime | None = None,
    client: httpx.Client | None = None,
) -> list[AlertMessage]:
    """One evaluation: read the conditions, update the state table, send what is due."""
    now = now or utcnow()
    findings = current_findings(engine=engine, settings=settings, now=now)
    record_findings(engine=engine, findings=findings, now=now)
    return send_due(engine=engine, settings=settings.alerts, now=now, client=client)


def alert_history(*, session: Session, limit: int = 100) -> list[AlertState]:
    """Open alerts first, then the most recently resolved; newest first within each."""
    return list(
        session.exec(
            select(AlertState)
            .order_by(
                col(AlertState.resolved_at).is_not(None),
                col(AlertState.resolved_at).desc(),
                col(AlertState.first_seen).desc(),
            )
            .limit(limit)
        ).all()
    )
