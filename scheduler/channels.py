"""Channels: the publisher's accounts on each platform, with encrypted credentials."""

from __future__ import annotations

import uuid
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlmodel import Session, col, select

from adapters.base import ChannelSettings
from config import Settings
from scheduler.access.crypto import decrypt_credentials, encrypt_credentials
from scheduler.editorial.lifecycle import DISPATCHABLE, HELD_BY_CHANNEL
from scheduler.errors import NotFound
from scheduler.models import Channel, ChannelStatus, PlatformName, Post, PostStatus, utcnow
from scheduler.ops.audit import record_audit

#: Account ids of the sandbox channels created on first start of the embedded default.
SANDBOX_ACCOUNTS = {
    PlatformName.X: "1700000000000000001",
    PlatformName.INSTAGRAM: "17841400000000001",
    PlatformName.FACEBOOK: "100000000000001",
}


class ChannelNotFound(NotFound):
    """No channel with that id or name."""


class InvalidChannelSettings(ValueError):
    """Settings the channel's platform does not have; ``errors`` has one sentence each."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def platform_checked_settings(data: dict[str, Any], platform: str) -> ChannelSettings:
    """``data`` validated, refusing settings of another platform (attach_image on Instagram)."""
    validated = ChannelSettings.model_validate(data)
    problems = validated.platform_problems(platform)
    if problems:
        raise InvalidChannelSettings(problems)
    return validated


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
    connected_via: str = "token",
) -> Channel:
    """Store a channel with its credentials encrypted.

    ``connected_via`` records where the credentials came from: ``token`` (pasted by an admin),
    ``oauth`` (the connect flow) or ``sandbox`` (the embedded default's seeded channels).
    """
    validated = platform_checked_settings(channel_settings or {}, str(platform))
    channel = Channel(
        connected_via=connected_via,
        connected_by=actor,
        connected_at=utcnow(),
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
                connected_via="sandbox",
            )
        )
    return channels


def list_channels(*, session: Session) -> list[Channel]:
    """All channels, ordered by platform then name."""
    return list(session.exec(select(Channel).order_by(Channel.platform, Channel.name)).all())


class ChannelRow(NamedTuple):
    """The columns intake needs of a channel (no ORM object, no credentials)."""

    id: uuid.UUID
    platform: str
    settings: dict[str, Any]
    status: str


def channel_rows(*, session: Session) -> list[ChannelRow]:
    """Every channel's id, platform, settings and status, in :func:`list_channels` order: one
    plain query, no ORM objects built (intake reads this on every article)."""
    table = Channel.__table__  # type: ignore[attr-defined]
    rows = session.execute(
        sa.select(table.c.id, table.c.platform, table.c.settings, table.c.status).order_by(
            table.c.platform, table.c.name
        )
    ).all()
    return [ChannelRow(r.id, r.platform, r.settings or {}, r.status) for r in rows]


def get_channel(*, session: Session, channel_id: uuid.UUID) -> Channel:
    channel = session.get(Channel, channel_id)
    if channel is None:
        raise ChannelNotFound(f"no channel with id {channel_id}")
    return channel


def channel_credentials(channel: Channel, *, settings: Settings) -> dict[str, str]:
    """Decrypted credentials; never log or return them."""
    return decrypt_credentials(channel.credentials_encrypted, settings=settings)


def channel_settings(channel: Channel | ChannelRow) -> ChannelSettings:
    """The channel's rendering and scheduling settings."""
    return ChannelSettings.from_stored(channel.settings)


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
                col(Post.status).in_(sorted(HELD_BY_CHANNEL)),
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
                col(Post.status).in_(sorted(DISPATCHABLE)),
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


class ChannelConflict(ValueError):
    """The channel's state does not allow that change (the message says what to do instead)."""


def pause_channel(*, session: Session, channel: Channel, reason: str, actor: str) -> Channel:
    """Hold the channel's scheduled posts until it is resumed."""
    if channel.status == ChannelStatus.NEEDS_REAUTH:
        raise ChannelConflict(
            "the channel is waiting for new credentials; reconnect it before pausing or resuming"
        )
    return set_channel_status(
        session=session, channel=channel, status=ChannelStatus.PAUSED, reason=reason, actor=actor
    )


def resume_channel(*, session: Session, channel: Channel, actor: str) -> Channel:
    """Release a paused channel's held posts back to the schedule."""
    if channel.status == ChannelStatus.NEEDS_REAUTH:
        raise ChannelConflict(
            "the channel needs new credentials, not a resume: replace its credentials or "
            "mark it reconnected once the account is authorised again"
        )
    if channel.status == ChannelStatus.ACTIVE:
        return channel
    return set_channel_status(
        session=session, channel=channel, status=ChannelStatus.ACTIVE, reason=None, actor=actor
    )


def mark_reconnected(*, session: Session, channel: Channel, actor: str) -> Channel:
    """The account was re-authorised outside newsrelay: activate it and release held posts."""
    if channel.status == ChannelStatus.PAUSED:
        raise ChannelConflict("the channel is paused by a person; resume it instead")
    channel.token_expires_at = None
    return set_channel_status(
        session=session,
        channel=channel,
        status=ChannelStatus.ACTIVE,
        reason=None,
        actor=actor,
    )


def replace_credentials(
    *,
    session: Session,
    settings: Settings,
    channel: Channel,
    credentials: dict[str, str],
    actor: str,
) -> Channel:
    """Store new credentials (encrypted); a channel waiting for them becomes active again.

    The audit trail records that credentials were replaced, never their values.
    """
    channel.credentials_encrypted = encrypt_credentials(credentials, settings=settings)
    channel.token_expires_at = None
    channel.connected_via, channel.connected_by, channel.connected_at = "token", actor, utcnow()
    session.add(channel)
    record_audit(
        session=session,
        actor=actor,
        action="channel.credentials",
        channel_id=channel.id,
        detail="credentials replaced",
        after={"fields": sorted(credentials)},
    )
    if channel.status == ChannelStatus.NEEDS_REAUTH:
        set_channel_status(
            session=session,
            channel=channel,
            status=ChannelStatus.ACTIVE,
            reason=None,
            actor=actor,
        )
    return channel


def update_channel(
    *,
    session: Session,
    channel: Channel,
    actor: str,
    name: str | None = None,
    timezone: str | None = None,
    channel_settings: dict[str, Any] | None = None,
) -> Channel:
    """Rename a channel, change its timezone or its rendering and scheduling settings."""
    before = {"name": channel.name, "timezone": channel.timezone, "settings": channel.settings}
    checked = (
        platform_checked_settings(channel_settings, str(channel.platform))
        if channel_settings is not None
        else None
    )
    if name is not None and name != channel.name:
        taken = session.exec(select(Channel).where(col(Channel.name) == name)).first()
        if taken is not None:
            raise ChannelConflict(f"another channel is already named {name!r}")
        channel.name = name
    if timezone is not None:
        channel.timezone = timezone
    if checked is not None:
        channel.settings = checked.model_dump()
    session.add(channel)
    record_audit(
        session=session,
        actor=actor,
        action="channel.update",
        channel_id=channel.id,
        before=before,
        after={"name": channel.name, "timezone": channel.timezone, "settings": channel.settings},
    )
    return channel


def channel_name_taken(*, session: Session, name: str) -> bool:
    """Whether a channel already has this display name (names are unique)."""
    return session.exec(select(Channel).where(col(Channel.name) == name)).first() is not None
