"""Health: is each part of the pipeline alive?  A queue that silently stops must turn red."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from config import Settings
from scheduler.db.engine import session_scope
from scheduler.models import utcnow
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
