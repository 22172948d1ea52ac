"""API test fixtures: the real app on a fresh migrated database with the sandbox channels and an
API key for every role (no mocks of the database or our own code).  Rows for a test come from
:mod:`tests.utils.factories`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from config import Settings
from scheduler.api.app import create_app
from scheduler.channels import ensure_sandbox_channels
from scheduler.db.engine import make_engine, session_scope
from scheduler.models import Post
from tests.utils.factories import role_keys


@dataclass
class ApiHarness:
    """The app, its database and a key per role."""

    settings: Settings
    engine: Engine
    client: TestClient
    keys: dict[str, str]

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}

    def posts(self) -> list[Post]:
        with Session(self.engine) as s:
            return list(s.exec(select(Post)).all())


def build_harness(tmp_path: Path, database_url: str, **overrides: Any) -> Iterator[ApiHarness]:
    """Start the app on ``database_url`` with one key per role and the sandbox channels."""
    settings = Settings(
        environment="test", data_dir=tmp_path / "data", database_url=database_url, **overrides
    )
    engine = make_engine(database_url)
    with session_scope(engine) as s:
        ensure_sandbox_channels(session=s, settings=settings)
        keys = role_keys(s)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield ApiHarness(settings=settings, engine=engine, client=client, keys=keys)
    engine.dispose()


@pytest.fixture
def api(tmp_path: Path, db_url: str) -> Iterator[ApiHarness]:
    """The API on a fresh database, once on SQLite and once on PostgreSQL."""
    yield from build_harness(tmp_path, db_url)


@pytest.fixture
def sqlite_api(tmp_path: Path, sqlite_url: str) -> Iterator[ApiHarness]:
    """The API on a fresh SQLite database."""
    yield from build_harness(tmp_path, sqlite_url)
