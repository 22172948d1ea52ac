"""Channel health through the API, on SQLite and PostgreSQL: a channel whose recent attempts
all fail says "failing" (not a green "active"), some failures say "degraded", and a rate limit,
a pause or an expired login say so in words; the list costs one attempts query, not one per
channel."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from scheduler.channels import create_channel
from scheduler.db.engine import get_engine, session_scope
from scheduler.models import AttemptStatus, Channel, ChannelStatus, PlatformName, Post, utcnow
from tests.api.conftest import ApiHarness
from tests.utils.factories import add_attempt, by_platform, seed_article

FAILED, RETRY, OK = AttemptStatus.FAILED, AttemptStatus.RETRY, AttemptStatus.SUCCEEDED


def _health(api: ApiHarness) -> dict[str, dict[str, Any]]:
    response = api.client.get("/api/v1/channels", headers=api.headers("ops"))
    assert response.status_code == 200, response.text
    return {
        r["platform"]: r["health"] | {"status": r["status"]} for r in response.json()["channels"]
    }


def _posts(api: ApiHarness, article_json: dict[str, Any], n: int) -> list[dict[str, Post]]:
    """``n`` articles' posts by platform (a post succeeds at most once: one per success)."""
    return [by_platform(seed_article(api.engine, article_json, tag=f"h{i}")) for i in range(n)]


def _set_channel(api: ApiHarness, channel_id: Any, **values: Any) -> None:
    with session_scope(api.engine) as s:
        channel = s.get(Channel, channel_id)
        assert channel is not None
        for key, value in values.items():
            setattr(channel, key, value)
        s.add(channel)


def test_a_channel_whose_last_attempts_all_failed_is_failing_while_its_status_is_active(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    first, second = _posts(api, article_json, 2)
    x, ig, fb = first["x"], first["instagram"], first["facebook"]
    # X: a success, then three failures in a row (a retryable one counts as a failure too).
    add_attempt(api.engine, x, status=OK, minutes_ago=40)
    for minutes, status in ((30, RETRY), (20, RETRY), (10, FAILED)):
        add_attempt(api.engine, x, status=status, error_class="permanent", minutes_ago=minutes)
    # Instagram: one failure between two successes.
    add_attempt(api.engine, ig, status=OK, minutes_ago=40)
    add_attempt(api.engine, second["instagram"], status=RETRY, minutes_ago=30)
    add_attempt(api.engine, second["instagram"], status=OK, minutes_ago=20)
    # Facebook: three failures, but more than a day ago (old news), and nothing since.
    for minutes in (26 * 60, 25 * 60 + 30, 25 * 60):
        add_attempt(api.engine, fb, status=FAILED, minutes_ago=minutes)

    health = _health(api)
    assert health["x"]["status"] == "active"  # what the channel is set to ...
    assert health["x"]["state"] == "failing"  # ... and what its deliveries say
    assert health["x"]["label"] == "Failing"
    assert health["x"]["detail"] == "The last 3 delivery attempts failed, with no success since."
    assert (health["x"]["recent_attempts"], health["x"]["recent_failures"]) == (4, 3)
    assert health["x"]["failures_since_success"] == 3
    assert health["instagram"]["state"] == "degraded"
    assert health["instagram"]["detail"] == "1 of the last 3 delivery attempts failed."
    assert health["instagram"]["failures_since_success"] == 0
    assert health["facebook"]["state"] == "active"
    assert health["facebook"]["recent_attempts"] == 0
    assert "No delivery attempt finished" in health["facebook"]["detail"]

    # Two failures in a row are not yet "failing"; one success ends a failing streak.
    add_attempt(api.engine, second["x"], status=OK, minutes_ago=5)
    assert _health(api)["x"]["state"] == "degraded"
    for minutes in (4, 3):
        add_attempt(api.engine, second["x"], status=RETRY, minutes_ago=minutes)
    assert _health(api)["x"]["state"] == "degraded"
    add_attempt(api.engine, second["x"], status=RETRY, minutes_ago=2)
    assert _health(api)["x"]["state"] == "failing"


def test_rate_limit_pause_and_expired_login_are_named_and_outrank_the_attempts(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    (posts,) = _posts(api, article_json, 1)
    for post in posts.values():
        add_attempt(api.engine, post, status=RETRY, error_class="rate_limited", minutes_ago=3)
    _set_channel(api, posts["x"].channel_id, rate_limited_until=utcnow() + timedelta(minutes=15))
    _set_channel(api, posts["facebook"].channel_id, rate_limited_until=utcnow() - timedelta(1))
    paused = api.client.post(
        f"/api/v1/channels/{posts['instagram'].channel_id}/pause",
        json={"reason": "account under review"},
        headers=api.headers("ops"),
    )
    assert paused.status_code == 200, paused.text
    assert paused.json()["health"]["state"] == "paused"  # the single-channel routes say it too
    assert paused.json()["health"]["label"] == "Paused"

    health = _health(api)
    assert (health["x"]["state"], health["x"]["label"]) == ("rate_limited", "Rate limited")
    assert health["facebook"]["state"] == "degraded"  # the reset has passed: 1 of 1 failed

    _set_channel(
        api,
        posts["facebook"].channel_id,
        status=ChannelStatus.NEEDS_REAUTH,
        status_reason="token expired",
    )
    fb = _health(api)["facebook"]
    assert (fb["state"], fb["label"]) == ("needs_reconnect", "Needs reconnect")
    assert "reconnect" in fb["detail"]
    reconnected = api.client.post(
        f"/api/v1/channels/{posts['facebook'].channel_id}/reconnected", headers=api.headers("ops")
    )
    assert reconnected.json()["health"]["state"] == "degraded"


def test_the_channel_list_reads_attempts_in_one_query_however_many_channels(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    (posts,) = _posts(api, article_json, 1)
    for post in posts.values():
        add_attempt(api.engine, post, status=FAILED, minutes_ago=1)
    with session_scope(api.engine) as s:
        for i in range(12):
            create_channel(
                session=s,
                settings=api.settings,
                platform=PlatformName.X,
                name=f"Desk {i}",
                account_id=f"17000000000000{i:05d}",
                credentials={"access_token": "t"},
            )
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = get_engine(api.settings)  # the app's own engine (one per database URL)
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        health = api.client.get("/api/v1/channels", headers=api.headers("ops")).json()
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert len(health["channels"]) == 15
    assert len([s for s in statements if "delivery_attempt" in s]) == 1
    with Session(api.engine) as s:
        assert s.execute(sa.text("SELECT count(*) FROM delivery_attempt")).scalar() == 3
