"""Fixtures shared by the scheduler service tests."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.engine import Engine

from config import Settings
from tests.utils.factories import sandbox_channel_ids


@pytest.fixture
def channels(engine: Engine, settings: Settings) -> dict[str, uuid.UUID]:
    """The sandbox's three channels, by platform (modules that need others define their own)."""
    return sandbox_channel_ids(engine, settings)
