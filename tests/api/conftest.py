"""API test fixtures: the real app on a fresh migrated database, API keys for every role, and
seeded channels, an article and its posts (no mocks of the database or our own code)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from config import Settings
from scheduler.access.auth import create_api_key
from scheduler.api.app import create_app
from scheduler.channels import ensure_sandbox_channels
from scheduler.db.engine import make_engine, session_scope
from scheduler.intake.articles import ingest_article
from scheduler.intake.schemas import parse_article
from scheduler.models import AttemptStatus, DeliveryAttempt, Post, PostStatus, Role, utcnow


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
        keys = {r.value: create_api_key(session=s, name=f"{r.value}-key", role=r) for r in Role}
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


def seed_article(engine: Engine, article_json: dict[str, Any], tag: str = "api") -> list[Post]:
    """Ingest a variant of the fixture article and make its posts scheduled an hour from now."""
    data = dict(article_json, external_id=f"{article_json['external_id']}-{tag}")
    with session_scope(engine) as s:
        result = ingest_article(session=s, data=parse_article(data))
        posts = list(s.exec(select(Post).where(Post.article_id == result.article.id)).all())
        for post in posts:
            # Rendering belongs to the workers; these tests only need posts waiting to go out.
            post.status = PostStatus.SCHEDULED
            post.text = f"{data['title']} {tag}"
            post.scheduled_at = utcnow() + timedelta(hours=1)
            post.rendered_revision = 1
            s.add(post)
    return posts


def add_attempt(
    engine: Engine,
    post: Post,
    *,
    status: AttemptStatus = AttemptStatus.SUCCEEDED,
    error_class: str | None = None,
    minutes_ago: float = 0,
    latency_ms: int = 420,
    message: str | None = None,
) -> uuid.UUID:
    """Record a finished attempt for ``post`` (as a worker would)."""
    at = utcnow() - timedelta(minutes=minutes_ago)
    with session_scope(engine) as s:
        number = len(
            s.exec(select(DeliveryAttempt).where(DeliveryAttempt.post_id == post.id)).all()
        )
        attempt = DeliveryAttempt(
            post_id=post.id,
            channel_id=post.channel_id,
            number=number + 1,
            status=status,
            created_at=at,
            scheduled_for=at - timedelta(seconds=2),
            started_at=at,
            finished_at=at + timedelta(milliseconds=latency_ms),
            http_status=200 if status == AttemptStatus.SUCCEEDED else 500,
            error_class=error_class,
            latency_ms=latency_ms,
            message=message,
            worker="test-worker",
        )
        s.add(attempt)
        return attempt.id
