"""X channels connected through the real OAuth flow against the sandbox, for token tests."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col

from adapters.oauth import new_pkce_pair, new_state
from adapters.x_oauth import XOAuthClient, XTokens, x_oauth_app
from config import Settings
from scheduler.access.crypto import decrypt_credentials, encrypt_credentials
from scheduler.channels import create_channel
from scheduler.db.engine import session_scope
from scheduler.delivery.attempt import deliver_attempt
from scheduler.models import Channel, PlatformName

CALLBACK = "http://127.0.0.1:8000/oauth/callback/x"


def connect_x(settings: Settings) -> XTokens:
    """Authorize (the sandbox approves at once), then exchange the code with the PKCE verifier."""
    with httpx.Client(timeout=10) as http:
        oauth = XOAuthClient(app=x_oauth_app(settings), client=http)
        pkce, state = new_pkce_pair(), new_state()
        url = oauth.authorize_url(redirect_uri=CALLBACK, state=state, code_challenge=pkce.challenge)
        answer = http.get(url)
        assert answer.status_code == 302, answer.text
        query = parse_qs(urlsplit(answer.headers["location"]).query)
        assert query["state"] == [state]
        return oauth.exchange_code(
            code=query["code"][0], redirect_uri=CALLBACK, code_verifier=pkce.verifier
        )


def oauth_credentials(tokens: XTokens) -> dict[str, str]:
    assert tokens.refresh_token
    return {"access_token": tokens.access_token, "refresh_token": tokens.refresh_token}


def create_x_channel(engine: Engine, settings: Settings, *, name: str = "X desk") -> uuid.UUID:
    """A new X channel connected through OAuth, as the connect flow stores it."""
    tokens = connect_x(settings)
    with session_scope(engine) as s:
        channel = create_channel(
            session=s,
            settings=settings,
            platform=PlatformName.X,
            name=name,
            account_id="1700000000000000001",
            credentials=oauth_credentials(tokens),
        )
        channel.token_expires_at = tokens.expires_at
        s.add(channel)
        s.flush()
        return channel.id


def connect_existing(engine: Engine, settings: Settings, channel_id: uuid.UUID) -> None:
    """Give an existing X channel OAuth credentials (the seeded one has a static token)."""
    tokens = connect_x(settings)
    with session_scope(engine) as s:
        s.execute(
            sa.update(Channel)
            .where(col(Channel.id) == channel_id)
            .values(
                credentials_encrypted=encrypt_credentials(
                    oauth_credentials(tokens), settings=settings
                ),
                token_expires_at=tokens.expires_at,
            )
        )


def stored_credentials(engine: Engine, settings: Settings, channel_id: uuid.UUID) -> dict[str, str]:
    with session_scope(engine) as s:
        channel = s.get(Channel, channel_id)
        assert channel is not None
        return decrypt_credentials(channel.credentials_encrypted, settings=settings)


def deliver_over_http(engine: Engine, attempt_id: uuid.UUID, settings: Settings) -> str:
    """Run the worker's delivery of one attempt against the platform at the settings' URLs."""
    with httpx.Client(timeout=10) as client:
        return deliver_attempt(
            engine=engine, attempt_id=attempt_id, settings=settings, client=client
        )
