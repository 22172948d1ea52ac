"""Key rotation: re-encrypt every encrypted column with the newest configured key.

Only channel credentials are encrypted at rest.  After an admin puts a new key first in
NEWSRELAY_ENCRYPTION_KEYS (keeping the old ones after it), :func:`rotate_encryption` rewrites
each ciphertext made with an older key; once it has run, the old keys can be dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col

from config import Settings
from scheduler.access.crypto import newest_key, rotate_ciphertext
from scheduler.models import Channel
from scheduler.ops.audit import record_audit


@dataclass(frozen=True)
class RotationResult:
    """How many encrypted values were re-encrypted, and how many already used the newest key."""

    rotated: int
    current: int


def rotate_encryption(*, session: Session, settings: Settings, actor: str) -> RotationResult:
    """Re-encrypt every channel's credentials with the newest key, in the caller's transaction.

    Idempotent: values already made with the newest key are left alone.  Each row is written
    with a compare-and-set on its old ciphertext, so credentials an admin replaces meanwhile
    (already encrypted with the newest key) are never overwritten.  Raises
    :class:`scheduler.access.crypto.EncryptionKeysInvalid` for missing or malformed keys and
    ``ValueError`` naming the channel (never a secret) when no key decrypts its credentials;
    the caller's transaction then rolls back and nothing is changed.
    """
    newest_key(settings)  # refuse bad settings before reading anything
    rows = session.execute(
        sa.select(col(Channel.id), col(Channel.name), col(Channel.credentials_encrypted))
        .where(col(Channel.credentials_encrypted) != "")
        .order_by(col(Channel.name))
    ).all()
    rotated = current = 0
    for channel_id, name, ciphertext in rows:
        try:
            fresh = rotate_ciphertext(ciphertext, settings=settings)
        except ValueError:
            raise ValueError(
                f"the credentials of channel {name!r} ({channel_id}) cannot be decrypted with "
                "any configured key; nothing was rotated"
            ) from None
        if fresh is None:
            current += 1
            continue
        result = session.execute(
            sa.update(Channel)
            .where(col(Channel.id) == channel_id, col(Channel.credentials_encrypted) == ciphertext)
            .values(credentials_encrypted=fresh)
            .execution_options(synchronize_session=False)
        )
        rotated += result.rowcount  # type: ignore[attr-defined]
    if rotated:
        record_audit(
            session=session,
            actor=actor,
            action="keys.rotate_encryption",
            detail=f"{rotated} encrypted value(s) re-encrypted with the newest key",
            after={"rotated": rotated, "current": current},
        )
    return RotationResult(rotated=rotated, current=current)
