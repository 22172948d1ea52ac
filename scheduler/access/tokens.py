"""Keeping channel tokens alive: X refreshes under a row lock, Meta expiry checks.

X access tokens live two hours; with ``offline.access`` they come with a refresh token that is
single-use and rotates (PLATFORMS.md §1.4).  Two rules make that safe with several scheduler
replicas and workers:

* **One refresher at a time.**  The refresh runs inside a transaction holding the channel row
  (``SELECT … FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite).  The scheduler job
  skips a row another process holds (``SKIP LOCKED``) and re-checks, once it has the row, that
  the token is still due: a second replica finds the fresh expiry and does nothing.
* **Save before use.**  The rotated pair is committed with the channel row before any caller
  gets the new access token, so a crash never leaves us holding a spent refresh token.

A refresh X refuses (``invalid_grant``/``invalid_request``: revoked or spent) puts that channel,
and only it, in ``needs_reauth`` with X's words; its waiting posts wait for the reconnect.
Meta Page and long-lived user tokens cannot be refreshed: a daily job re-reads their expiry with
``debug_token`` (:func:`check_meta_tokens`), and :mod:`scheduler.access.token_warnings` warns
seven days ahead.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from adapters.errors import AuthExpiredError, DeliveryError, PermissionDeniedError
from adapters.meta_oauth import MetaOAuthClient, meta_oauth_app
from adapters.oauth import OAuthConfigError
from adapters.x_oauth import XOAuthClient, x_oauth_app
from config import Settings
from scheduler.access.crypto import decrypt_credentials, encrypt_credentials
from scheduler.models import Channel, ChannelStatus, PlatformName, Post, PostStatus, utcnow
from scheduler.ops.audit import record_audit
from scheduler.runtime.logs import get_logger

log = get_logger(__name__)

#: Posts that wait for the channel: they follow it into ``needs_reauth``.
_WAITING = (PostStatus.SCHEDULED.value, PostStatus.RETRY_WAIT.value)
META_PLATFORMS = (PlatformName.FACEBOOK.value, PlatformName.INSTAGRAM.value)


class RefreshOutcome(StrEnum):
    """What one refresh attempt did."""

    REFRESHED = "refreshed"  # we rotated the pair (and committed it)
    CURRENT = "current"  # another process already rotated it: ``credentials`` are theirs
    SKIPPED = "skipped"  # another process holds the row right now
    NOT_DUE = "not_due"  # re-read under the lock: the token is no longer due
    NO_REFRESH_TOKEN = "no_refresh_token"  # noqa: S105 - connected without offline.access: reconnect
    NEEDS_REAUTH = "needs_reauth"  # X refused the grant: the channel needs reconnecting
    FAILED = "failed"  # transient (network, 5xx, our app refused): the next tick tries again


@dataclass(frozen=True)
class Refresh:
    """A refresh's outcome, the credentials to use now (if any) and X's refusal (if any)."""

    outcome: RefreshOutcome
    credentials: dict[str, str] | None = field(default=None, repr=False)
    error: DeliveryError | None = None


def refresh_due_x_tokens(
    *, engine: Engine, settings: Settings, client: httpx.Client, now: datetime | None = None
) -> dict[uuid.UUID, RefreshOutcome]:
    """The scheduler job: refresh every active X token expiring within
    ``token_refresh_ahead_seconds``; each channel's outcome (never raises for one channel)."""
    now = now or utcnow()
    horizon = now + timedelta(seconds=settings.token_refresh_ahead_seconds)
    with Session(engine) as session:
        due = session.exec(
            select(Channel.id, Channel.token_expires_at).where(
                col(Channel.platform) == PlatformName.X.value,
                col(Channel.status) != ChannelStatus.NEEDS_REAUTH.value,
                col(Channel.token_expires_at).is_not(None),
                col(Channel.token_expires_at) < horizon,
            )
        ).all()
    results: dict[uuid.UUID, RefreshOutcome] = {}
    for channel_id, seen in due:
        try:
            results[channel_id] = refresh_x_token(
                engine=engine,
                settings=settings,
                client=client,
                channel_id=channel_id,
                seen_expires_at=seen,
                now=now,
            ).outcome
        except Exception as exc:  # one channel's bug must not stop the others' refresh
            log.error("token_refresh_error", channel_id=str(channel_id), error=type(exc).__name__)
            results[channel_id] = RefreshOutcome.FAILED
    return results


def refresh_x_token(
    *,
    engine: Engine,
    settings: Settings,
    client: httpx.Client,
    channel_id: uuid.UUID,
    refused_access_token: str | None = None,
    seen_expires_at: datetime | None = None,
    now: datetime | None = None,
) -> Refresh:
    """Refresh one X channel's token under its row lock; the rotated pair is committed before
    this returns it.

    Job mode (``refused_access_token`` None): a row another process holds is skipped, and the
    token is refreshed only if it is still due once the row is ours and its expiry is still
    ``seen_expires_at`` (what the caller saw before locking): a replica that arrives after
    another's refresh finds a new expiry and leaves it, so each expiry is refreshed once.

    After a 401 (``refused_access_token`` is the token X refused): wait for the row; if its
    access token is no longer the refused one, another process refreshed it: return theirs
    (``CURRENT``).
    """
    now = now or utcnow()
    job = refused_access_token is None
    with Session(engine, expire_on_commit=False) as session, session.begin():
        stmt = select(Channel).where(col(Channel.id) == channel_id)
        if engine.dialect.name != "sqlite":  # SQLite: BEGIN IMMEDIATE already serialises us
            stmt = stmt.with_for_update(skip_locked=job)
        channel = session.exec(stmt).first()
        if channel is None:
            return Refresh(RefreshOutcome.SKIPPED)
        if channel.status == ChannelStatus.NEEDS_REAUTH:
            reason = channel.status_reason or "The channel needs reconnecting."
            return Refresh(RefreshOutcome.NEEDS_REAUTH, error=AuthExpiredError(reason))
        credentials = decrypt_credentials(channel.credentials_encrypted, settings=settings)
        moved = seen_expires_at is not None and channel.token_expires_at != seen_expires_at
        if job and (moved or not _due(channel.token_expires_at, now, settings)):
            return Refresh(RefreshOutcome.NOT_DUE, credentials)
        if not job and credentials.get("access_token") != refused_access_token:
            return Refresh(RefreshOutcome.CURRENT, credentials)
        refresh_token = credentials.get("refresh_token")
        if not refresh_token:
            return Refresh(RefreshOutcome.NO_REFRESH_TOKEN, credentials)
        try:
            tokens = XOAuthClient(app=x_oauth_app(settings), client=client).refresh(
                refresh_token=refresh_token
            )
        except (PermissionDeniedError, OAuthConfigError) as exc:
            # newsrelay's app is refused or unset: configuration, not this account's grant.
            log.error("token_refresh_app_refused", channel_id=str(channel_id), error=str(exc))
            return Refresh(RefreshOutcome.FAILED)
        except AuthExpiredError as exc:
            mark_needs_reauth(session=session, channel=channel, reason=exc.message, now=now)
            log.warning("token_refresh_refused", channel_id=str(channel_id), error=exc.message)
            return Refresh(RefreshOutcome.NEEDS_REAUTH, error=exc)
        except DeliveryError as exc:
            log.warning("token_refresh_failed", channel_id=str(channel_id), error=exc.message)
            return Refresh(RefreshOutcome.FAILED, error=exc)
        rotated = {
            **credentials,
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token or refresh_token,
        }
        channel.credentials_encrypted = encrypt_credentials(rotated, settings=settings)
        channel.token_expires_at = tokens.expires_at
        session.add(channel)
    # Committed: only now is the new access token handed to anyone.
    log.info("token_refreshed", channel_id=str(channel_id))
    return Refresh(RefreshOutcome.REFRESHED, rotated)


def _due(expires_at: datetime | None, now: datetime, settings: Settings) -> bool:
    ahead = timedelta(seconds=settings.token_refresh_ahead_seconds)
    return expires_at is not None and expires_at < now + ahead


def mark_needs_reauth(*, session: Session, channel: Channel, reason: str, now: datetime) -> None:
    """Put one channel in ``needs_reauth`` with ``reason`` (the platform's words, no token);
    its scheduled and retrying posts wait with it.  Runs in the caller's transaction."""
    before = {"status": str(channel.status), "reason": channel.status_reason}
    channel.status = ChannelStatus.NEEDS_REAUTH
    channel.status_reason = reason[:1000]
    channel.last_error, channel.last_error_at = reason[:2000], now
    session.add(channel)
    session.execute(
        sa.update(Post)
        .where(col(Post.channel_id) == channel.id, col(Post.status).in_(_WAITING))
        .values(status=PostStatus.NEEDS_REAUTH.value, updated_at=now)
    )
    record_audit(
        session=session,
        actor="system",
        action="channel.needs_reauth",
        channel_id=channel.id,
        detail=reason,
        before=before,
        after={"status": ChannelStatus.NEEDS_REAUTH.value, "reason": reason[:1000]},
    )


def check_meta_tokens(
    *, engine: Engine, settings: Settings, client: httpx.Client, now: datetime | None = None
) -> dict[uuid.UUID, datetime | None]:
    """The daily job: ask ``debug_token`` about every Facebook and Instagram channel's token.

    A valid token's ``expires_at`` is stored in ``token_expires_at`` (None: never expires); a
    token Meta calls invalid puts its channel in ``needs_reauth`` with Meta's words.  A failed
    call changes nothing (tomorrow's run asks again).  Returns the expiries stored.
    """
    now = now or utcnow()
    try:
        meta = MetaOAuthClient(app=meta_oauth_app(settings), client=client)
    except OAuthConfigError as exc:
        log.warning("meta_token_check_unconfigured", error=str(exc))
        return {}
    with Session(engine) as session:
        ids = session.exec(
            select(Channel.id).where(
                col(Channel.platform).in_(META_PLATFORMS),
                col(Channel.status) != ChannelStatus.NEEDS_REAUTH.value,
            )
        ).all()
    stored: dict[uuid.UUID, datetime | None] = {}
    for channel_id in ids:
        with Session(engine, expire_on_commit=False) as session, session.begin():
            channel = session.get(Channel, channel_id)
            if channel is None or channel.status == ChannelStatus.NEEDS_REAUTH:
                continue
            token = decrypt_credentials(channel.credentials_encrypted, settings=settings)
            try:
                info = meta.debug_token(token=token.get("access_token", ""))
            except DeliveryError as exc:
                log.warning("meta_token_check_failed", channel_id=str(channel_id), error=str(exc))
                continue
            if not info.is_valid:
                said = info.error or "the token is not valid"
                reason = (
                    f"Meta says this channel's token is no longer valid: {said}. "
                    "Connect the account again."
                )
                mark_needs_reauth(session=session, channel=channel, reason=reason, now=now)
                continue
            channel.token_expires_at = info.expires_at
            session.add(channel)
            stored[channel_id] = info.expires_at
    return stored
