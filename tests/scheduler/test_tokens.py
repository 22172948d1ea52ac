"""X tokens stay alive: the scheduler's refresh job and the delivery's 401 path, against the
sandbox's authorization server over HTTP, on real SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from adapters.sandbox import SandboxClient, SandboxServer
from config import Settings
from config.settings import MetaSettings, XSettings
from scheduler.access.crypto import encrypt_credentials
from scheduler.access.tokens import RefreshOutcome, check_meta_tokens, refresh_due_x_tokens
from scheduler.db.engine import make_engine, session_scope
from scheduler.models import (
    AuditEvent,
    Channel,
    ChannelStatus,
    PlatformName,
    Post,
    PostStatus,
    utcnow,
)
from tests.utils.delivery import claim, due_post, load
from tests.utils.x_tokens import create_x_channel, deliver_over_http, stored_credentials

X_ACCOUNT = "1700000000000000001"
TTL = 120


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
        # The window must be shorter than the token's life (15 min of 2 h in production), or
        # every fresh token would be due at once.
        token_refresh_ahead_seconds=TTL / 2,
        x=XSettings(base_url=url, authorize_base_url=url),
        meta=MetaSettings(base_url=url, dialog_base_url=url),
    )


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


def token_calls(admin: SandboxClient) -> list[dict[str, Any]]:
    return admin.requests(platform="x", kind="oauth_token")


def race(engines: list[Engine], settings: Settings) -> list[RefreshOutcome]:
    """Both replicas run the refresh job at the same moment; every channel outcome."""
    barrier = threading.Barrier(len(engines))
    outcomes: list[RefreshOutcome] = []

    def replica(engine: Engine) -> None:
        with httpx.Client(timeout=10) as client:
            barrier.wait()
            found = refresh_due_x_tokens(engine=engine, settings=settings, client=client)
            outcomes.extend(found.values())

    threads = [threading.Thread(target=replica, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return outcomes


def make_due(engine: Engine, channel_id: uuid.UUID) -> None:
    """As if the token's expiry had come within the refresh window."""
    with session_scope(engine) as s:
        s.execute(
            sa.update(Channel)
            .where(col(Channel.id) == channel_id)
            .values(token_expires_at=utcnow() + timedelta(seconds=30))
        )


def test_the_job_refreshes_a_due_token_and_commits_the_rotated_pair_first(
    engine: Engine, settings: Settings, admin: SandboxClient, http: httpx.Client
) -> None:
    due = create_x_channel(engine, settings, name="X due")
    later = create_x_channel(engine, settings, name="X later")
    with session_scope(engine) as s:  # a token with hours left is not touched
        s.execute(
            sa.update(Channel)
            .where(col(Channel.id) == later)
            .values(token_expires_at=utcnow() + timedelta(hours=2))
        )
    make_due(engine, due)
    before = stored_credentials(engine, settings, due)
    calls = len(token_calls(admin))

    results = refresh_due_x_tokens(engine=engine, settings=settings, client=http)

    assert results == {due: RefreshOutcome.REFRESHED}
    after = stored_credentials(engine, settings, due)
    assert after["access_token"] != before["access_token"]
    assert after["refresh_token"] != before["refresh_token"]
    assert len(token_calls(admin)) == calls + 1
    with Session(engine) as s:
        channel = s.get(Channel, due)
        assert channel is not None and channel.token_expires_at is not None
        assert channel.token_expires_at > utcnow() + timedelta(seconds=TTL - 30)
    # The stored (committed) access token is the one X now accepts.
    me = http.get(
        f"{settings.x.base_url}/2/users/me",
        headers={"Authorization": f"Bearer {after['access_token']}"},
    )
    assert me.status_code == 200


@pytest.mark.parametrize("rounds", [4])
def test_two_replicas_racing_refresh_once_per_expiry_without_invalid_grant(
    db_url: str, settings: Settings, admin: SandboxClient, rounds: int
) -> None:
    engines = [make_engine(db_url), make_engine(db_url)]  # two replicas: two engines
    try:
        channel_id = create_x_channel(engines[0], settings)
        start = len(token_calls(admin))
        for _ in range(rounds):
            make_due(engines[0], channel_id)
            outcomes = race(engines, settings)
            assert outcomes.count(RefreshOutcome.REFRESHED) == 1, outcomes
            assert set(outcomes) <= {
                RefreshOutcome.REFRESHED,
                RefreshOutcome.SKIPPED,
                RefreshOutcome.NOT_DUE,
            }
        calls = token_calls(admin)[start:]
        assert len(calls) == rounds
        assert all(c["status"] == 200 for c in calls), calls
        with Session(engines[0]) as s:
            channel = s.get(Channel, channel_id)
            assert channel is not None and channel.status == ChannelStatus.ACTIVE
    finally:
        for e in engines:
            e.dispose()


def test_a_revoked_grant_puts_only_that_channel_in_needs_reauth_with_xs_words(
    engine: Engine,
    settings: Settings,
    admin: SandboxClient,
    http: httpx.Client,
    article_json: dict[str, Any],
) -> None:
    post_id = due_post(engine, settings, article_json)  # seeds the sandbox channels too
    revoked = create_x_channel(engine, settings, name="X revoked")
    with session_scope(engine) as s:  # the revoked channel has a post waiting too
        waiting = Post(
            article_id=s.get(Post, post_id).article_id,  # type: ignore[union-attr]
            channel_id=revoked,
            platform=PlatformName.X,
            kind="link",
            status=PostStatus.SCHEDULED,
            text="Waiting",
        )
        s.add(waiting)
        s.flush()
        waiting_id = waiting.id
    make_due(engine, revoked)
    assert admin.revoke_grants(X_ACCOUNT) > 0  # the person de-authorised the app

    results = refresh_due_x_tokens(engine=engine, settings=settings, client=http)

    assert results == {revoked: RefreshOutcome.NEEDS_REAUTH}
    with Session(engine) as s:
        channel = s.get(Channel, revoked)
        assert channel is not None and channel.status == ChannelStatus.NEEDS_REAUTH
        assert channel.status_reason is not None
        assert "Value passed for the token was invalid" in channel.status_reason
        assert "connect the X account again" in channel.status_reason
        assert s.get(Post, waiting_id).status == PostStatus.NEEDS_REAUTH  # type: ignore[union-attr]
        others = s.exec(select(Channel).where(col(Channel.id) != revoked)).all()
        assert {c.status for c in others} == {ChannelStatus.ACTIVE}
        audit = s.exec(
            select(AuditEvent).where(col(AuditEvent.action) == "channel.needs_reauth")
        ).one()
        assert audit.channel_id == revoked
    # The other X channel (the seeded one) still publishes.
    assert deliver_over_http(engine, claim(engine, post_id), settings) == "published"
    assert load(engine, post_id)[0].status == PostStatus.PUBLISHED


def test_the_job_leaves_alone_tokens_it_cannot_refresh(
    engine: Engine, settings: Settings, http: httpx.Client, article_json: dict[str, Any]
) -> None:
    due_post(engine, settings, article_json)  # the seeded X channel: a static token
    with session_scope(engine) as s:
        seeded = s.exec(select(Channel).where(col(Channel.platform) == "x")).one()
        seeded.token_expires_at = utcnow() + timedelta(seconds=30)
        s.add(seeded)
        seeded_id = seeded.id

    results = refresh_due_x_tokens(engine=engine, settings=settings, client=http)

    assert results == {seeded_id: RefreshOutcome.NO_REFRESH_TOKEN}
    with Session(engine) as s:
        assert s.get(Channel, seeded_id).status == ChannelStatus.ACTIVE  # type: ignore[union-attr]


def test_the_meta_check_records_expiries_and_flags_an_invalid_token(
    engine: Engine, settings: Settings, http: httpx.Client, article_json: dict[str, Any]
) -> None:
    due_post(engine, settings, article_json)  # the seeded channels
    with session_scope(engine) as s:
        facebook = s.exec(select(Channel).where(col(Channel.platform) == "facebook")).one()
        facebook.credentials_encrypted = encrypt_credentials(
            {"access_token": "EAAB-never-issued-by-the-sandbox"}, settings=settings
        )
        s.add(facebook)
        instagram_id = s.exec(select(Channel.id).where(col(Channel.platform) == "instagram")).one()
        facebook_id = facebook.id

    stored = check_meta_tokens(engine=engine, settings=settings, client=http)

    assert set(stored) == {instagram_id}  # the seeded Page token is valid
    with Session(engine) as s:
        flagged = s.get(Channel, facebook_id)
        assert flagged is not None and flagged.status == ChannelStatus.NEEDS_REAUTH
        assert flagged.status_reason is not None
        assert flagged.status_reason.startswith("Meta says this channel's token is no longer valid")
        assert "EAAB-never" not in flagged.status_reason
        kept = s.get(Channel, instagram_id)
        assert kept is not None and kept.status == ChannelStatus.ACTIVE
        assert kept.token_expires_at == stored[instagram_id]
