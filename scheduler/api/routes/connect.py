"""Connecting accounts over the API (admin key): start a connection, watch it, pick Pages.

``POST /admin/channels/connect/{x|meta}`` answers the authorize URL; the admin opens it in any
browser, the platform redirects to ``/oauth/callback/{x|meta}`` (served by the web app), and
``GET .../{connection_id}`` shows the progress (the CLI polls it).  For Meta, the choices are
listed there and ``POST /admin/channels/connect/meta/{connection_id}`` creates the channels.
A connection is visible only to the key that started it.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter

from adapters.oauth import OAuthConfigError
from scheduler.access.channel_link import LinkResult
from scheduler.access.connect_flow import choose_meta
from scheduler.access.connections import (
    ConnectionNotFound,
    ConnectionRefused,
    ConnectPlatform,
    connection_view,
    get_connection,
    start_connection,
)
from scheduler.api.deps import AdminDep, SessionDep, SettingsDep
from scheduler.api.errors import ApiError
from scheduler.api.schemas.connect import (
    ConnectedChannels,
    ConnectionOut,
    ConnectStart,
    ConnectStarted,
    MetaChoice,
)
from scheduler.api.schemas.ops import PROBLEMS

router = APIRouter(prefix="/admin/channels/connect", tags=["admin"], responses=PROBLEMS)
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: PROBLEMS[401] | {"description": text}
    for code, text in (
        (404, "No such channel or connection"),
        (409, "The connection does not take this now"),
        (503, "The platform's app is not configured"),
    )
}


@router.post("/{platform}", status_code=201, response_model=ConnectStarted, responses=_ERRORS)
def connect_start(
    platform: ConnectPlatform,
    session: SessionDep,
    settings: SettingsDep,
    principal: AdminDep,
    body: ConnectStart | None = None,
) -> dict[str, Any]:
    """Start connecting an X account or Facebook Pages and Instagram accounts (or reconnect
    ``channel_id``); the URL works once, for 10 minutes, for this key."""
    try:
        started = start_connection(
            session=session,
            settings=settings,
            platform=platform,
            actor=principal.actor,
            channel_id=body.channel_id if body else None,
        )
    except OAuthConfigError as exc:
        raise ApiError(503, "Not configured", str(exc)) from None
    except ConnectionNotFound as exc:
        raise ApiError(404, "Not found", str(exc)) from None
    except ConnectionRefused as exc:
        raise ApiError(409, "Conflict", str(exc)) from None
    return {
        "connection_id": str(started.id),
        "authorize_url": started.authorize_url,
        "expires_at": started.expires_at.isoformat(),
    }


def _status(
    platform: str, connection_id: uuid.UUID, session: SessionDep, principal: AdminDep
) -> dict[str, Any]:
    try:
        row = get_connection(session=session, connection_id=connection_id, actor=principal.actor)
    except ConnectionNotFound as exc:
        raise ApiError(404, "Not found", str(exc)) from None
    if row.platform != platform:
        raise ApiError(404, "Not found", f"no {platform} connection {connection_id}")
    return connection_view(row)


# One route per platform (not /{platform}/{id}), so that the Meta path's GET and POST are one
# documented path and a 405's Allow header names exactly what the document says.
@router.get("/x/{connection_id}", response_model=ConnectionOut, responses=_ERRORS)
def connect_status_x(
    connection_id: uuid.UUID, session: SessionDep, principal: AdminDep
) -> dict[str, Any]:
    """The X connection's progress and the channel it made."""
    return _status("x", connection_id, session, principal)


@router.get("/meta/{connection_id}", response_model=ConnectionOut, responses=_ERRORS)
def connect_status_meta(
    connection_id: uuid.UUID, session: SessionDep, principal: AdminDep
) -> dict[str, Any]:
    """The Meta connection's progress, the Pages offered, and the channels it made."""
    return _status("meta", connection_id, session, principal)


def _channel_out(result: LinkResult) -> dict[str, Any]:
    c = result.channel
    return {
        "id": str(c.id),
        "platform": str(c.platform),
        "name": c.name,
        "account_id": c.account_id,
        "reconnected": result.reconnected,
        "released_posts": result.released,
        "stale_posts": result.stale,
    }


@router.post("/meta/{connection_id}", response_model=ConnectedChannels, responses=_ERRORS)
def connect_choose(
    connection_id: uuid.UUID,
    body: MetaChoice,
    session: SessionDep,
    settings: SettingsDep,
    principal: AdminDep,
) -> dict[str, Any]:
    """Make the picked Pages and Instagram accounts channels (reconnecting existing ones)."""
    try:
        get_connection(session=session, connection_id=connection_id, actor=principal.actor)
        results = choose_meta(
            session=session,
            settings=settings,
            connection_id=connection_id,
            actor=principal.actor,
            pages=body.pages,
            instagram=body.instagram,
        )
    except ConnectionNotFound as exc:
        raise ApiError(404, "Not found", str(exc)) from None
    except ConnectionRefused as exc:
        raise ApiError(409, "Conflict", str(exc)) from None
    return {"channels": [_channel_out(r) for r in results]}
