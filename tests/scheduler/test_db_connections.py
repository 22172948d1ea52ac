"""Dead pooled connections on real PostgreSQL: the worker's engine pings only idle connections,
so a connection killed under load must be caught by the hot path's retry, not by a failed post.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from config import Settings
from scheduler.channels import ensure_sandbox_channels
from scheduler.db.engine import make_engine, retry_on_disconnect, session_scope
from scheduler.delivery.attempt import deliver_attempt
from scheduler.delivery.dispatch import claim_due_posts
from scheduler.intake.articles import ingest_article
from scheduler.intake.schemas import parse_article
from scheduler.models import AttemptStatus, DeliveryAttempt, Post, PostStatus, utcnow


def _kill_connections(pg_admin: Engine, url: str) -> int:
    """Terminate every server process on the test's database, as a server restart would."""
    db = url.rsplit("/", 1)[1]
    with pg_admin.connect() as conn:
        return len(
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :db AND pid <> pg_backend_pid()"
                ),
                {"db": db},
            ).all()
        )


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())


@pytest.fixture
def busy_engine(pg_url: str) -> Iterator[Engine]:
    """The worker's kind of engine: no ping unless a connection sat idle for a minute."""
    engine = make_engine(pg_url, pool_size=1, max_overflow=0, ping_idle_after=60)
    yield engine
    engine.dispose()


def test_an_idle_dead_connection_is_pinged_and_replaced(pg_admin: Engine, pg_url: str) -> None:
    engine = make_engine(pg_url, pool_size=1, max_overflow=0, ping_idle_after=0.2)
    try:
        first = _backend_pid(engine)
        assert _kill_connections(pg_admin, pg_url) >= 1
        time.sleep(0.3)
        assert _backend_pid(engine) != first
    finally:
        engine.dispose()


def test_a_busy_dead_connection_fails_once_and_the_retry_gets_a_fresh_one(
    pg_admin: Engine, pg_url: str, busy_engine: Engine
) -> None:
    first = _backend_pid(busy_engine)
    _kill_connections(pg_admin, pg_url)
    # Not idle long enough to be pinged: the statement itself meets the dead connection.
    with pytest.raises(sa.exc.DBAPIError) as caught:
        _backend_pid(busy_engine)
    assert caught.value.connection_invalidated

    _backend_pid(busy_engine)  # the pool was invalidated: a fresh connection
    second = _backend_pid(busy_engine)
    _kill_connections(pg_admin, pg_url)
    third = retry_on_disconnect(lambda: _backend_pid(busy_engine))
    assert len({first, second, third}) == 3


def test_retry_on_disconnect_does_not_repeat_other_errors(busy_engine: Engine) -> None:
    calls = []

    def broken() -> None:
        calls.append(1)
        with busy_engine.connect() as conn:
            conn.execute(sa.text("SELECT * FROM no_such_table"))

    with pytest.raises(sa.exc.ProgrammingError):
        retry_on_disconnect(broken)
    assert len(calls) == 1


@pytest.fixture
def claimed(busy_engine: Engine, settings: Settings, article_json: dict[str, Any]) -> Any:
    """A due Facebook post claimed by the dispatcher: (post id, attempt id)."""
    with session_scope(busy_engine) as s:
        ensure_sandbox_channels(session=s, settings=settings)
        article = ingest_article(session=s, data=parse_article(article_json)).article
        post = s.exec(
            select(Post).where(Post.article_id == article.id, Post.platform == "facebook")
        ).one()
        post.status = PostStatus.SCHEDULED
        post.text = "A rendered post"
        post.rendered_revision = 1
        post.scheduled_at = utcnow() - timedelta(minutes=1)
        s.add(post)
        post_id = post.id
    claim_due_posts(engine=busy_engine, now=utcnow(), batch=10, lease_seconds=60)
    with Session(busy_engine) as s:
        attempt_id: uuid.UUID = s.exec(
            select(DeliveryAttempt.id).where(DeliveryAttempt.post_id == post_id)
        ).one()
    return post_id, attempt_id


def _states(engine: Engine, post_id: uuid.UUID, attempt_id: uuid.UUID) -> tuple[Any, ...]:
    with Session(engine) as s:
        post = s.get(Post, post_id)
        attempt = s.get(DeliveryAttempt, attempt_id)
        assert post is not None and attempt is not None
        return post.status, attempt.status, post.external_id


def _deliver(engine: Engine, attempt_id: uuid.UUID, settings: Settings, handler: Any) -> str:
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        return deliver_attempt(
            engine=engine, attempt_id=attempt_id, settings=settings, client=client
        )


def test_a_delivery_survives_its_connections_being_killed_before_the_fence_and_mid_call(
    pg_admin: Engine, pg_url: str, busy_engine: Engine, settings: Settings, claimed: Any
) -> None:
    post_id, attempt_id = claimed
    calls: list[httpx.Request] = []

    def facebook(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        # The database restarts while the platform call is in flight.
        _kill_connections(pg_admin, pg_url)
        return httpx.Response(200, json={"id": "1234_5678"})

    _kill_connections(pg_admin, pg_url)  # ... and before the fence, too
    assert _deliver(busy_engine, attempt_id, settings, facebook) == "published"
    assert len(calls) == 1
    assert _states(busy_engine, post_id, attempt_id) == (
        PostStatus.PUBLISHED,
        AttemptStatus.SUCCEEDED,
        "1234_5678",
    )


def test_a_fence_whose_commit_is_cut_off_is_not_repeated_and_nothing_is_sent(
    pg_admin: Engine,
    busy_engine: Engine,
    settings: Settings,
    claimed: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    post_id, attempt_id = claimed
    real_commit = psycopg.Connection.commit
    cut: list[int] = []

    def commit_cut_off(self: psycopg.Connection[Any]) -> None:
        if not cut:  # the server goes away just as the fence commits
            cut.append(self.info.backend_pid)
            with pg_admin.connect() as conn:
                conn.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": cut[0]})
        real_commit(self)

    monkeypatch.setattr(psycopg.Connection, "commit", commit_cut_off)
    calls: list[httpx.Request] = []

    def facebook(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, json={"id": "1234_5678"})

    with pytest.raises(sa.exc.DBAPIError):
        _deliver(busy_engine, attempt_id, settings, facebook)
    assert cut and calls == []
    # The server rolled the fence back: the message the reaper re-sends delivers it, once.
    assert _states(busy_engine, post_id, attempt_id) == (
        PostStatus.QUEUED,
        AttemptStatus.ENQUEUED,
        None,
    )
    assert _deliver(busy_engine, attempt_id, settings, facebook) == "published"
    assert len(calls) == 1


def test_an_outcome_committed_before_its_answer_was_lost_still_counts_as_recorded(
    busy_engine: Engine, settings: Settings, claimed: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    post_id, attempt_id = claimed
    real_execute = psycopg.Cursor.execute
    dropped: list[str] = []

    def execute_then_drop(self: psycopg.Cursor[Any], query: Any, *a: Any, **kw: Any) -> Any:
        result = real_execute(self, query, *a, **kw)
        if not dropped and isinstance(query, str) and query.lstrip().startswith("WITH recorded"):
            # The outcome statement ran and committed (autocommit); then the connection drops
            # before the worker reads the answer.
            dropped.append(query)
            self.connection.close()
            raise psycopg.OperationalError("server closed the connection unexpectedly")
        return result

    monkeypatch.setattr(psycopg.Cursor, "execute", execute_then_drop)
    outcome = _deliver(
        busy_engine, attempt_id, settings, lambda r: httpx.Response(200, json={"id": "1_2"})
    )
    assert dropped  # the first write's answer was really lost, and the retry matched nothing
    assert outcome == "published"
    assert _states(busy_engine, post_id, attempt_id) == (
        PostStatus.PUBLISHED,
        AttemptStatus.SUCCEEDED,
        "1_2",
    )
