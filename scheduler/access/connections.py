"""The connect flow's ``state``: starting a connection, and claiming it at the callback.

A connection row is created when an admin asks for an authorize URL.  Its ``state`` is random
(:func:`adapters.oauth.new_state`), stored only as a SHA-256, bound to the admin who started it
(``actor``), single-use and valid for :data:`STATE_TTL`.  The PKCE verifier lives in
``secrets_encrypted`` (the credentials cipher), never in a URL or a log.

:func:`claim_callback` is the only way past the callback: it checks the state, who is signed in,
and then moves the row from ``pending`` to ``exchanging`` with one compare-and-set UPDATE, so a
replayed callback URL (even a concurrent one) is refused before anything is exchanged or stored.
What happens next (channels) is :mod:`scheduler.access.connect_flow`.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import httpx
import sqlalchemy as sa
from sqlmodel import Session, col, select

from adapters.meta_oauth import MetaOAuthClient, meta_oauth_app
from adapters.oauth import new_pkce_pair, new_state
from adapters.x_oauth import XOAuthClient, x_oauth_app
from config import Settings
from scheduler.access.auth import Principal
from scheduler.access.crypto import decrypt_credentials, encrypt_credentials
from scheduler.access.oauth_models import ConnectionStatus, OAuthConnection
from scheduler.models import Channel, PlatformName, Role, utcnow

ConnectPlatform = Literal["x", "meta"]
STATE_TTL = timedelta(minutes=10)
#: The platforms a connection of each kind may reconnect.
RECONNECTS: dict[str, frozenset[str]] = {
    "x": frozenset({PlatformName.X}),
    "meta": frozenset({PlatformName.FACEBOOK, PlatformName.INSTAGRAM}),
}


class ConnectionRefused(ValueError):
    """The callback or choice cannot go on; the message says why in words an admin can act on.

    Nothing was exchanged or stored when this is raised.
    """


class ConnectionNotFound(LookupError):
    """No connection with that id for this admin."""


def state_hash(state: str) -> str:
    return hashlib.sha256(state.encode("utf-8")).hexdigest()


def callback_uri(settings: Settings, platform: str) -> str:
    """The redirect URI to register with the platform: ``{public_base_url}/oauth/callback/..``."""
    return f"{settings.public_base_url.rstrip('/')}/oauth/callback/{platform}"


def callback_uris(settings: Settings) -> list[str]:
    return [callback_uri(settings, p) for p in ("x", "meta")]


@dataclass(frozen=True)
class StartedConnection:
    """What the admin gets: the URL to open and until when it works."""

    id: uuid.UUID
    authorize_url: str
    expires_at: datetime


def start_connection(
    *,
    session: Session,
    settings: Settings,
    platform: ConnectPlatform,
    actor: str,
    channel_id: uuid.UUID | None = None,
) -> StartedConnection:
    """Store a pending connection and build the platform's authorize URL.

    ``channel_id`` names a channel to reconnect (its platform must match).  Raises
    :class:`adapters.oauth.OAuthConfigError` when the app is not configured and
    :class:`ConnectionRefused` for a channel that cannot be reconnected this way.
    """
    if channel_id is not None:
        channel = session.get(Channel, channel_id)
        if channel is None:
            raise ConnectionNotFound(f"no channel with id {channel_id}")
        if channel.platform not in RECONNECTS[platform]:
            raise ConnectionRefused(
                f"{channel.name} is a {channel.platform} channel; reconnect it with "
                f"{'X' if channel.platform == PlatformName.X else 'Meta'}."
            )
    _close_expired(session)
    state = new_state()
    redirect_uri = callback_uri(settings, platform)
    kept: dict[str, str] = {}
    # authorize_url only formats a URL; the client is never used for a request here.
    with httpx.Client() as unused:
        if platform == "x":
            pkce = new_pkce_pair()
            kept["code_verifier"] = pkce.verifier
            url = XOAuthClient(app=x_oauth_app(settings), client=unused).authorize_url(
                redirect_uri=redirect_uri, state=state, code_challenge=pkce.challenge
            )
        else:
            url = MetaOAuthClient(app=meta_oauth_app(settings), client=unused).authorize_url(
                redirect_uri=redirect_uri, state=state
            )
    now = utcnow()
    row = OAuthConnection(
        state_hash=state_hash(state),
        platform=platform,
        actor=actor,
        redirect_uri=redirect_uri,
        channel_id=channel_id,
        secrets_encrypted=encrypt_credentials(kept, settings=settings),
        created_at=now,
        expires_at=now + STATE_TTL,
    )
    session.add(row)
    session.flush()
    return StartedConnection(id=row.id, authorize_url=url, expires_at=row.expires_at)


def _close_expired(session: Session) -> None:
    # Abandoned connections must not keep a verifier or Page tokens at rest past their deadline.
    session.execute(
        sa.update(OAuthConnection)
        .where(
            col(OAuthConnection.expires_at) <= utcnow(),
            col(OAuthConnection.status).in_([ConnectionStatus.PENDING, ConnectionStatus.CHOOSING]),
        )
        .values(
            status=ConnectionStatus.FAILED,
            secrets_encrypted="",
            error="The connection expired before it was completed.",
            completed_at=utcnow(),
        )
    )


def _session_may_use(row: OAuthConnection, user: Principal | None) -> str | None:
    """Why the signed-in browser may not complete ``row``, or None when it may.

    A connection started in the web UI belongs to that user's browser; one started with an API
    key (the CLI on a headless server) is completed in whatever browser the admin opens the URL
    in, but a signed-in session there must still be an admin's.
    """
    if row.actor.startswith("user:"):
        if user is None:
            return "This connection was started in the web UI: sign in as the admin who started it."
        if user.actor != row.actor:
            return "This connection was started by another admin; start your own from Channels."
    elif user is not None and user.role != Role.ADMIN:
        return "Only an admin can connect accounts."
    return None


def claim_callback(
    *, session: Session, platform: str, state: str | None, user: Principal | None
) -> OAuthConnection:
    """The pending connection of ``state``, now ``exchanging``; ConnectionRefused otherwise.

    Refused (and nothing changed): an unknown, foreign, expired or already-used state, or one
    started for the other platform.
    """
    row = None
    if state and len(state) <= 500:
        row = session.exec(
            select(OAuthConnection).where(col(OAuthConnection.state_hash) == state_hash(state))
        ).first()
    if row is None or row.platform != platform:
        raise ConnectionRefused(
            "This sign-in link is not one newsrelay issued (or it is for another platform). "
            "Start the connection again from Channels."
        )
    if row.status != ConnectionStatus.PENDING:
        raise ConnectionRefused(
            "This sign-in link was already used. Each link works once; start the connection "
            "again from Channels."
        )
    if row.expires_at <= utcnow():
        raise ConnectionRefused(
            "This sign-in link expired (links work for 10 minutes). Start the connection again."
        )
    why = _session_may_use(row, user)
    if why is not None:
        raise ConnectionRefused(why)
    claimed = session.execute(
        sa.update(OAuthConnection)
        .where(
            col(OAuthConnection.id) == row.id,
            col(OAuthConnection.status) == ConnectionStatus.PENDING,
        )
        .values(status=ConnectionStatus.EXCHANGING, used_at=utcnow())
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise ConnectionRefused("This sign-in link was already used; start the connection again.")
    session.refresh(row)
    return row


def kept_secrets(row: OAuthConnection, *, settings: Settings) -> dict[str, Any]:
    """The connection's encrypted values (PKCE verifier; Meta's Page tokens)."""
    return dict(decrypt_credentials(row.secrets_encrypted, settings=settings))


def keep_secrets(row: OAuthConnection, values: dict[str, Any], *, settings: Settings) -> None:
    row.secrets_encrypted = encrypt_credentials(values, settings=settings) if values else ""


def finish(
    *,
    session: Session,
    row: OAuthConnection,
    status: ConnectionStatus,
    error: str | None = None,
    channel_ids: list[uuid.UUID] | None = None,
) -> None:
    """End (or park) a connection; at the end its kept secrets are wiped."""
    row.status = status
    row.error = error[:2000] if error else None
    if channel_ids is not None:
        row.channel_ids = [str(c) for c in channel_ids]
    if status in (ConnectionStatus.DONE, ConnectionStatus.FAILED):
        row.secrets_encrypted = ""
        row.completed_at = utcnow()
    session.add(row)


def may_act_on(row: OAuthConnection, user: Principal) -> bool:
    """Whether ``user`` may see and complete ``row``: the admin who started it; for one started
    with an API key (the CLI), any admin."""
    return user.actor == row.actor or (row.actor.startswith("key:") and user.role == Role.ADMIN)


def get_connection(
    *, session: Session, connection_id: uuid.UUID, actor: str | None
) -> OAuthConnection:
    """A connection by id; with ``actor``, only that admin's (else ConnectionNotFound)."""
    row = session.get(OAuthConnection, connection_id)
    if row is None or (actor is not None and row.actor != actor):
        raise ConnectionNotFound(f"no connection {connection_id}")
    return row


def connection_view(row: OAuthConnection) -> dict[str, Any]:
    """The connection as the API shows it (never a token, verifier or state)."""
    expired = row.status == ConnectionStatus.PENDING and row.expires_at <= utcnow()
    return {
        "id": str(row.id),
        "platform": row.platform,
        "status": "expired" if expired else str(row.status),
        "expires_at": row.expires_at.isoformat(),
        "channel_id": str(row.channel_id) if row.channel_id else None,
        "choices": row.choices,
        "channel_ids": list(row.channel_ids),
        "error": row.error,
    }
