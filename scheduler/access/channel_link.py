"""Turning an account the platform vouched for into a channel: create it, or reconnect the
channel that already posts as that account, and release the posts it held.

Account ids come from the platform (``/2/users/me``, ``/me/accounts``), never from a person.
A reconnect replaces the credentials and re-arms the channel; nothing else re-arms a channel
in ``needs_reauth`` (its dead token is never tried again).  Held posts go back to the schedule
``reconnect_release_spacing_seconds`` apart, not as one burst; a post whose article is older
than the channel's staleness limit waits as a ``draft`` with the reason, for an editor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from config import Settings
from scheduler.access.connections import ConnectionRefused
from scheduler.access.crypto import encrypt_credentials
from scheduler.channels import channel_name_taken, create_channel
from scheduler.models import (
    Article,
    Channel,
    ChannelStatus,
    PlatformName,
    Post,
    PostStatus,
    utcnow,
)
from scheduler.ops.audit import record_audit

#: The staleness limit when the channel's settings name none (ChannelSettings.stale_after_minutes).
DEFAULT_STALE_MINUTES = 360
HELD_STATUSES = (PostStatus.HELD, PostStatus.NEEDS_REAUTH)


@dataclass(frozen=True)
class LinkedAccount:
    """An account the platform named, with the credentials to publish as it."""

    platform: PlatformName
    account_id: str
    name: str
    credentials: dict[str, str] = field(repr=False)
    token_expires_at: datetime | None


@dataclass(frozen=True)
class LinkResult:
    """The channel, whether it already existed, and what happened to its held posts."""

    channel: Channel
    reconnected: bool
    released: int = 0
    stale: int = 0


def find_channel(*, session: Session, platform: PlatformName, account_id: str) -> Channel | None:
    """The channel that posts as this platform account, if any."""
    return session.exec(
        select(Channel).where(
            col(Channel.platform) == platform, col(Channel.account_id) == account_id
        )
    ).first()


def _free_name(session: Session, wanted: str, account_id: str) -> str:
    for candidate in (wanted, f"{wanted} ({account_id})"):
        if not channel_name_taken(session=session, name=candidate[:200]):
            return candidate[:200]
    n = 2
    while channel_name_taken(session=session, name=f"{wanted} {n}"[:200]):
        n += 1
    return f"{wanted} {n}"[:200]


def link_account(
    *,
    session: Session,
    settings: Settings,
    account: LinkedAccount,
    actor: str,
    reconnect: Channel | None = None,
) -> LinkResult:
    """Create a channel for ``account``, or reconnect the channel posting as it.

    ``reconnect`` is the channel the admin asked to reconnect: the account must be the one it
    posts as (ConnectionRefused otherwise, with both names).  Audited as ``channel.connect`` or
    ``channel.reconnect`` with the actor, platform and account id, never a token.
    """
    if reconnect is not None and (
        reconnect.platform != account.platform or reconnect.account_id != account.account_id
    ):
        raise ConnectionRefused(
            f"You signed in as {account.name} ({account.account_id}), but {reconnect.name} "
            f"posts as account {reconnect.account_id}. Sign in to that account to reconnect "
            "it, or connect this one as a new channel."
        )
    existing = reconnect or find_channel(
        session=session, platform=account.platform, account_id=account.account_id
    )
    now = utcnow()
    if existing is None:
        channel = create_channel(
            session=session,
            settings=settings,
            platform=account.platform,
            name=_free_name(session, account.name, account.account_id),
            account_id=account.account_id,
            credentials=account.credentials,
            actor=actor,
            connected_via="oauth",
        )
        channel.token_expires_at = account.token_expires_at
        session.add(channel)
        _audit(session, channel, "channel.connect", actor, before={})
        return LinkResult(channel=channel, reconnected=False)
    before = {"status": str(existing.status), "connected_via": existing.connected_via}
    existing.credentials_encrypted = encrypt_credentials(account.credentials, settings=settings)
    existing.token_expires_at = account.token_expires_at
    existing.connected_via, existing.connected_by, existing.connected_at = "oauth", actor, now
    existing.status = ChannelStatus.ACTIVE
    existing.status_reason = None
    session.add(existing)
    _audit(session, existing, "channel.reconnect", actor, before=before)
    released, stale = release_held_posts(
        session=session,
        channel=existing,
        spacing=timedelta(seconds=settings.reconnect_release_spacing_seconds),
        actor=actor,
        now=now,
    )
    return LinkResult(channel=existing, reconnected=True, released=released, stale=stale)


def _audit(
    session: Session, channel: Channel, action: str, actor: str, *, before: dict[str, Any]
) -> None:
    record_audit(
        session=session,
        actor=actor,
        action=action,
        channel_id=channel.id,
        detail=f"{channel.platform} account {channel.account_id} connected with OAuth",
        before=before,
        after={
            "platform": str(channel.platform),
            "account_id": channel.account_id,
            "status": str(channel.status),
            "connected_via": "oauth",
            "token_expires_at": (
                channel.token_expires_at.isoformat() if channel.token_expires_at else None
            ),
        },
    )


def stale_limit(channel: Channel) -> timedelta:
    """How old an article may be for a held post of this channel to still go out."""
    minutes = (channel.settings or {}).get("stale_after_minutes")
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes <= 0:
        minutes = DEFAULT_STALE_MINUTES
    return timedelta(minutes=minutes)


def _age_words(age: timedelta) -> str:
    hours = age.total_seconds() / 3600
    if hours >= 2:
        return f"{int(hours)} hours"
    return f"{int(age.total_seconds() // 60)} minutes"


def release_held_posts(
    *,
    session: Session,
    channel: Channel,
    spacing: timedelta,
    actor: str,
    now: datetime | None = None,
) -> tuple[int, int]:
    """Put the channel's held posts back on the schedule ``spacing`` apart, oldest first.

    A post whose article (``published_at``, else when it arrived) is older than
    :func:`stale_limit` becomes a ``draft`` whose ``last_error`` says so: an editor decides.
    Each post is changed by compare-and-set on (status, version), so an editor's concurrent
    change wins.  Returns (released, stale).
    """
    now = now or utcnow()
    limit = stale_limit(channel)
    rows = session.execute(
        sa.select(
            col(Post.id),
            col(Post.version),
            col(Post.status),
            col(Article.published_at),
            col(Article.created_at),
        )
        .join(Article, col(Article.id) == col(Post.article_id))
        .where(col(Post.channel_id) == channel.id, col(Post.status).in_(HELD_STATUSES))
        .order_by(sa.func.coalesce(col(Post.scheduled_at), col(Post.created_at)), col(Post.id))
    ).all()
    released = stale = 0
    for post_id, version, status, published_at, arrived_at in rows:
        age = now - (published_at or arrived_at)
        if age > limit:
            values: dict[str, object] = {
                "status": PostStatus.DRAFT,
                "last_error": (
                    f"Not sent: the article is {_age_words(age)} old, older than this "
                    f"channel's limit of {_age_words(limit)} for posts held while it was "
                    "disconnected. Schedule or post it if it is still news; otherwise cancel it."
                ),
            }
        else:
            values = {
                "status": PostStatus.SCHEDULED,
                "scheduled_at": now + spacing * released,
                "next_attempt_at": None,
            }
        done = session.execute(
            sa.update(Post)
            .where(col(Post.id) == post_id, col(Post.version) == version)
            .where(col(Post.status) == status)
            .values(**values, version=version + 1, updated_at=now)
        )
        if done.rowcount == 1:  # type: ignore[attr-defined]
            if values["status"] == PostStatus.DRAFT:
                stale += 1
            else:
                released += 1
    if rows:
        record_audit(
            session=session,
            actor=actor,
            action="channel.release",
            channel_id=channel.id,
            detail=(
                f"{released} held posts released {spacing.total_seconds():g} s apart; "
                f"{stale} too old for this channel wait for an editor"
            ),
            after={"released": released, "stale": stale},
        )
    return released, stale
