"""API key administration: issue, list and revoke (keys themselves live only as hashes)."""

from __future__ import annotations

import uuid

from pydantic import BaseModel
from sqlmodel import Session, col, select

from scheduler.access.auth import _key_hash, create_api_key
from scheduler.errors import NotFound
from scheduler.models import ApiKey, Role, utcnow
from scheduler.ops.audit import record_audit


class KeyNotFound(NotFound):
    """No API key with that id."""


class KeyOut(BaseModel):
    """An API key as listed: never the key itself or its hash."""

    id: str
    name: str
    role: str
    prefix: str
    created_at: str
    last_used_at: str | None
    revoked_at: str | None


def key_row(key: ApiKey) -> KeyOut:
    """What an admin sees of a key: never the key or its hash."""
    return KeyOut(
        id=str(key.id),
        name=key.name,
        role=str(key.role),
        prefix=key.prefix,
        created_at=key.created_at.isoformat(),
        last_used_at=key.last_used_at.isoformat() if key.last_used_at else None,
        revoked_at=key.revoked_at.isoformat() if key.revoked_at else None,
    )


def issue_api_key(*, session: Session, name: str, role: Role, actor: str) -> tuple[ApiKey, str]:
    """Create a key; returns its row and the key itself, which is shown this once only."""
    secret = create_api_key(session=session, name=name, role=role, actor=actor)
    row = session.exec(select(ApiKey).where(col(ApiKey.key_hash) == _key_hash(secret))).one()
    return row, secret


def list_api_keys(*, session: Session) -> list[ApiKey]:
    """Every key, newest first (revoked ones included, marked as such)."""
    stmt = select(ApiKey).order_by(col(ApiKey.created_at).desc(), col(ApiKey.id))
    return list(session.exec(stmt).all())


def revoke_api_key(*, session: Session, key_id: uuid.UUID, actor: str) -> ApiKey:
    """Revoke a key at once; revoking twice keeps the first revocation time."""
    key = session.get(ApiKey, key_id)
    if key is None:
        raise KeyNotFound(f"no API key with id {key_id}")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.add(key)
        record_audit(
            session=session,
            actor=actor,
            action="key.revoke",
            after={"name": key.name, "role": str(key.role), "prefix": key.prefix},
        )
    return key
