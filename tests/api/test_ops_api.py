"""The ops and admin API through HTTP on SQLite and PostgreSQL: the delivery log (filters,
keyset pages, live stream), channel control, the kill switch, metrics, readiness and keys."""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from scheduler.db.cursors import encode_cursor
from scheduler.db.engine import session_scope
from scheduler.models import AttemptStatus, Channel, ChannelStatus, Post, PostStatus, utcnow
from scheduler.ops.state import DISPATCHER_HEARTBEAT, WORKER_HEARTBEAT_PREFIX, beat
from tests.api.conftest import ApiHarness
from tests.utils.factories import add_attempt, by_platform, seed_article

ZERO = uuid.UUID(int=0)


def _get(api: ApiHarness, path: str, role: str = "ops", **params: Any) -> Any:
    response = api.client.get(path, headers=api.headers(role), params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_deliveries_filter_by_status_channel_error_class_and_time_range(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    posts = by_platform(seed_article(api.engine, article_json))
    ok_x = add_attempt(api.engine, posts["x"], minutes_ago=30)
    failed_ig = add_attempt(
        api.engine,
        posts["instagram"],
        status=AttemptStatus.FAILED,
        error_class="permanent",
        minutes_ago=20,
    )
    retry_fb = add_attempt(
        api.engine,
        posts["facebook"],
        status=AttemptStatus.RETRY,
        error_class="rate_limited",
        minutes_ago=10,
    )

    def ids(body: dict[str, Any]) -> list[str]:
        return [d["id"] for d in body["deliveries"]]

    everything = _get(api, "/api/v1/deliveries")
    assert ids(everything) == [str(retry_fb), str(failed_ig), str(ok_x)]
    assert everything["next_cursor"] is None
    assert ids(_get(api, "/api/v1/deliveries", status="failed")) == [str(failed_ig)]
    assert ids(_get(api, "/api/v1/deliveries", channel="x")) == [str(ok_x)]
    channel_id = str(posts["facebook"].channel_id)
    assert ids(_get(api, "/api/v1/deliveries", channel=channel_id)) == [str(retry_fb)]
    assert ids(_get(api, "/api/v1/deliveries", error_class="rate_limited")) == [str(retry_fb)]
    window = {
        "from": (utcnow() - timedelta(minutes=25)).isoformat(),
        "to": (utcnow() - timedelta(minutes=15)).isoformat(),
    }
    assert ids(_get(api, "/api/v1/deliveries", **window)) == [str(failed_ig)]
    naive = api.client.get(
        "/api/v1/deliveries", params={"from": "2025-01-01T00:00:00"}, headers=api.headers("ops")
    )
    assert naive.status_code == 422
    assert naive.headers["content-type"] == "application/problem+json"


def test_delivery_pages_walk_every_attempt_once_newest_first(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    made = []
    for n in range(3):
        posts = seed_article(api.engine, article_json, tag=f"page{n}")
        for i, post in enumerate(posts):
            made.append(add_attempt(api.engine, post, minutes_ago=60 - n * 10 - i))
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 4} | ({"cursor": cursor} if cursor else {})
        body = _get(api, "/api/v1/deliveries", **params)
        seen += [d["id"] for d in body["deliveries"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
        # An attempt arriving mid-walk must not shift the pages already handed out.
        if pages == 1:
            add_attempt(api.engine, posts[0], status=AttemptStatus.FAILED, minutes_ago=0)
    assert pages == 3
    assert seen == [str(a) for a in reversed(made)]


def test_deliveries_refuse_a_cursor_the_api_did_not_issue(api: ApiHarness) -> None:
    response = api.client.get(
        "/api/v1/deliveries", params={"cursor": "bm90LWEtY3Vyc29y"}, headers=api.headers("ops")
    )
    assert response.status_code == 422
    assert "cursor" in response.json()["detail"]


def _events(text: str) -> list[dict[str, Any]]:
    events = []
    for block in text.split("\n\n"):
        lines = dict(
            line.split(": ", 1) for line in block.splitlines() if line and not line.startswith(":")
        )
        if lines.get("event") == "delivery":
            events.append({"id": lines["id"], "data": json.loads(lines["data"])})
    return events


def _stream(
    api: ApiHarness, *, seconds: float, after: str | None = None, last_event_id: str | None = None
) -> list[dict[str, Any]]:
    params: dict[str, Any] = {"max_seconds": seconds} | ({"after": after} if after else {})
    headers = api.headers("ops") | ({"Last-Event-ID": last_event_id} if last_event_id else {})
    response = api.client.get("/api/v1/deliveries/stream", params=params, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return _events(response.text)


def test_delivery_stream_sends_backlog_after_last_event_id_then_new_attempts(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    posts = by_platform(seed_article(api.engine, article_json))
    first = add_attempt(api.engine, posts["x"], minutes_ago=5)
    second = add_attempt(api.engine, posts["instagram"], status=AttemptStatus.FAILED, minutes_ago=4)
    replay = _stream(api, seconds=0.1, after=encode_cursor(utcnow() - timedelta(days=1), ZERO))
    assert [e["data"]["id"] for e in replay] == [str(first), str(second)]
    # Reconnecting with the first event's id resumes after it (header or query parameter).
    resumed = _stream(api, seconds=0.1, last_event_id=replay[0]["id"])
    assert [e["data"]["id"] for e in resumed] == [str(second)]
    assert [e["data"]["id"] for e in _stream(api, seconds=0.1, after=replay[0]["id"])] == [
        str(second)
    ]
    # Without a position only attempts finishing from now on are sent.
    assert _stream(api, seconds=0.1) == []

    def finish_later() -> None:
        time.sleep(1.2)
        add_attempt(api.engine, posts["facebook"], status=AttemptStatus.RETRY, minutes_ago=0)

    worker = threading.Thread(target=finish_later)
    worker.start()
    live = _stream(api, seconds=3.5)
    worker.join()
    assert [(e["data"]["channel"], e["data"]["status"]) for e in live] == [("facebook", "retry")]
    assert live[0]["id"]


def _set_status(api: ApiHarness, post_id: Any, status: PostStatus) -> None:
    with session_scope(api.engine) as s:
        post = s.get(Post, post_id)
        assert post is not None
        post.status = status
        s.add(post)


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
    _set_status(api, ig_post.id, PostStatus.NEEDS_REAUTH)
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
    _set_status(api, posts["x"].id, PostStatus.PUBLISHED)
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


def _metric(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        head, _, value = line.rpartition(" ")
        metric, _, label_text = head.partition("{")
        if metric != name:
            continue
        found = dict(
            part.split("=", 1) for part in label_text.rstrip("}").split(",") if "=" in part
        )
        if all(found.get(k) == f'"{v}"' for k, v in labels.items()):
            return float(value)
    raise AssertionError(f"{name}{labels} not in metrics:\n{text}")


def test_metrics_report_posts_deliveries_lateness_latency_and_liveness(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    posts = by_platform(seed_article(api.engine, article_json))
    add_attempt(api.engine, posts["x"], latency_ms=300)
    add_attempt(
        api.engine,
        posts["instagram"],
        status=AttemptStatus.FAILED,
        error_class="permanent",
        latency_ms=7000,
    )
    with session_scope(api.engine) as s:
        beat(session=s, key=DISPATCHER_HEARTBEAT)
        beat(session=s, key=WORKER_HEARTBEAT_PREFIX + "w1@test")
    api.client.post("/api/v1/pause", json={"reason": "drill"}, headers=api.headers("ops"))

    response = api.client.get("/metrics")  # no key: Prometheus scrapes without one
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert _metric(text, "newsrelay_posts", status="scheduled", channel="Sandbox Facebook") == 1
    assert (
        _metric(
            text,
            "newsrelay_deliveries_total",
            outcome="succeeded",
            error_class="",
            channel="Sandbox X",
        )
        == 1
    )
    assert (
        _metric(
            text,
            "newsrelay_deliveries_total",
            outcome="failed",
            error_class="permanent",
            channel="Sandbox Instagram",
        )
        == 1
    )
    # Both attempts started 2 s after they were due.
    assert _metric(text, "newsrelay_dispatch_lateness_seconds_bucket", le="1.0") == 0
    assert _metric(text, "newsrelay_dispatch_lateness_seconds_bucket", le="5.0") == 2
    assert _metric(text, "newsrelay_dispatch_lateness_seconds_count") == 2
    assert abs(_metric(text, "newsrelay_dispatch_lateness_seconds_sum") - 4.0) < 0.01
    x = "Sandbox X"
    assert _metric(text, "newsrelay_platform_latency_seconds_bucket", channel=x, le="0.5") == 1
    ig = "Sandbox Instagram"
    assert _metric(text, "newsrelay_platform_latency_seconds_bucket", channel=ig, le="5.0") == 0
    assert _metric(text, "newsrelay_platform_latency_seconds_bucket", channel=ig, le="10.0") == 1
    assert _metric(text, "newsrelay_dispatcher_last_tick_age_seconds") < 30
    assert _metric(text, "newsrelay_workers_alive") == 1
    assert _metric(text, "newsrelay_global_pause") == 1


def test_readyz_names_the_dispatcher_and_workers_when_they_are_silent(api: ApiHarness) -> None:
    silent = api.client.get("/readyz")
    assert silent.status_code == 503
    assert silent.headers["content-type"] == "application/problem+json"
    errors = silent.json()["errors"]
    assert [e.split(":")[0] for e in errors] == ["dispatcher", "workers"]
    with session_scope(api.engine) as s:
        beat(session=s, key=DISPATCHER_HEARTBEAT)
        beat(session=s, key=WORKER_HEARTBEAT_PREFIX + "w1@test")
    ready = api.client.get("/readyz")
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["status"] == "ready"
    assert [c["name"] for c in body["checks"]] == ["database", "broker", "dispatcher", "workers"]


def test_admin_issues_a_key_once_lists_it_without_secrets_and_revocation_locks_it_out(
    api: ApiHarness,
) -> None:
    created = api.client.post(
        "/api/v1/admin/keys",
        json={"name": "night desk", "role": "ops"},
        headers=api.headers("admin"),
    )
    assert created.status_code == 201, created.text
    key, key_id = created.json()["key"], created.json()["id"]
    assert key.startswith(created.json()["prefix"])
    assert (
        api.client.get("/api/v1/channels", headers={"Authorization": f"Bearer {key}"}).status_code
        == 200
    )
    listed = api.client.get("/api/v1/admin/keys", headers=api.headers("admin"))
    assert key not in listed.text and "key_hash" not in listed.text
    row = next(k for k in listed.json()["keys"] if k["id"] == key_id)
    assert row["name"] == "night desk" and row["role"] == "ops" and row["last_used_at"]

    revoked = api.client.delete(f"/api/v1/admin/keys/{key_id}", headers=api.headers("admin"))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    after = api.client.get("/api/v1/channels", headers={"Authorization": f"Bearer {key}"})
    assert after.status_code == 401
    gone = api.client.delete(f"/api/v1/admin/keys/{ZERO}", headers=api.headers("admin"))
    assert gone.status_code == 404


def test_admin_updates_channel_settings_and_replaces_credentials_of_a_needs_reauth_channel(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    fb_post = by_platform(seed_article(api.engine, article_json))["facebook"]
    url = f"/api/v1/admin/channels/{fb_post.channel_id}"
    patched = api.client.patch(
        url,
        json={"timezone": "Europe/London", "settings": {"hashtags": ["#Pakistan"]}},
        headers=api.headers("admin"),
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["timezone"] == "Europe/London"
    assert patched.json()["settings"]["hashtags"] == ["#Pakistan"]
    bad_zone = api.client.patch(
        url, json={"timezone": "Mars/Olympus"}, headers=api.headers("admin")
    )
    assert bad_zone.status_code == 422
    taken = api.client.patch(url, json={"name": "Sandbox X"}, headers=api.headers("admin"))
    assert taken.status_code == 409

    with session_scope(api.engine) as s:
        channel = s.get(Channel, fb_post.channel_id)
        assert channel is not None
        channel.status = ChannelStatus.NEEDS_REAUTH
        s.add(channel)
    _set_status(api, fb_post.id, PostStatus.NEEDS_REAUTH)
    replaced = api.client.put(
        f"{url}/credentials",
        json={"credentials": {"access_token": "fresh-page-token-123"}},
        headers=api.headers("admin"),
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["status"] == "active" and replaced.json()["posts"] == {"scheduled": 1}
    assert "fresh-page-token-123" not in replaced.text
    with Session(api.engine) as s:
        stored = s.exec(select(Channel).where(Channel.id == fb_post.channel_id)).one()
    assert "fresh-page-token-123" not in stored.credentials_encrypted
    events = _get(api, "/api/v1/audit", role="admin", channel_id=str(fb_post.channel_id))
    assert events["events"][1]["detail"] == "credentials replaced"
