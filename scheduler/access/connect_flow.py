"""The connect flow after the callback claimed its state: talk to the platform, then store.

Each platform has an HTTP step that holds no database transaction (so a slow platform never
holds a lock or SQLite's write lock) and a store step in one short transaction:

- X: :func:`fetch_x` exchanges the code with the PKCE verifier and asks ``/2/users/me`` who
  the token acts for; :func:`store_x` creates or reconnects that channel with the access and
  refresh tokens (encrypted) and ``token_expires_at``.
- Meta: :func:`fetch_meta` exchanges the code, makes the user token long-lived, lists the Pages
  (Page tokens derived from the long-lived token) and asks ``debug_token`` when each expires;
  :func:`store_meta` keeps the Page tokens encrypted on the connection and the public part as
  choices; :func:`choose_meta` turns the admin's picks into Facebook and Instagram channels
  (an Instagram account publishes with its Page's token).

Platform failures are the adapters' errors (:mod:`adapters.errors`); their messages never
contain a token, code or secret.  :func:`fail` records one on the connection.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from sqlmodel import Session

from adapters.meta_oauth import MetaOAuthClient, meta_oauth_app
from adapters.x_oauth import XOAuthClient, XTokens, XUser, x_oauth_app
from config import Settings
from scheduler.access.channel_link import LinkedAccount, LinkResult, find_channel, link_account
from scheduler.access.connections import (
    STATE_TTL,
    ConnectionRefused,
    finish,
    keep_secrets,
    kept_secrets,
)
from scheduler.access.oauth_models import ConnectionStatus, OAuthConnection
from scheduler.models import Channel, PlatformName, utcnow


@dataclass(frozen=True)
class Claimed:
    """What the HTTP step needs of a claimed connection (no ORM object crosses transactions)."""

    id: uuid.UUID
    platform: str
    actor: str
    redirect_uri: str
    channel_id: uuid.UUID | None
    secrets: dict[str, Any] = field(repr=False)


def claimed(row: OAuthConnection, *, settings: Settings) -> Claimed:
    return Claimed(
        id=row.id,
        platform=row.platform,
        actor=row.actor,
        redirect_uri=row.redirect_uri,
        channel_id=row.channel_id,
        secrets=kept_secrets(row, settings=settings),
    )


def fail(*, session: Session, connection_id: uuid.UUID, error: str) -> None:
    """Record why a claimed connection ended without channels (the link stays spent)."""
    row = session.get(OAuthConnection, connection_id)
    if row is not None:
        finish(session=session, row=row, status=ConnectionStatus.FAILED, error=error)


def _reconnect_target(session: Session, claim: Claimed) -> Channel | None:
    return session.get(Channel, claim.channel_id) if claim.channel_id else None


# --- X ------------------------------------------------------------------------------------------
def fetch_x(
    *, settings: Settings, claim: Claimed, code: str, client: httpx.Client
) -> tuple[XTokens, XUser]:
    """Exchange the code (PKCE S256 verifier) and read the account; no database access."""
    oauth = XOAuthClient(app=x_oauth_app(settings), client=client)
    tokens = oauth.exchange_code(
        code=code, redirect_uri=claim.redirect_uri, code_verifier=claim.secrets["code_verifier"]
    )
    return tokens, oauth.me(access_token=tokens.access_token)


def store_x(
    *, session: Session, settings: Settings, claim: Claimed, tokens: XTokens, user: XUser
) -> LinkResult:
    """Create or reconnect the X channel of ``user`` and close the connection."""
    credentials = {"access_token": tokens.access_token}
    if tokens.refresh_token:
        credentials["refresh_token"] = tokens.refresh_token
    result = link_account(
        session=session,
        settings=settings,
        account=LinkedAccount(
            platform=PlatformName.X,
            account_id=user.id,
            name=f"X @{user.username}",
            credentials=credentials,
            token_expires_at=tokens.expires_at,
        ),
        actor=claim.actor,
        reconnect=_reconnect_target(session, claim),
    )
    _done(session, claim, [result.channel.id])
    return result


def _done(session: Session, claim: Claimed, channel_ids: list[uuid.UUID]) -> None:
    row = session.get(OAuthConnection, claim.id)
    assert row is not None  # claimed in an earlier transaction; connections are never deleted
    session.flush()
    finish(session=session, row=row, status=ConnectionStatus.DONE, channel_ids=channel_ids)


# --- Meta ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PageChoice:
    """A Page the admin may connect, its token's expiry and its linked Instagram account."""

    id: str
    name: str
    token: str = field(repr=False)
    token_expires_at: datetime | None
    instagram_id: str | None
    instagram_username: str | None


def fetch_meta(
    *, settings: Settings, claim: Claimed, code: str, client: httpx.Client
) -> list[PageChoice]:
    """Code → short-lived → long-lived user token → Pages, each token's expiry from
    ``debug_token``; no database access."""
    oauth = MetaOAuthClient(app=meta_oauth_app(settings), client=client)
    short = oauth.exchange_code(code=code, redirect_uri=claim.redirect_uri)
    user = oauth.long_lived(user_token=short.access_token)
    choices = []
    for page in oauth.pages(user_token=user.access_token):
        info = oauth.debug_token(token=page.access_token)
        choices.append(
            PageChoice(
                id=page.id,
                name=page.name or page.id,
                token=page.access_token,
                token_expires_at=info.expires_at,
                instagram_id=page.instagram.id if page.instagram else None,
                instagram_username=page.instagram.username if page.instagram else None,
            )
        )
    return choices


def _public_choice(session: Session, page: PageChoice) -> dict[str, Any]:
    def existing(platform: PlatformName, account_id: str) -> str | None:
        channel = find_channel(session=session, platform=platform, account_id=account_id)
        return channel.name if channel else None

    expires = page.token_expires_at.isoformat() if page.token_expires_at else None
    instagram = None
    if page.instagram_id:
        instagram = {
            "id": page.instagram_id,
            "username": page.instagram_username,
            "channel": existing(PlatformName.INSTAGRAM, page.instagram_id),
        }
    return {
        "id": page.id,
        "name": page.name,
        "token_expires_at": expires,
        "channel": existing(PlatformName.FACEBOOK, page.id),
        "instagram": instagram,
    }


def store_meta(
    *, session: Session, settings: Settings, claim: Claimed, pages: list[PageChoice]
) -> list[LinkResult]:
    """Keep the choices for the admin (10 more minutes); a reconnect of one channel applies
    at once.  Returns the channels linked (empty while the admin chooses).  ConnectionRefused
    when there is no Page at all, or the channel to reconnect is not among them."""
    row = session.get(OAuthConnection, claim.id)
    assert row is not None  # claimed in an earlier transaction
    if not pages:
        raise ConnectionRefused(
            "The Facebook account you signed in with manages no Pages, so there is nothing to "
            "connect. Sign in with an account that manages the newsroom's Pages."
        )
    row.choices = [_public_choice(session, p) for p in pages]
    keep_secrets(
        row,
        {"pages": {p.id: p.token for p in pages}},
        settings=settings,
    )
    row.status = ConnectionStatus.CHOOSING
    row.expires_at = utcnow() + STATE_TTL
    session.add(row)
    target = _reconnect_target(session, claim)
    if target is None:
        return []
    facebook = target.platform == PlatformName.FACEBOOK
    offered = {c["id"] for c in row.choices} | {
        c["instagram"]["id"] for c in row.choices if c.get("instagram")
    }
    pick = [target.account_id] if target.account_id in offered else []
    session.flush()
    return choose_meta(
        session=session,
        settings=settings,
        connection_id=row.id,
        actor=claim.actor,
        pages=pick if facebook else [],
        instagram=[] if facebook else pick,
        reconnect=target,
    )


def choose_meta(
    *,
    session: Session,
    settings: Settings,
    connection_id: uuid.UUID,
    actor: str,
    pages: list[str],
    instagram: list[str],
    reconnect: Channel | None = None,
) -> list[LinkResult]:
    """Create or reconnect a Facebook channel per picked Page and an Instagram channel per
    picked Instagram account (with its Page's token); then the connection is done.

    ConnectionRefused (nothing stored) for a connection not waiting for a choice or past its
    deadline, an empty pick, or an id that was not offered.  The caller checked that the
    admin may act on the connection (:func:`scheduler.access.connections.may_act_on`);
    ``actor`` is who the audit trail names.
    """
    row = session.get(OAuthConnection, connection_id)
    if row is None or row.platform != "meta":
        raise ConnectionRefused("There is no Facebook connection waiting for your choice.")
    if row.status != ConnectionStatus.CHOOSING:
        raise ConnectionRefused(f"This connection is {row.status}; it takes no choice now.")
    if row.expires_at <= utcnow():
        raise ConnectionRefused("The choice expired (10 minutes); connect Facebook again.")
    offered = {c["id"]: c for c in row.choices}
    by_ig = {c["instagram"]["id"]: c for c in row.choices if c.get("instagram")}
    unknown = sorted(set(pages) - set(offered)) + sorted(set(instagram) - set(by_ig))
    if unknown:
        raise ConnectionRefused(f"Not offered by this Facebook login: {', '.join(unknown)}.")
    if not pages and not instagram:
        if reconnect is not None:
            raise ConnectionRefused(
                f"The Facebook account you signed in with does not manage {reconnect.name} "
                f"(account {reconnect.account_id}); sign in with one that does."
            )
        raise ConnectionRefused("Pick at least one Page or Instagram account.")
    tokens: dict[str, str] = kept_secrets(row, settings=settings)["pages"]
    results = []
    for page_id in dict.fromkeys(pages):
        page = offered[page_id]
        name = f"Facebook {page['name']}"
        account = _account(page, PlatformName.FACEBOOK, page_id, name, tokens[page_id])
        results.append(_link(session, settings, actor, reconnect, account))
    for ig_id in dict.fromkeys(instagram):
        page = by_ig[ig_id]
        name = f"Instagram @{page['instagram'].get('username') or ig_id}"
        account = _account(page, PlatformName.INSTAGRAM, ig_id, name, tokens[page["id"]])
        results.append(_link(session, settings, actor, reconnect, account))
    session.flush()
    finish(
        session=session,
        row=row,
        status=ConnectionStatus.DONE,
        channel_ids=[r.channel.id for r in results],
    )
    return results


def _account(
    page: dict[str, Any], platform: PlatformName, account_id: str, name: str, token: str
) -> LinkedAccount:
    expires = page.get("token_expires_at")
    return LinkedAccount(
        platform=platform,
        account_id=account_id,
        name=name,
        credentials={"access_token": token},
        token_expires_at=datetime.fromisoformat(expires) if expires else None,
    )


def _link(
    session: Session,
    settings: Settings,
    actor: str,
    reconnect: Channel | None,
    account: LinkedAccount,
) -> LinkResult:
    # Reconnecting one channel applies only to that account; other picks are plain connects.
    target = reconnect if reconnect is not None and reconnect.platform == account.platform else None
    return link_account(
        session=session, settings=settings, account=account, actor=actor, reconnect=target
    )
