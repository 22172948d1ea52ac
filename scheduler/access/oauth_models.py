"""The connect flow's table: one row per "connect an account" attempt
(:mod:`scheduler.access.connections`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Column, Field, SQLModel

from scheduler.models import _created, _enum, _json, _ts


class ConnectionStatus(StrEnum):
    PENDING = "pending"  # waiting for the platform's redirect to the callback
    EXCHANGING = "exchanging"  # the callback claimed the state and is talking to the platform
    CHOOSING = "choosing"  # Meta: waiting for the admin to pick Pages and Instagram accounts
    DONE = "done"
    FAILED = "failed"


class OAuthConnection(SQLModel, table=True):
    """One "connect an account" flow, from the authorize URL to the channels it made.

    Only the SHA-256 of ``state`` is stored (the state is the callback's only credential); the
    PKCE verifier and, for Meta, the Page tokens waiting for the admin's choice are encrypted
    like channel credentials and wiped when the flow ends.
    """

    __tablename__ = "oauth_connection"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    state_hash: str = Field(max_length=64, unique=True)
    platform: str = Field(max_length=20)
    actor: str = Field(max_length=200)
    status: ConnectionStatus = _enum(ConnectionStatus.PENDING)
    redirect_uri: str = Field(max_length=2000)
    channel_id: uuid.UUID | None = Field(default=None, foreign_key="channel.id")
    secrets_encrypted: str = Field(default="", sa_column=Column(sa.Text, nullable=False))
    choices: list[dict[str, Any]] = _json(list)
    channel_ids: list[str] = _json(list)
    error: str | None = Field(default=None, max_length=2000)
    created_at: datetime = _created()
    expires_at: datetime = _ts(nullable=False, index=True)
    used_at: datetime | None = _ts()
    completed_at: datetime | None = _ts()
