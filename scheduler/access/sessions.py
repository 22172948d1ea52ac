"""Server-side web sessions: opened at sign-in, looked up on every page, ended at sign-out.

The browser holds a random 256-bit id; the ``web_session`` row is keyed by its SHA-256, so the
table itself signs nobody in.  A session is valid while its row exists, has not expired and its
user is enabled: signing out, disabling the user or changing their password deletes the row,
and a copied cookie stops working at once.  Sessions last 12 hours from sign-in (no sliding).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from scheduler.access.auth import Principal
from scheduler.access.throttle import THROTTLE_MEMORY
from scheduler.models import LoginThrottle, Role, User, WebSession, utcnow

SESSION_LIFETIME = timedelta(hours=12)  # one working shift; then sign in again


def session_key(token: str) -> str:
    """The stored key of a session id (its SHA-256; the id is random, so no slow hash)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def open_web_session(*, session: Session, user_id: uuid.UUID, now: datetime | None = None) -> str:
    """Start a session for a user and return its id (for the cookie only; never stored).

    Expired sessions and forgotten throttle counters are pruned here: sign-ins are rare, and
    both deletes use an index.
    """
    now = now or utcnow()
    prune_expired(session=session, now=now)
    token = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            id=session_key(token),
            user_id=user_id,
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
    )
    return token


def session_principal(
    *, session: Session, token: str, now: datetime | None = None
) -> Principal | None:
    """The signed-in user of a session id, or None if it is unknown, expired or disabled.

    One primary-key lookup joined to the user row: this runs on every page request.
    """
    if not token or len(token) > 100:
        return None
    row = session.exec(
        select(User.username, User.role)
        .join(WebSession, col(WebSession.user_id) == col(User.id))
        .where(
            col(WebSession.id) == session_key(token),
            col(WebSession.expires_at) > (now or utcnow()),
            sa.not_(col(User.disabled)),
        )
    ).first()
    if row is None:
        return None
    return Principal(name=row[0], role=Role(row[1]), kind="user")


def close_web_session(*, session: Session, token: str) -> None:
    """End one session (sign-out); an unknown id is a no-op."""
    session.execute(sa.delete(WebSession).where(col(WebSession.id) == session_key(token)))


def prune_expired(*, session: Session, now: datetime) -> None:
    """Delete expired sessions and throttle counters that no longer block and are stale."""
    session.execute(sa.delete(WebSession).where(col(WebSession.expires_at) <= now))
    session.execute(
        sa.delete(LoginThrottle).where(
            col(LoginThrottle.updated_at) < now - THROTTLE_MEMORY,
            sa.or_(
                col(LoginThrottle.blocked_until).is_(None), col(LoginThrottle.blocked_until) < now
            ),
        )
    )
