"""A delivery whose X token is refused (401) refreshes once and publishes; a second 401 after
the refresh is needs_reauth, not a loop.  The sandbox over HTTP, real SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from adapters.errors import ErrorClass
from adapters.sandbox import SandboxClient, SandboxServer
from config import Settings
from config.settings import MetaSettings, XSettings
from scheduler.db.engine import session_scope
from scheduler.delivery.attempt import deliver_attempt
from scheduler.models import AttemptStatus, Channel, ChannelStatus, Post, PostStatus, utcnow
from tests.utils.delivery import claim, due_post, load
from tests.utils.x_tokens import connect_existing, deliver_over_http, stored_credentials

X_ACCOUNT = "1700000000000000001"
TTL = 60


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer("127.0.0.1", 0, token_ttl_seconds=TTL) as server:
        yield server


@pytest.fixture
def admin(sandbox: SandboxServer) -> Iterator[SandboxClient]:
    client = SandboxClient(sandbox.url)
    yield client
    client.close()


@pytest.fixture
def settings(tmp_path: Path, sandbox: SandboxServer) -> Settings:
    url = sandbox.url
    return Settings(
        environment="test",
        data_dir=tmp_path / "data",
        max_attempts=2,
        x=XSettings(base_url=url, authorize_base_url=url),
        meta=MetaSettings(base_url=url, dialog_base_url=url),
    )


def oauth_post(
    engine: Engine, settings: Settings, article_json: dict[str, Any]
) -> tuple[uuid.UUID, uuid.UUID]:
    """A due X post on the seeded X channel, connected through OAuth; (post, channel)."""
    post_id = due_post(engine, settings, article_json)
    with Session(engine) as s:
        channel_id = s.exec(select(Channel.id).where(col(Channel.platform) == "x")).one()
    connect_existing(engine, settings, channel_id)
    return post_id, channel_id


def test_a_401_refreshes_once_and_the_post_is_published(
    engine: Engine, settings: Settings, admin: SandboxClient, article_json: dict[str, Any]
) -> None:
    post_id, channel_id = oauth_post(engine, settings, article_json)
    before = stored_credentials(engine, settings, channel_id)
    # The access token dies at X, while newsrelay still thinks it has time (no job ran).
    admin.advance_token_clock(TTL + 1)
    calls = len(admin.requests(platform="x", kind="oauth_token"))

    assert deliver_over_http(engine, claim(engine, post_id), settings) == "published"

    post, attempts = load(engine, post_id)
    assert post.status == PostStatus.PUBLISHED and post.external_id
    assert [a.status for a in attempts] == [AttemptStatus.SUCCEEDED]
    assert len(admin.requests(platform="x", kind="oauth_token")) == calls + 1
    after = stored_credentials(engine, settings, channel_id)
    assert after["refresh_token"] != before["refresh_token"]  # the rotated pair was saved
    creates = [r for r in admin.requests(platform="x") if r["kind"] == "create"]
    assert [r["status"] for r in creates] == [401, 201]


def test_a_second_401_after_the_refresh_is_needs_reauth_not_a_loop(
    engine: Engine, settings: Settings, admin: SandboxClient, article_json: dict[str, Any]
) -> None:
    post_id, channel_id = oauth_post(engine, settings, article_json)
    admin.set_fault(X_ACCOUNT, expired_token=True)  # every token of the account is refused
    calls = len(admin.requests(platform="x", kind="oauth_token"))

    assert deliver_over_http(engine, claim(engine, post_id), settings) == "needs_reauth"

    assert len(admin.requests(platform="x", kind="oauth_token")) == calls + 1
    creates = [r for r in admin.requests(platform="x") if r["kind"] == "create"]
    assert [r["status"] for r in creates] == [401, 401]
    post, attempts = load(engine, post_id)
    assert post.status == PostStatus.NEEDS_REAUTH
    assert [(a.status, a.error_class) for a in attempts] == [
        (AttemptStatus.FAILED, ErrorClass.REAUTH)
    ]
    with Session(engine) as s:
        channel = s.get(Channel, channel_id)
        assert channel is not None and channel.status == ChannelStatus.NEEDS_REAUTH


def test_a_401_on_a_token_that_cannot_refresh_is_needs_reauth_at_once(
    engine: Engine, settings: Settings, admin: SandboxClient, article_json: dict[str, Any]
) -> None:
    post_id = due_post(engine, settings, article_json)  # the seeded static token: no refresh
    admin.set_fault(X_ACCOUNT, expired_token=True)

    assert deliver_over_http(engine, claim(engine, post_id), settings) == "needs_reauth"
    assert admin.requests(platform="x", kind="oauth_token") == []


class TokenEndpointDown(httpx.BaseTransport):
    """Forwards to the sandbox over HTTP, except X's token endpoint, which answers 503 while
    ``down`` (as X does in an outage) — the sandbox's own faults never touch that endpoint."""

    def __init__(self) -> None:
        self.down = True
        self.refused = 0
        self._inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.down and request.url.path == "/2/oauth2/token":
            self.refused += 1
            return httpx.Response(503, json={"title": "Service Unavailable", "status": 503})
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


def test_a_401_whose_refresh_fails_transiently_is_retried_later_not_needs_reauth(
    engine: Engine, settings: Settings, admin: SandboxClient, article_json: dict[str, Any]
) -> None:
    post_id, channel_id = oauth_post(engine, settings, article_json)
    before = stored_credentials(engine, settings, channel_id)
    admin.advance_token_clock(TTL + 1)  # the access token dies at X
    gateway = TokenEndpointDown()

    with httpx.Client(timeout=10, transport=gateway) as client:
        outcome = deliver_attempt(
            engine=engine, attempt_id=claim(engine, post_id), settings=settings, client=client
        )

    assert gateway.refused == 1
    assert outcome != "needs_reauth"
    post, attempts = load(engine, post_id)
    assert post.status == PostStatus.RETRY_WAIT, post.status
    assert post.next_attempt_at is not None
    assert [(a.status, a.error_class) for a in attempts] == [
        (AttemptStatus.RETRY, ErrorClass.RETRY)
    ]
    assert "refreshing it failed" in (attempts[0].message or "")
    with Session(engine) as s:
        channel = s.get(Channel, channel_id)
        assert channel is not None and channel.status == ChannelStatus.ACTIVE
    # The pair X still honours is kept: nothing was rotated.
    assert stored_credentials(engine, settings, channel_id) == before

    # X's token endpoint is back: the later retry refreshes and publishes, exactly once.
    gateway.down = False
    with session_scope(engine) as s:  # its back-off has passed
        s.execute(sa.update(Post).where(col(Post.id) == post_id).values(next_attempt_at=utcnow()))
    with httpx.Client(timeout=10, transport=gateway) as client:
        outcome = deliver_attempt(
            engine=engine, attempt_id=claim(engine, post_id), settings=settings, client=client
        )
    assert outcome == "published"
    post, attempts = load(engine, post_id)
    assert post.status == PostStatus.PUBLISHED and post.external_id
    assert [p["id"] for p in admin.posts(platform="x")] == [post.external_id]
    assert (
        stored_credentials(engine, settings, channel_id)["refresh_token"]
        != (before["refresh_token"])
    )
