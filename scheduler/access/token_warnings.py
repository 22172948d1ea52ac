"""Tokens that will die unless a person reconnects: warned seven days ahead, in words and as
seconds left (channel health, the editors' queue page, ``/metrics``).

X tokens with a refresh token renew themselves (:mod:`scheduler.access.tokens`), so they are
never warned about; Meta Page and long-lived user tokens, and X tokens connected without
``offline.access``, are.  Telling the two X kinds apart means reading the credentials, so it
needs the settings (the keys); the answer is memoised per ciphertext.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import col

from config import Settings
from scheduler.access.crypto import decrypt_credentials
from scheduler.models import Channel, ChannelStatus, PlatformName, utcnow

#: How far ahead an expiry is announced.
WARN_AHEAD = timedelta(days=7)
PLATFORM_LABELS = {"x": "X", "facebook": "Facebook", "instagram": "Instagram"}


@dataclass(frozen=True)
class TokenWarning:
    """A channel whose token expires within :data:`WARN_AHEAD` and cannot renew itself."""

    channel_id: uuid.UUID
    channel: str
    platform: str
    expires_at: datetime
    seconds_left: float

    @property
    def words(self) -> str:
        """ "X token for @desk expires in 5 days — reconnect" (or "expired … ago")."""
        label = PLATFORM_LABELS.get(self.platform, self.platform)
        if self.seconds_left <= 0:
            when = f"expired {duration_words(-self.seconds_left)} ago"
        else:
            when = f"expires in {duration_words(self.seconds_left)}"
        return f"{label} token for {self.channel} {when} — reconnect"


def duration_words(seconds: float) -> str:
    """A rough duration a person reads at a glance: days, hours or minutes."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return "less than a minute"


def token_warning(
    *,
    channel_id: uuid.UUID,
    name: str,
    platform: str,
    status: str,
    expires_at: datetime | None,
    ciphertext: str,
    settings: Settings,
    now: datetime,
) -> TokenWarning | None:
    """The warning for one channel, or None (no expiry, far off, renews itself, or already
    waiting for a reconnect, which its health says in stronger words)."""
    if expires_at is None or status == ChannelStatus.NEEDS_REAUTH:
        return None
    left = expires_at - now
    if left > WARN_AHEAD:
        return None
    if platform == PlatformName.X and renews_itself(ciphertext, settings):
        return None
    return TokenWarning(channel_id, name, platform, expires_at, left.total_seconds())


def renews_itself(ciphertext: str, settings: Settings) -> bool:
    """Whether X credentials hold a refresh token (unreadable credentials cannot renew)."""
    # The keys are part of the memo's key: new keys could read what old ones could not.
    keys = (k.get_secret_value() for k in settings.encryption_keys)
    key = (ciphertext, settings.secret_key.get_secret_value(), *keys)
    found = _RENEWS.get(key)
    if found is None:
        try:
            credentials = decrypt_credentials(ciphertext, settings=settings)
            found = bool(credentials.get("refresh_token"))
        except ValueError:
            found = False
        if len(_RENEWS) > 512:
            _RENEWS.clear()
        _RENEWS[key] = found
    return found


_RENEWS: dict[tuple[str, ...], bool] = {}


#: The channel columns a warning needs, for callers that fold them into their own query.
WARNING_COLUMNS = (
    col(Channel.id),
    col(Channel.name),
    col(Channel.platform),
    col(Channel.status),
    col(Channel.token_expires_at),
    col(Channel.credentials_encrypted),
)


def warning_from_row(row: Any, *, settings: Settings, now: datetime) -> TokenWarning | None:
    """:func:`token_warning` for a row selected with :data:`WARNING_COLUMNS`."""
    return token_warning(
        channel_id=row.id,
        name=row.name,
        platform=str(row.platform),
        status=str(row.status),
        expires_at=row.token_expires_at,
        ciphertext=row.credentials_encrypted,
        settings=settings,
        now=now,
    )


def token_warnings(
    conn: Connection, *, settings: Settings, now: datetime | None = None
) -> list[TokenWarning]:
    """Every channel's warning, soonest expiry first: one query on the channel table."""
    now = now or utcnow()
    rows = conn.execute(
        sa.select(*WARNING_COLUMNS).where(
            col(Channel.token_expires_at).is_not(None),
            col(Channel.token_expires_at) <= now + WARN_AHEAD,
        )
    ).all()
    found = [warning_from_row(r, settings=settings, now=now) for r in rows]
    return sorted((w for w in found if w), key=lambda w: w.seconds_left)
