"""Connecting an X account over the API, end to end against the sandbox over HTTP: a new
account becomes a channel with encrypted rotating tokens; the same account again (or the
"Reconnect" of its channel) replaces the credentials, re-arms a ``needs_reauth`` channel and
releases its held posts spaced out, while posts of stale articles wait for an editor."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import Session, col, select

from adapters.sandbox import SandboxServer
from scheduler.channels import sandbox_token
from scheduler.db.engine import session_scope
from scheduler.models import (
    Article,
    Channel,
    ChannelStatus,
    PlatformName,
    Post,
    PostStatus,
    utcnow,
)
from tests.api.conftest import ApiHarness
from tests.api.connect_support import (
    audit,
    channels,
    connect_api,
    consent,
    sandbox,
    sandbox_login,
    sandbox_server,
    start,
    status,
    tokens_of,
)
from tests.utils.factories import seed_article

__all__ = ["connect_api", "sandbox", "sandbox_server"]  # fixtures
NEW_X_USER = "1700000000000000777"
SEEDED_X = "1700000000000000001"


def test_connect_x_creates_a_channel_for_the_account_x_names(
    connect_api: ApiHarness, sandbox: SandboxServer
) -> None:
    api = connect_api
    sandbox_login(sandbox, "x", NEW_X_USER)
    started = start(api, "x")
    assert "code_challenge_method=S256" in started["authorize_url"]
    assert status(api, "x", started["connection_id"])["status"] == "pending"

    page = api.client.get(consent(started["authorize_url"]))

    assert page.status_code == 200, page.text
    assert "as the channel X @sandbox_" in page.text
    channel = channels(api)[("x", NEW_X_USER)]
    assert (channel.connected_via, channel.connected_by) == ("oauth", "key:admin-key")
    assert channel.status == ChannelStatus.ACTIVE
    creds = tokens_of(api, channel)
    assert set(creds) == {"access_token", "refresh_token"}
    assert channel.token_expires_at is not None
    left = (channel.token_expires_at - utcnow()).total_seconds()
    assert 7000 < left <= 7200
    done = status(api, "x", started["connection_id"])
    assert (done["status"], done["channel_ids"]) == ("done", [str(channel.id)])
    [event] = audit(api, "channel.connect")
    assert event.after["account_id"] == NEW_X_USER and event.actor == "key:admin-key"
    # The stored token works on the platform: /2/users/me answers for the account.
    me = sandbox_request(sandbox, "/2/users/me", creds["access_token"])
    assert me["data"]["id"] == NEW_X_USER


def sandbox_request(sandbox: SandboxServer, path: str, token: str) -> dict[str, Any]:
    import httpx

    response = httpx.get(f"{sandbox.url}{path}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def _held_posts(api: ApiHarness, article_json: dict[str, Any], x_channel: Channel) -> list[Any]:
    """Three X posts held by the outage: two of fresh articles, one of a 9-hour-old article."""
    held = []
    for tag, hours in (("fresh-1", 1), ("stale", 9), ("fresh-2", 2)):
        posts = seed_article(api.engine, article_json, tag=tag)
        with session_scope(api.engine) as s:
            [post] = [p for p in posts if p.channel_id == x_channel.id]
            row = s.get(Post, post.id)
            assert row is not None
            row.status = PostStatus.NEEDS_REAUTH
            row.scheduled_at = utcnow() - timedelta(hours=hours)
            article = s.get(Article, row.article_id)
            assert article is not None
            article.published_at = utcnow() - timedelta(hours=hours)
            held.append(row.id)
    return held


def test_reconnect_replaces_credentials_rearms_and_releases_held_posts_spaced(
    connect_api: ApiHarness, sandbox: SandboxServer, article_json: dict[str, Any]
) -> None:
    api = connect_api
    x = channels(api)[("x", SEEDED_X)]
    fresh_1, stale, fresh_2 = _held_posts(api, article_json, x)
    with session_scope(api.engine) as s:
        row = s.get(Channel, x.id)
        assert row is not None
        row.status, row.status_reason = ChannelStatus.NEEDS_REAUTH, "token revoked"

    before = utcnow()
    started = start(api, "x", channel_id=str(x.id))
    page = api.client.get(consent(started["authorize_url"]))

    assert page.status_code == 200, page.text
    assert "Reconnected" in page.text
    after = channels(api)[("x", SEEDED_X)]
    assert after.id == x.id and after.status == ChannelStatus.ACTIVE
    assert tokens_of(api, after)["access_token"] != sandbox_token(SEEDED_X)
    with Session(api.engine) as s:
        posts = {
            p.id: p for p in s.exec(select(Post).where(col(Post.id).in_([fresh_1, stale, fresh_2])))
        }
    assert posts[fresh_1].status == posts[fresh_2].status == PostStatus.SCHEDULED
    # Oldest due first: fresh-2 was due 2 hours ago, fresh-1 one hour ago.
    first, second = posts[fresh_2].scheduled_at, posts[fresh_1].scheduled_at
    assert first is not None and second is not None
    assert before <= first <= utcnow()
    assert abs((second - first).total_seconds() - 30) < 0.01  # spaced, not a burst
    assert posts[stale].status == PostStatus.DRAFT
    assert (posts[stale].last_error or "").startswith("Not sent: the article is 9 hours old")
    [event] = audit(api, "channel.reconnect")
    assert event.before["status"] == "needs_reauth" and event.after["account_id"] == SEEDED_X


def test_reconnect_with_another_account_is_refused_and_changes_nothing(
    connect_api: ApiHarness, sandbox: SandboxServer
) -> None:
    api = connect_api
    x = channels(api)[("x", SEEDED_X)]
    sandbox_login(sandbox, "x", NEW_X_USER)
    started = start(api, "x", channel_id=str(x.id))

    page = api.client.get(consent(started["authorize_url"]))

    assert page.status_code == 400
    assert f"posts as account {SEEDED_X}" in page.text
    assert set(channels(api)) == {(str(p), a) for p, a in _seeded()}
    assert tokens_of(api, channels(api)[("x", SEEDED_X)]) == {
        "access_token": sandbox_token(SEEDED_X)
    }
    assert status(api, "x", started["connection_id"])["status"] == "failed"
    assert audit(api, "channel.connect", "channel.reconnect") == []


def _seeded() -> list[tuple[PlatformName, str]]:
    from scheduler.channels import SANDBOX_ACCOUNTS

    return list(SANDBOX_ACCOUNTS.items())


def test_starting_refuses_a_channel_of_the_other_platform(connect_api: ApiHarness) -> None:
    api = connect_api
    facebook = channels(api)[("facebook", "100000000000001")]
    response = api.client.post(
        "/api/v1/admin/channels/connect/x",
        json={"channel_id": str(facebook.id)},
        headers=api.headers("admin"),
    )
    assert response.status_code == 409
    assert "reconnect it with Meta" in response.json()["detail"]
    for role in ("editor", "ops"):
        denied = api.client.post("/api/v1/admin/channels/connect/x", headers=api.headers(role))
        assert denied.status_code == 403
