"""Channel health as ops and admins see it: status, recent deliveries, posts, token expiry.

Reading only; the channel's own state changes live in :mod:`scheduler.channels`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlmodel import Session, col

from config import Settings
from scheduler.access.token_warnings import TokenWarning, duration_words, token_warning
from scheduler.channels import list_channels
from scheduler.models import Channel, Post, utcnow
from scheduler.ops.health import HealthSummary, RecentAttempts, recent_attempts
from scheduler.ops.health import channel_health as derive_health


def channel_health(*, session: Session, settings: Settings | None = None) -> list[ChannelHealth]:
    """Every channel's health for ops, with post counts by status; never its credentials.

    Three queries whatever the number of channels: channels, post counts, recent attempts.
    With ``settings`` the health names a token about to expire (see :func:`token_words`).
    """
    counts: dict[uuid.UUID, dict[str, int]] = {}
    rows = session.execute(
        sa.select(col(Post.channel_id), col(Post.status), sa.func.count()).group_by(
            col(Post.channel_id), col(Post.status)
        )
    ).all()
    for channel_id, status, n in rows:
        counts.setdefault(channel_id, {})[str(status)] = int(n)
    recent = recent_attempts(session=session)
    return [
        channel_health_row(c, counts.get(c.id, {}), recent.get(c.id), settings=settings)
        for c in list_channels(session=session)
    ]


def one_channel_health(
    *, session: Session, channel: Channel, settings: Settings | None = None
) -> ChannelHealth:
    """One channel's health row (as :func:`channel_health` shows it)."""
    recent = recent_attempts(session=session, channel_id=channel.id).get(channel.id)
    counts = channel_post_counts(session=session, channel_id=channel.id)
    return channel_health_row(channel, counts, recent, settings=settings)


def token_words(channel: Channel, settings: Settings | None) -> str | None:
    """ "X token for @desk expires in 5 days — reconnect" when the channel's token expires
    within seven days and cannot renew itself; None otherwise or without ``settings``."""
    warning = _token_warning(channel, settings)
    return warning.words if warning else None


def token_status(warning: TokenWarning | None) -> str | None:
    """ "Token expires in 5 days" / "Token expired 2 hours ago", or None."""
    if warning is None:
        return None
    if warning.seconds_left <= 0:
        return f"Token expired {duration_words(-warning.seconds_left)} ago"
    return f"Token expires in {duration_words(warning.seconds_left)}"


def _token_warning(channel: Channel, settings: Settings | None) -> TokenWarning | None:
    if settings is None:
        return None
    return token_warning(
        channel_id=channel.id,
        name=channel.name,
        platform=str(channel.platform),
        status=str(channel.status),
        expires_at=channel.token_expires_at,
        ciphertext=channel.credentials_encrypted,
        settings=settings,
        now=utcnow(),
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


class ChannelHealth(BaseModel):
    """A channel's state for ops; credentials are never included."""

    id: str
    platform: str
    name: str
    account_id: str
    timezone: str
    status: str
    status_reason: str | None
    settings: dict[str, Any]
    last_success_at: str | None
    last_error_at: str | None
    last_error: str | None
    rate_limit: dict[str, Any]
    rate_limited_until: str | None
    token_expires_at: str | None
    connected_via: str | None = Field(default=None, description="oauth, token or sandbox")
    connected_by: str | None = None
    connected_at: str | None = None
    has_credentials: bool
    posts: dict[str, int] = Field(description="Number of posts by status")
    health: HealthSummary
    created_at: str


def channel_health_row(
    channel: Channel,
    post_counts: dict[str, int],
    recent: RecentAttempts | None = None,
    *,
    settings: Settings | None = None,
) -> ChannelHealth:
    """One channel as ops and admins see it (an allow-list of fields: no credentials).

    ``health`` is derived from the status and ``recent`` attempts (see
    :func:`scheduler.ops.health.channel_health`): a channel whose deliveries all fail is
    "failing" even while its status is still "active".
    """
    warning = _token_warning(channel, settings)
    return ChannelHealth(
        id=str(channel.id),
        platform=str(channel.platform),
        name=channel.name,
        account_id=channel.account_id,
        timezone=channel.timezone,
        status=str(channel.status),
        status_reason=channel.status_reason,
        settings=channel.settings,
        last_success_at=_iso(channel.last_success_at),
        last_error_at=_iso(channel.last_error_at),
        last_error=channel.last_error,
        rate_limit=channel.rate_limit,
        rate_limited_until=_iso(channel.rate_limited_until),
        token_expires_at=_iso(channel.token_expires_at),
        connected_via=channel.connected_via,
        connected_by=channel.connected_by,
        connected_at=_iso(channel.connected_at),
        has_credentials=bool(channel.credentials_encrypted),
        posts=post_counts,
        health=derive_health(
            status=str(channel.status),
            rate_limited_until=channel.rate_limited_until,
            recent=recent or RecentAttempts(),
            token_warning=warning.words if warning else None,
            token_status=token_status(warning),
        ),
        created_at=channel.created_at.isoformat(),
    )


def channel_post_counts(*, session: Session, channel_id: uuid.UUID) -> dict[str, int]:
    """Posts of one channel by status."""
    rows = session.execute(
        sa.select(col(Post.status), sa.func.count())
        .where(col(Post.channel_id) == channel_id)
        .group_by(col(Post.status))
    ).all()
    return {str(status): int(n) for status, n in rows}
