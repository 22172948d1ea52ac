"""Shared service state: the newsroom's kill switch and the heartbeats health checks read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from scheduler.models import ServiceState, utcnow
from scheduler.ops.audit import record_audit

GLOBAL_PAUSE = "global_pause"
DISPATCHER_HEARTBEAT = "heartbeat:dispatcher"
WORKER_HEARTBEAT_PREFIX = "heartbeat:worker:"


def put_state(*, session: Session, key: str, value: dict[str, Any]) -> None:
    """Insert or replace a state row."""
    row = session.get(ServiceState, key)
    if row is None:
        session.add(ServiceState(key=key, value=value, updated_at=utcnow()))
    else:
        row.value = value
        row.updated_at = utcnow()
        session.add(row)


def pause_in_force(value: dict[str, Any] | None, now: datetime) -> bool:
    """Whether a stored kill-switch value holds at ``now`` (an expired pause lifts itself)."""
    if not value or not value.get("active"):
        return False
    until = value.get("until")
    return not (until and datetime.fromisoformat(until) <= now)


def global_pause(*, session: Session, now: datetime | None = None) -> dict[str, Any] | None:
    """The active kill switch (who, why, since, until) or None; expired pauses lift themselves."""
    row = session.get(ServiceState, GLOBAL_PAUSE)
    if row is None or not pause_in_force(row.value, now or utcnow()):
        return None
    return dict(row.value)


def set_global_pause(
    *, session: Session, actor: str, reason: str, until: datetime | None = None
) -> dict[str, Any]:
    """Turn the kill switch on: nothing is dispatched until it is lifted or ``until`` passes."""
    value = {
        "active": True,
        "reason": reason,
        "by": actor,
        "since": utcnow().isoformat(),
        "until": until.isoformat() if until else None,
    }
    put_state(session=session, key=GLOBAL_PAUSE, value=value)
    record_audit(session=session, actor=actor, action="pause.on", detail=reason, after=value)
    return value


def lift_global_pause(*, session: Session, actor: str) -> None:
    """Turn the kill switch off."""
    before = global_pause(session=session) or {}
    put_state(session=session, key=GLOBAL_PAUSE, value={"active": False})
    record_audit(session=session, actor=actor, action="pause.off", before=before)


def beat(*, session: Session, key: str, info: dict[str, Any] | None = None) -> None:
    """Record that a process is alive."""
    put_state(session=session, key=key, value={"at": utcnow().isoformat(), **(info or {})})


def heartbeats(*, session: Session, prefix: str) -> dict[str, datetime]:
    """Last beat per key under ``prefix``."""
    rows = session.execute(
        sa.select(ServiceState.key, ServiceState.updated_at).where(  # type: ignore[call-overload]
            sa.column("key").like(prefix + "%")
        )
    ).all()
    return {k: v for k, v in rows}
