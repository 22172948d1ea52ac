"""Reconciliation while the platform fails, on real SQLite and PostgreSQL with X played by
``httpx.MockTransport``: the post waits (never a person's job), the reconcile claim honours the
back-off, a refused token waits for the channel to be reconnected, and a proven absence is an
ordinary retry however many checks came before."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from config import Settings
from scheduler.channels import set_channel_status
from scheduler.db.engine import session_scope
from scheduler.delivery.dispatch import claim_unknown_posts
from scheduler.models import AttemptStatus, Channel, ChannelStatus, PostStatus, utcnow
from tests.utils.delivery import (
    claim,
    deliver,
    due_again,
    due_post,
    empty_timeline,
    load,
    reconcile,
)

TEXT = "A rendered post about the outage"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        environment="test",
        data_dir=tmp_path / "data",
        max_attempts=3,
        backoff_base_seconds=2,
        backoff_max_seconds=60,
    )


def x_server_error(request: httpx.Request) -> httpx.Response:
    return httpx.Response(503, json={"title": "Service Unavailable", "status": 503})


def x_expired_token(request: httpx.Request) -> httpx.Response:
    return httpx.Response(401, json={"title": "Unauthorized", "status": 401})


def timeline_with_the_post(request: httpx.Request) -> httpx.Response:
    tweet = {"id": "1789", "text": TEXT, "created_at": datetime.now(UTC).isoformat()}
    return httpx.Response(200, json={"data": [tweet], "meta": {"result_count": 1}})


@pytest.fixture
def unknown_post(engine: Engine, settings: Settings, article_json: dict[str, Any]) -> uuid.UUID:
    """An X post whose create got a 503: it may be on X, so its outcome is unknown."""
    post_id = due_post(engine, settings, article_json, text=TEXT)
    assert deliver(engine, claim(engine, post_id), settings, x_server_error) == "unknown"
    return post_id


def claimed(engine: Engine, at: datetime) -> list[str]:
    return [
        m.args[0] for m in claim_unknown_posts(engine=engine, now=at, batch=10, lease_seconds=5)
    ]


def test_while_the_platform_fails_the_post_waits_unknown_and_is_never_escalated(
    engine: Engine, settings: Settings, unknown_post: uuid.UUID
) -> None:
    leases = []
    for check in range(1, 9):  # more checks than the old budget of 5
        assert reconcile(engine, unknown_post, settings, x_server_error) == "unknown"
        post, attempts = load(engine, unknown_post)
        assert post.status == PostStatus.UNKNOWN
        assert post.platform_state["reconcile_outages"] == check
        assert post.last_error is not None
        assert post.last_error.startswith("X is failing (HTTP 503); checking again at ")
        assert post.lease_until is not None
        assert f"{post.lease_until.astimezone(UTC):%H:%M:%S} UTC" in post.last_error
        leases.append((post.lease_until - post.updated_at).total_seconds())
        assert [a.status for a in attempts] == [AttemptStatus.UNKNOWN]  # nothing settled
    assert leases[0] <= 2 < leases[-1] <= 60  # exponential, capped by the settings
    # X answers again: the post is found and the outage streak forgotten.
    assert reconcile(engine, unknown_post, settings, timeline_with_the_post) == "published"
    post, attempts = load(engine, unknown_post)
    assert (post.status, post.external_id) == (PostStatus.PUBLISHED, "1789")
    assert "reconcile_outages" not in post.platform_state
    assert post.platform_state["reconcile_tries"] == 9
    assert attempts[-1].status == AttemptStatus.SUCCEEDED


def test_the_reconcile_claim_waits_out_the_back_off(
    engine: Engine, settings: Settings, unknown_post: uuid.UUID
) -> None:
    assert claimed(engine, utcnow()) == [str(unknown_post)]  # a new unknown post: at once
    assert reconcile(engine, unknown_post, settings, x_server_error) == "unknown"
    lease = load(engine, unknown_post)[0].lease_until
    assert lease is not None
    assert claimed(engine, lease - timedelta(milliseconds=100)) == []
    assert claimed(engine, lease + timedelta(milliseconds=100)) == [str(unknown_post)]


def test_a_refused_token_holds_the_channel_and_the_post_is_checked_once_reconnected(
    engine: Engine, settings: Settings, unknown_post: uuid.UUID, article_json: dict[str, Any]
) -> None:
    waiting = due_post(engine, settings, {**article_json, "external_id": "other"}, text="Next")
    assert reconcile(engine, unknown_post, settings, x_expired_token) == "needs_reauth"
    post, attempts = load(engine, unknown_post)
    # Still unknown, not needs_reauth: reconnecting sends needs_reauth posts again.
    assert post.status == PostStatus.UNKNOWN
    assert post.last_error is not None and "Reconnect the channel" in post.last_error
    assert attempts[-1].status == AttemptStatus.UNKNOWN
    assert load(engine, waiting)[0].status == PostStatus.NEEDS_REAUTH
    with Session(engine) as s:
        channel = s.get(Channel, post.channel_id)
        assert channel is not None and channel.status == ChannelStatus.NEEDS_REAUTH
        assert channel.status_reason and "X token is invalid or expired" in channel.status_reason
    # A refused token is not asked again and again: not until the channel is reconnected.
    assert claimed(engine, utcnow() + timedelta(hours=1)) == []
    with session_scope(engine) as s:
        channel = s.get(Channel, post.channel_id)
        assert channel is not None
        set_channel_status(
            session=s, channel=channel, status=ChannelStatus.ACTIVE, reason=None, actor="test"
        )
    assert load(engine, unknown_post)[0].status == PostStatus.UNKNOWN
    assert claimed(engine, utcnow() + timedelta(hours=1)) == [str(unknown_post)]
    assert reconcile(engine, unknown_post, settings, timeline_with_the_post) == "published"


def test_a_proven_absence_is_retried_until_the_budget_then_fails_never_needs_review(
    engine: Engine, tmp_path: Path, article_json: dict[str, Any]
) -> None:
    # Every create answers 503 (ambiguous on X) and every check proves the post absent.
    settings = Settings(environment="test", data_dir=tmp_path / "data", max_attempts=7)
    post_id = due_post(engine, settings, article_json, text=TEXT)
    outcomes = []
    for _ in range(settings.max_attempts):
        assert deliver(engine, claim(engine, post_id), settings, x_server_error) == "unknown"
        outcomes.append(reconcile(engine, post_id, settings, empty_timeline))
        if outcomes[-1] != "retry_wait":
            break
        due_again(engine, post_id)
    assert outcomes == ["retry_wait"] * 6 + ["failed"]
    post, attempts = load(engine, post_id)
    assert post.status == PostStatus.FAILED
    assert post.last_error is not None
    assert post.last_error.startswith(
        "Gave up after 7 attempts; the platform confirmed the post is not there. Last error: X"
    )
    assert "checking again" not in post.last_error
    assert [a.status for a in attempts] == [AttemptStatus.RETRY] * 7
