"""Sign-in throttling per account and per address, in the database so that every API process
(and the embedded default, which has no Redis) sees the same counters.

Each key (``user:<name as typed>`` and ``addr:<client address>``) counts consecutive failures.
After the first few free ones, every further failure refuses that key for a delay that doubles
(5 s, 10 s, 20 s, ... up to 15 minutes); a refused attempt is answered without checking the
password.  A success clears the account's counter (not the address's: one good password must
not buy an address more guesses at other accounts).  Unknown usernames are counted like known
ones, so the throttle tells nothing about which accounts exist.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from scheduler.models import LoginThrottle, utcnow
from scheduler.ops.audit import record_audit

#: Failures allowed before the first delay: an address may be a whole newsroom behind NAT.
FREE_FAILURES = {"account": 5, "address": 20}
BASE_DELAY_SECONDS = 5
MAX_DELAY_SECONDS = 15 * 60
#: A counter untouched this long starts again from zero (and is pruned).
THROTTLE_MEMORY = timedelta(days=1)

_TABLE = LoginThrottle.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Refusal:
    """A sign-in refused without checking the password, and for how long."""

    scope: str  # "account" | "address"
    seconds: int

    @property
    def message(self) -> str:
        what = "this account" if self.scope == "account" else "your address"
        return f"Too many failed sign-ins for {what}; try again in {self.seconds} seconds."


def _keys(username: str, address: str) -> dict[str, str]:
    return {"account": f"user:{username}"[:200], "address": f"addr:{address}"[:200]}


def delay_after(failures: int, *, free: int) -> int:
    """Seconds a key is refused after its ``failures``-th consecutive failure."""
    if failures < free:
        return 0
    return min(MAX_DELAY_SECONDS, BASE_DELAY_SECONDS << min(failures - free, 20))


def login_refusal(
    *, session: Session, username: str, address: str, now: datetime | None = None
) -> Refusal | None:
    """The longest refusal in force for this account or address, or None to go ahead."""
    now = now or utcnow()
    keys = _keys(username, address)
    scope_of = {key: scope for scope, key in keys.items()}
    rows = session.exec(select(LoginThrottle).where(col(LoginThrottle.key).in_(keys.values())))
    refusals = [
        Refusal(scope_of[row.key], math.ceil((row.blocked_until - now).total_seconds()))
        for row in rows
        if row.blocked_until is not None and row.blocked_until > now
    ]
    return max(refusals, key=lambda r: r.seconds, default=None)


def _bump(session: Session, key: str, now: datetime) -> int:
    """Count one failure for ``key`` atomically (one upsert); the new count."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stale = _TABLE.c.updated_at < now - THROTTLE_MEMORY
    stmt = (
        insert(_TABLE)
        .values(key=key, failures=1, updated_at=now, blocked_until=None)
        .on_conflict_do_update(
            index_elements=["key"],
            set_={
                "failures": sa.case((stale, 1), else_=_TABLE.c.failures + 1),
                "updated_at": now,
            },
        )
        .returning(_TABLE.c.failures)
    )
    return int(session.execute(stmt).scalar_one())


def record_login_failure(
    *, session: Session, username: str, address: str, now: datetime | None = None
) -> Refusal | None:
    """Count a failed sign-in for the account and the address, and audit it.

    The audit actor is the address and the username as typed (never the password).  Returns
    the refusal the next attempt will meet, if this failure started one.
    """
    now = now or utcnow()
    refusals = []
    for scope, key in _keys(username, address).items():
        delay = delay_after(_bump(session, key, now), free=FREE_FAILURES[scope])
        if delay:
            until = now + timedelta(seconds=delay)
            session.execute(
                sa.update(_TABLE).where(_TABLE.c.key == key).values(blocked_until=until)
            )
            refusals.append(Refusal(scope, delay))
    record_audit(
        session=session,
        actor=f"login:{address}/{username}"[:200],
        action="user.login_failed",
        after={"username": username, "address": address},
    )
    return max(refusals, key=lambda r: r.seconds, default=None)


def clear_account_failures(*, session: Session, username: str) -> None:
    """Forget the account's failures after a successful sign-in."""
    session.execute(sa.delete(_TABLE).where(_TABLE.c.key == _keys(username, "")["account"]))
