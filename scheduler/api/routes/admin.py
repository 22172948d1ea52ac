"""API routes for admins: channels (with write-only credentials) and API keys.

Credentials go in and are encrypted at rest; no response, log line, error or audit event ever
carries them back out (the audit trail says "credentials replaced", not what they are).
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from sqlmodel import Session

from scheduler.access.keys import issue_api_key, key_row, list_api_keys, revoke_api_key
from scheduler.api.deps import AdminDep, SessionDep, SettingsDep
from scheduler.api.errors import ApiError
from scheduler.api.schemas.ops import (
    PROBLEMS,
    ChannelCreate,
    ChannelHealth,
    ChannelList,
    ChannelUpdate,
    CredentialsIn,
    KeyCreate,
    KeyCreated,
    KeyList,
    KeyOut,
)
from scheduler.channels import (
    ChannelConflict,
    InvalidChannelSettings,
    channel_name_taken,
    create_channel,
    get_channel,
    replace_credentials,
    update_channel,
)
from scheduler.models import Channel
from scheduler.ops.channel_health import channel_health, one_channel_health

router = APIRouter(prefix="/admin", tags=["admin"], responses=PROBLEMS)

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: PROBLEMS[401] | {"description": "Not found"}}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: PROBLEMS[401] | {"description": "The name is taken"}
}


def _health(session: Session, channel: Channel) -> ChannelHealth:
    session.flush()
    return one_channel_health(session=session, channel=channel)


def _name_free(session: Session, name: str) -> None:
    if channel_name_taken(session=session, name=name):
        raise ApiError(409, "Conflict", f"A channel named {name!r} already exists.")


@router.get("/channels", response_model=ChannelList)
def admin_list_channels(session: SessionDep, settings: SettingsDep, _: AdminDep) -> dict[str, Any]:
    """Every channel with its settings and health (credentials are write-only)."""
    return {"channels": channel_health(session=session, settings=settings)}


@router.post("/channels", status_code=201, response_model=ChannelHealth, responses=CONFLICT)
def admin_create_channel(
    body: ChannelCreate, session: SessionDep, settings: SettingsDep, principal: AdminDep
) -> ChannelHealth:
    """Connect an account; its credentials are stored encrypted and never shown again."""
    _name_free(session, body.name)
    try:
        channel = create_channel(
            session=session,
            settings=settings,
            platform=body.platform,
            name=body.name,
            account_id=body.account_id,
            credentials=dict(body.credentials),
            timezone=body.timezone,
            channel_settings=body.settings.model_dump(),
            actor=principal.actor,
        )
    except InvalidChannelSettings as exc:
        raise _invalid_settings(exc) from None
    return _health(session, channel)


@router.patch(
    "/channels/{channel_id}",
    response_model=ChannelHealth,
    responses={**NOT_FOUND, **CONFLICT},
)
def admin_update_channel(
    channel_id: uuid.UUID, body: ChannelUpdate, session: SessionDep, principal: AdminDep
) -> ChannelHealth:
    """Rename a channel or change its timezone or settings (fields left out stay as they are)."""
    channel = get_channel(session=session, channel_id=channel_id)
    try:
        update_channel(
            session=session,
            channel=channel,
            actor=principal.actor,
            name=body.name,
            timezone=body.timezone,
            channel_settings=body.settings.model_dump() if body.settings else None,
        )
    except ChannelConflict as exc:
        raise ApiError(409, "Conflict", str(exc)) from None
    except InvalidChannelSettings as exc:
        raise _invalid_settings(exc) from None
    return _health(session, channel)


def _invalid_settings(exc: InvalidChannelSettings) -> ApiError:
    detail = "The settings do not fit the channel's platform; nothing was changed."
    return ApiError(422, "Invalid input", detail, errors=exc.errors)


@router.put("/channels/{channel_id}/credentials", response_model=ChannelHealth, responses=NOT_FOUND)
def admin_replace_credentials(
    channel_id: uuid.UUID,
    body: CredentialsIn,
    session: SessionDep,
    settings: SettingsDep,
    principal: AdminDep,
) -> ChannelHealth:
    """Replace the credentials (write-only); a channel waiting for re-authorisation resumes."""
    channel = get_channel(session=session, channel_id=channel_id)
    replace_credentials(
        session=session,
        settings=settings,
        channel=channel,
        credentials=dict(body.credentials),
        actor=principal.actor,
    )
    return _health(session, channel)


@router.get("/keys", response_model=KeyList)
def admin_list_keys(session: SessionDep, _: AdminDep) -> dict[str, Any]:
    """Every API key: prefix, name, role, created and last used (never the key)."""
    return {"keys": [key_row(k) for k in list_api_keys(session=session)]}


@router.post("/keys", status_code=201, response_model=KeyCreated)
def admin_create_key(body: KeyCreate, session: SessionDep, principal: AdminDep) -> KeyCreated:
    """Issue a key; the response is the only time the key itself is shown."""
    row, key = issue_api_key(session=session, name=body.name, role=body.role, actor=principal.actor)
    return KeyCreated(**key_row(row).model_dump(), key=key)


@router.delete("/keys/{key_id}", response_model=KeyOut, responses=NOT_FOUND)
def admin_revoke_key(key_id: uuid.UUID, session: SessionDep, principal: AdminDep) -> KeyOut:
    """Revoke a key: requests with it are refused from now on."""
    return key_row(revoke_api_key(session=session, key_id=key_id, actor=principal.actor))
