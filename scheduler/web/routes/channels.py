"""The admins' Channels page: every channel's health, token expiry and how it was connected;
"Connect X", "Connect Facebook & Instagram", per-channel "Reconnect", "Disable" and "Enable";
and the page where the admin picks which Pages and Instagram accounts become channels."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from adapters.oauth import OAuthConfigError
from scheduler.access.auth import Principal
from scheduler.access.connect_flow import choose_meta
from scheduler.access.connections import (
    ConnectionNotFound,
    ConnectionRefused,
    ConnectPlatform,
    get_connection,
    may_act_on,
    start_connection,
)
from scheduler.access.oauth_models import ConnectionStatus, OAuthConnection
from scheduler.api.deps import SessionDep, SettingsDep
from scheduler.channels import (
    ChannelConflict,
    ChannelNotFound,
    get_channel,
    pause_channel,
    resume_channel,
)
from scheduler.models import PlatformName, Role, utcnow
from scheduler.web.deps import CsrfDep, flash, needs, redirect, render
from scheduler.web.queries import channel_health_rows
from scheduler.web.routes.oauth_callback import describe

router = APIRouter()
AdminUser = Annotated[Principal, needs(Role.ADMIN)]
DISABLE_REASON = "Disabled on the Channels page"


@router.get("/channels", response_class=HTMLResponse)
def channels_page(
    request: Request, session: SessionDep, settings: SettingsDep, user: AdminUser
) -> HTMLResponse:
    return render(
        request,
        "channels.html",
        session=session,
        channels=channel_health_rows(session=session, settings=settings),
        now=utcnow(),
    )


def _start(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: Principal,
    platform: ConnectPlatform,
    channel_id: uuid.UUID | None = None,
) -> RedirectResponse:
    try:
        started = start_connection(
            session=session,
            settings=settings,
            platform=platform,
            actor=user.actor,
            channel_id=channel_id,
        )
    except (OAuthConfigError, ConnectionRefused) as exc:
        flash(request, f"Not connected: {exc}", kind="error")
        return redirect("/channels")
    except ConnectionNotFound:
        raise HTTPException(404) from None
    # Off to the platform's consent page; it comes back to /oauth/callback/{platform}.
    return redirect(started.authorize_url)


@router.post("/channels/connect/{platform}", dependencies=[CsrfDep])
def connect(
    platform: ConnectPlatform,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: AdminUser,
) -> RedirectResponse:
    return _start(request, session, settings, user, platform)


@router.post("/channels/{channel_id}/reconnect", dependencies=[CsrfDep])
def reconnect(
    channel_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: AdminUser,
) -> RedirectResponse:
    try:
        channel = get_channel(session=session, channel_id=channel_id)
    except ChannelNotFound:
        raise HTTPException(404) from None
    platform: ConnectPlatform = "x" if channel.platform == PlatformName.X else "meta"
    return _start(request, session, settings, user, platform, channel_id)


@router.post("/channels/{channel_id}/disable", dependencies=[CsrfDep])
def disable(
    channel_id: uuid.UUID, request: Request, session: SessionDep, user: AdminUser
) -> RedirectResponse:
    """Pause the channel: its posts are held until it is enabled again."""
    try:
        channel = get_channel(session=session, channel_id=channel_id)
        pause_channel(session=session, channel=channel, reason=DISABLE_REASON, actor=user.actor)
    except ChannelNotFound:
        raise HTTPException(404) from None
    except ChannelConflict as exc:
        flash(request, f"Not changed: {exc}.", kind="error")
    else:
        flash(request, f"{channel.name} is disabled; its posts are held until you enable it.")
    return redirect("/channels")


@router.post("/channels/{channel_id}/enable", dependencies=[CsrfDep])
def enable(
    channel_id: uuid.UUID, request: Request, session: SessionDep, user: AdminUser
) -> RedirectResponse:
    try:
        channel = get_channel(session=session, channel_id=channel_id)
        resume_channel(session=session, channel=channel, actor=user.actor)
    except ChannelNotFound:
        raise HTTPException(404) from None
    except ChannelConflict as exc:
        flash(request, f"Not changed: {exc}.", kind="error")
    else:
        flash(request, f"{channel.name} is enabled; its held posts are back on schedule.")
    return redirect("/channels")


def _choosing(session: SessionDep, connection_id: uuid.UUID, user: Principal) -> OAuthConnection:
    try:
        row = get_connection(session=session, connection_id=connection_id, actor=None)
    except ConnectionNotFound:
        raise HTTPException(404) from None
    if row.platform != "meta" or not may_act_on(row, user):
        raise HTTPException(404)
    return row


@router.get("/channels/connect/meta/{connection_id}", response_class=HTMLResponse)
def choose_page(
    connection_id: uuid.UUID, request: Request, session: SessionDep, user: AdminUser
) -> HTMLResponse:
    row = _choosing(session, connection_id, user)
    open_ = row.status == ConnectionStatus.CHOOSING and row.expires_at > utcnow()
    return render(request, "connect_meta.html", session=session, row=row, open=open_)


@router.post("/channels/connect/meta/{connection_id}", dependencies=[CsrfDep])
def choose_submit(
    connection_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: AdminUser,
    page: Annotated[list[str] | None, Form(max_length=100)] = None,
    instagram: Annotated[list[str] | None, Form(max_length=100)] = None,
) -> RedirectResponse:
    row = _choosing(session, connection_id, user)
    try:
        results = choose_meta(
            session=session,
            settings=settings,
            connection_id=row.id,
            actor=user.actor,
            pages=page or [],
            instagram=instagram or [],
        )
    except ConnectionRefused as exc:
        flash(request, f"Nothing was connected: {exc}", kind="error")
        return redirect(f"/channels/connect/meta/{row.id}")
    flash(request, describe(results))
    return redirect("/channels")
