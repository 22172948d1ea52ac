"""Request and response bodies of the connect flow (``/api/v1/admin/channels/connect``)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

_STRICT = ConfigDict(extra="forbid")
AccountId = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^\d+$")]


class ConnectStart(BaseModel):
    """Optional: the channel to reconnect (same platform family: X, or Facebook/Instagram)."""

    model_config = _STRICT
    channel_id: uuid.UUID | None = None


class ConnectStarted(BaseModel):
    """Open ``authorize_url`` in a browser before ``expires_at``; the platform then redirects
    to ``/oauth/callback/{x|meta}``."""

    connection_id: str
    authorize_url: str
    expires_at: str


class InstagramChoice(BaseModel):
    id: str
    username: str | None
    channel: str | None = Field(description="The channel it would reconnect, if any")


class PageChoiceOut(BaseModel):
    id: str
    name: str
    token_expires_at: str | None = Field(description="None: the Page token never expires")
    channel: str | None = Field(description="The channel it would reconnect, if any")
    instagram: InstagramChoice | None


class ConnectionOut(BaseModel):
    """A connection's progress; ``choices`` are filled once the Facebook login is done."""

    id: str
    platform: Literal["x", "meta"]
    status: Literal["pending", "exchanging", "choosing", "done", "failed", "expired"]
    expires_at: str
    channel_id: str | None
    choices: list[PageChoiceOut]
    channel_ids: list[str]
    error: str | None


class MetaChoice(BaseModel):
    """Page ids and Instagram account ids, among the connection's choices."""

    model_config = _STRICT
    pages: list[AccountId] = Field(default_factory=list, max_length=100)
    instagram: list[AccountId] = Field(default_factory=list, max_length=100)


class ConnectedChannel(BaseModel):
    id: str
    platform: str
    name: str
    account_id: str
    reconnected: bool
    released_posts: int
    stale_posts: int


class ConnectedChannels(BaseModel):
    channels: list[ConnectedChannel]
