"""Channels: the publisher's accounts on each platform, with encrypted credentials."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session, select

from adapters.base import ChannelSettings
from config import Settings
from scheduler.audit import record_audit
from scheduler.crypto import decrypt_credentials, encrypt_credentials
from scheduler.models import Channel, ChannelStatus, PlatformName, Post, PostStatus, utcnow

#: Account ids of the sandbox channels created on first start of the embedded default.
SANDBOX_ACCOUNTS = {
    PlatformName.X: "1700000000000000001",
    PlatformName.INSTAGRAM: "17841400000000001",
    PlatformName.FACEBOOK: "100000000000001",
}


class ChannelNotFound(LookupError):
    """No channel with that id or name."""


def sandbox_token(account_id: str) -> str:
    """The token the sandbox platform accepts for an account."""
    return f"sandbox-token-{account_id}"


def create_channel(
    *,
    session: Session,
    settings: Settings,
    platform: PlatformName,
    name: str,
    account_id: str,
    credentials: dict[str, str],
    timezone: str | None = None,
    channel_settings: dict[str, Any] | None = None,
    actor: str = "system",
) -> Channel:
    """Store a channel with its credentials encrypted."""
    validated = ChannelSettings.model_validate(channel_settings or {})
    channel = Channel(
        platform=platform,
        name=name,
        account_id=account_id,
        credentials_encrypted=encrypt_credentials(credentials, settings=settings),
        timezone=timezone or settings.newsroom_timezone,
        settings=validated.model_dump(),
    )
    session.add(channel)
    session.flush()
    record_audit(
        session=session,
        actor=actor,
        action="channel.create",
        channel_id=channel.id,
        after={"platform": str(platform), "name": name, "account_id": account_id},
    )
    return channel


def ensure_sandbox_channels(*, session: Session, settings: Settings) -> list[Channel]:
    """Create the X, Instagram and Facebook sandbox channels unless they exist."""
    existing = {c.platform: c for c in session.exec(select(Channel)).all()}
    channels = []
    for platform, account in SANDBOX_ACCOUNTS.items():
        if platform in existing:
            channels.append(existing[platform])
            continue
        channels.append(
            create_channel(
                session=session,
                settings=settings,
                platform=platform,
                name=f"Sandbox {platform.value.capitalize() if platform != 'x' else 'X'}",
                account_id=account,
                credentials={"access_token": sandbox_token(account)},
            )
        )
    return channels


def list_channels(*, session: Session) -> list[Channel]:
    """All channels, ordered by platform then name."""
    return list(session.exec(select(Channel).order_by(Channel.platform, Channel.name)).all())


def get_channel(*, session: Session, channel_id: uuid.UUID) -> Channel:
    channel = session.get(Channel, channel_id)
    if channel is None:
        raise ChannelNotFound(f"no channel with id {channel_id}")
    return channel


def channel_credentials(channel: Channel, *, settings: Settings) -> dict[str, str]:
    """Decrypted credentials; never log or return them."""
    return decrypt_credentials(channel.credentials_encrypted, settings=settings)


def channel_settings(channel: Channel) -> ChannelSettings:
    """The channel's rendering and scheduling settings."""
    return ChannelSettings.model_validate(channel.settings or {})


def set_channel_status(
    *,
    session: Session,
    channel: Channel,
    status: ChannelStatus,
    reason: str | None,
    actor: str,
) -> Channel:
    """Pause, resume or flag a channel; held posts follow the channel."""
    before = {"status": str(channel.status), "reason": channel.status_reason}
    channel.status = status
    channel.status_reason = reason
    session.add(channel)
    if status == ChannelStatus.ACTIVE:
        # Posts held by a pause or waiting for reconnection go back to the schedule.
        for post in session.exec(
            select(Post).where(
                Post.channel_id == channel.id,
                Post.status.in_([PostStatus.HELD, PostStatus.NEEDS_REAUTH]),  # type: ignore[attr-defined]
            )
        ):
            post.status = PostStatus.SCHEDULED
            post.next_attempt_at = None
            post.updated_at = utcnow()
            session.add(post)
    elif status == ChannelStatus.PAUSED:
        for post in session.exec(
            select(Post).where(
                Post.channel_id == channel.id,
                Post.status.in_([PostStatus.SCHEDULED, PostStatus.RETRY_WAIT]),  # type: ignore[attr-defined]
            )
        ):
            post.status = PostStatus.HELD
            post.updated_at = utcnow()
            session.add(post)
    record_audit(
        session=session,
        actor=actor,
        action=f"channel.{status.value}",
        channel_id=channel.id,
        detail=reason,
        before=before,
        after={"status": str(status), "reason": reason},
    )
    return channel
