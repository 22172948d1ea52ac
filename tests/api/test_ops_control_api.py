"""The ops API through HTTP on SQLite and PostgreSQL: channel control, the kill switch and
the audit trail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from scheduler.db.engine import session_scope
from scheduler.models import Channel, ChannelStatus, PostStatus
from tests.api.conftest import ApiHarness
from tests.api.ops_support import ZERO, _get
from tests.utils.factories import by_platform, seed_article, set_post


def _channel_row(api: ApiHarness, channel_id: Any) -> dict[str, Any]:
    rows = _get(api, "/api/v1/channels")["channels"]
    return next(r for r in rows if r["id"] == str(channel_id))


def test_channel_pause_holds_scheduled_posts_and_resume_releases_them(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    x_post = by_platform(seed_article(api.engine, article_json))["x"]
    url = f"/api/v1/channels/{x_post.channel_id}"
    paused = api.client.post(
        f"{url}/pause", json={"reason": "account under review"}, headers=api.headers("ops")
    )
    assert paused.status_code == 200, paused.text
    assert paused.json()["status"] == "paused"
    assert paused.json()["status_reason"] == "account under review"
    assert paused.json()["posts"] == {"held": 1}
    statuses = {str(p.id): p.status for p in api.posts()}
    assert statuses[str(x_post.id)] == PostStatus.HELD
    assert sorted(statuses.values()).count(PostStatus.SCHEDULED) == 2  # other channels untouched

    resumed = api.client.post(f"{url}/resume", headers=api.headers("ops"))
    assert resumed.status_code == 200, resumed.text
    assert resumed.json()["status"] == "active" and resumed.json()["posts"] == {"scheduled": 1}
    missing = api.client.post(
        f"/api/v1/channels/{ZERO}/pause", json={"reason": "x"}, headers=api.headers("ops")
    )
    assert missing.status_code == 404
    no_reason = api.client.post(f"{url}/pause", json={}, headers=api.headers("ops"))
    assert no_reason.status_code == 422
    actions = [
        e["action"] for e in _get(api, "/api/v1/audit", channel_id=str(x_post.channel_id))["events"]
    ]
    assert actions[:2] == ["channel.active", "channel.paused"]


def test_reconnected_activates_a_needs_reauth_channel_and_releases_its_posts(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    ig_post = by_platform(seed_article(api.engine, article_json))["instagram"]
    with session_scope(api.engine) as s:
        channel = s.get(Channel, ig_post.channel_id)
        assert channel is not None
        channel.status, channel.status_reason = ChannelStatus.NEEDS_REAUTH, "token expired"
        s.add(channel)
    set_post(api.engine, ig_post.id, status=PostStatus.NEEDS_REAUTH)
    url = f"/api/v1/channels/{ig_post.channel_id}"
    health = _channel_row(api, ig_post.channel_id)
    assert health["status"] == "needs_reauth" and health["posts"] == {"needs_reauth": 1}
    # A resume cannot paper over expired credentials.
    assert api.client.post(f"{url}/resume", headers=api.headers("ops")).status_code == 409

    response = api.client.post(f"{url}/reconnected", headers=api.headers("ops"))
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "active" and response.json()["status_reason"] is None
    assert response.json()["posts"] == {"scheduled": 1}


def test_channels_health_shows_state_and_counts_but_never_credentials(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    posts = by_platform(seed_article(api.engine, article_json))
    set_post(api.engine, posts["x"].id, status=PostStatus.PUBLISHED)
    response = api.client.get("/api/v1/channels", headers=api.headers("ops"))
    rows = {r["platform"]: r for r in response.json()["channels"]}
    assert rows["x"]["posts"] == {"published": 1}
    assert rows["facebook"]["posts"] == {"scheduled": 1}
    assert rows["x"]["has_credentials"] is True
    for key in ("last_success_at", "last_error", "rate_limited_until", "token_expires_at"):
        assert key in rows["x"]
    assert "sandbox-token" not in response.text and "credentials_encrypted" not in response.text


def test_global_pause_is_reported_set_with_until_and_lifted(api: ApiHarness) -> None:
    assert _get(api, "/api/v1/pause") == {
        "active": False,
        "reason": None,
        "by": None,
        "since": None,
        "until": None,
    }
    until = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    on = api.client.post(
        "/api/v1/pause",
        json={"reason": "election results", "until": until},
        headers=api.headers("ops"),
    )
    assert on.status_code == 200, on.text
    state = _get(api, "/api/v1/pause")
    assert state["active"] is True and state["reason"] == "election results"
    assert state["by"] == "key:ops-key" and state["until"]
    for bad in (
        {"reason": ""},
        {"reason": "x" * 501},
        {"reason": "r", "until": "2030-01-01T00:00:00"},
        {"reason": "r", "until": "2001-01-01T00:00:00+00:00"},
    ):
        refused = api.client.post("/api/v1/pause", json=bad, headers=api.headers("ops"))
        assert refused.status_code == 422, bad
    off = api.client.delete("/api/v1/pause", headers=api.headers("ops"))
    assert off.status_code == 200 and off.json()["active"] is False
    assert _get(api, "/api/v1/pause")["active"] is False
    actions = [e["action"] for e in _get(api, "/api/v1/audit", actor="key:ops-key")["events"]]
    assert actions == ["pause.off", "pause.on"]


def test_audit_pages_newest_first_with_a_cursor(api: ApiHarness) -> None:
    for n in range(5):
        api.client.post("/api/v1/pause", json={"reason": f"r{n}"}, headers=api.headers("ops"))
    first = _get(api, "/api/v1/audit", actor="key:ops-key", limit=3)
    second = _get(api, "/api/v1/audit", actor="key:ops-key", limit=3, cursor=first["next_cursor"])
    details = [e["detail"] for e in first["events"] + second["events"]]
    assert details == ["r4", "r3", "r2", "r1", "r0"]
    assert second["next_cursor"] is None
