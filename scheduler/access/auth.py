"""API keys (hashed) and web users (scrypt passwords): creation and verification."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col, select

from scheduler.models import ApiKey, Role, User, WebSession, utcnow
from scheduler.ops.audit import record_audit

KEY_PREFIX = "nrk_"
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


@dataclass(frozen=True)
class Principal:
    """Who is calling: an API key or a logged-in user, with a role."""

    name: str
    role: Role
    kind: str  # "key" | "user"

    @property
    def actor(self) -> str:
        return f"{self.kind}:{self.name}"


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_api_key(*, session: Session, name: str, role: Role, actor: str = "cli") -> str:
    """Create a key and return it; it is shown once and stored only as a hash."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(name=name, role=role, prefix=key[:12], key_hash=_key_hash(key))
    session.add(row)
    session.flush()
    record_audit(
        session=session,
        actor=actor,
        action="key.create",
        after={"name": name, "role": str(role), "prefix": row.prefix},
    )
    return key


def verify_api_key(*, session: Session, key: str) -> Principal | None:
    """The principal of a valid, unrevoked key, or None."""
    if not key.startswith(KEY_PREFIX) or len(key) > 200:
        return None
    digest = _key_hash(key)
    candidates = session.exec(
        select(ApiKey).where(col(ApiKey.prefix) == key[:12], col(ApiKey.revoked_at).is_(None))
    ).all()
    for row in candidates:
        if hmac.compare_digest(row.key_hash, digest):
            row.last_used_at = utcnow()
            session.add(row)
            return Principal(name=row.name, role=Role(row.role), kind="key")
    return None


def hash_password(password: str) -> str:
    """scrypt with a random salt, encoded as ``scrypt$<salt>$<hash>``."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, **_SCRYPT)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def check_password(password: str, stored: str) -> bool:
    """Constant-time comparison against a stored scrypt hash."""
    try:
        _, salt_b64, hash_b64 = stored.split("$")
        salt, expected = base64.b64decode(salt_b64), base64.b64decode(hash_b64)
    except ValueError:
        return False
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, **_SCRYPT)
    return hmac.compare_digest(digest, expected)


def create_user(
    *,
    session: Session,
    username: str,
    password: str,
    role: Role,
    actor: str = "cli",
    display_name: str | None = None,
) -> User:
    """Create a web UI user; passwords shorter than 10 characters are refused.  The display
    name ("Aisha Khan") is what pages show for the person; it defaults to the username."""
    if len(password) < 10:
        raise ValueError("password: must be at least 10 characters")
    name = " ".join((display_name or "").split()) or username
    if len(name) > 200:
        raise ValueError(f"name: at most 200 characters, got {len(name)}")
    if session.exec(select(User).where(col(User.username) == username)).first():
        raise ValueError(f"username: {username!r} already exists")
    user = User(
        username=username, display_name=name, password_hash=hash_password(password), role=role
    )
    session.add(user)
    session.flush()
    record_audit(
        session=session,
        actor=actor,
        action="user.create",
        after={"username": username, "name": name, "role": str(role)},
    )
    return user


# A real scrypt hash of a random password nobody kept: verifying against it costs the same as
# checking a known user's password, so an unknown username is not answered faster.
_DUMMY_HASH = "scrypt$OwTkc1GOCwEbuVk5e/bmRg==$VkvrSz5OWqtVy58TtzDK3MOuC8agD0Sx7VoN98GmIJE="


def authenticate_user(*, session: Session, username: str, password: str) -> User | None:
    """The user if the password matches and the account is enabled.

    Exactly one scrypt verification per call whether or not the user exists or is disabled.
    """
    user = session.exec(select(User).where(col(User.username) == username)).first()
    if user is None or user.disabled:
        check_password(password, _DUMMY_HASH)
        return None
    if not check_password(password, user.password_hash):
        return None
    user.last_login_at = utcnow()
    session.add(user)
    return user


def end_user_sessions(*, session: Session, user_id: uuid.UUID) -> int:
    """Delete every web session of one user (they must sign in again); how many there were."""
    result = session.execute(sa.delete(WebSession).where(col(WebSession.user_id) == user_id))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _user_named(session: Session, username: str) -> User:
    user = session.exec(select(User).where(col(User.username) == username)).first()
    if user is None:
        raise ValueError(f"username: no user {username!r}")
    return user


def set_user_password(*, session: Session, username: str, password: str, actor: str) -> User:
    """Change a user's password and end all their sessions (10 characters at least)."""
    if len(password) < 10:
        raise ValueError("password: must be at least 10 characters")
    user = _user_named(session, username)
    user.password_hash = hash_password(password)
    session.add(user)
    ended = end_user_sessions(session=session, user_id=user.id)
    record_audit(
        session=session,
        actor=actor,
        action="user.password",
        after={"username": username, "sessions_ended": ended},
    )
    return user


def set_user_disabled(*, session: Session, username: str, disabled: bool, actor: str) -> User:
    """Disable (revoke) or re-enable a user; disabling ends all their sessions."""
    user = _user_named(session, username)
    before = {"disabled": user.disabled}
    user.disabled = disabled
    session.add(user)
    ended = end_user_sessions(session=session, user_id=user.id) if disabled else 0
    record_audit(
        session=session,
        actor=actor,
        action="user.disable" if disabled else "user.enable",
        before=before,
        after={"username": username, "disabled": disabled, "sessions_ended": ended},
    )
    return user
