"""Fixtures shared by the scheduler service tests."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.engine import Engine

from config import Settings
from scheduler.channels import ensure_sandbox_channels
from scheduler.db.engine import session_scope


@pytest.fixture
def channels(engine: Engine, settings: Settings) -> dict[str, uuid.UUID]:
    """The sandbox's three channels, by platform (modules that need others define their own)."""
    with session_scope(engine) as s:
        return {
            str(c.platform): c.id for c in ensure_sandbox_channels(session=s, settings=settings)
        }
