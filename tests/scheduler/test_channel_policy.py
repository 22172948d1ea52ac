"""Channel policy enforced by the dispatcher's claim, on real SQLite and PostgreSQL: spacing in
publish order, the breaking lane, the daily cap, slots, staleness, and why a post waits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from config import Settings
from scheduler.db.engine import session_scope
from scheduler.delivery.dispatch import claim_due_posts
from scheduler.editorial.actions import post_now
from scheduler.models import Channel, DeliveryAttempt, Post, PostStatus, WaitCode, utcnow
from scheduler.ops.metrics import metrics_registry, render_metrics
from tests.scheduler.policy_support import (
    ago,
    channel,
    due_article,
    post,
    queued,
    sandbox_channels,
    sent,
)
from tests.utils.delivery import deliver


def claim(engine: Engine, now: datetime) -> int:
    return len(claim_due_posts(engine=engine, now=now, batch=50, lease_seconds=600))


def test_spacing_sends_one_post_per_interval_in_publish_order_and_says_why_the_rest_wait(
    engine: Engine, settings: Settings
) -> None:
    ids = sandbox_channels(engine, settings, x={"min_interval_seconds": 5})
    now = utcnow()
    # Published in this order, all due at once.
    posts = [
        due_article(engine, f"s{i}", published=ago(now, minutes=10 - i), due=ago(now, seconds=1))
        for i in range(3)
    ]
    assert claim(engine, now) == 1 + 6  # Instagram and Facebook have no spacing: all go
    assert queued(engine, "x") == [posts[0]["x"]]
    # In flight: nothing follows until it is sent, and then only 5 s after it was sent.
    assert claim(engine, now + timedelta(seconds=5)) == 0
    sent(engine, posts[0]["x"], now + timedelta(seconds=1))
    assert claim(engine, now + timedelta(seconds=5.5)) == 0
    waiting = post(engine, posts[1]["x"])
    assert waiting.wait_code == WaitCode.SPACING
    assert waiting.wait_until == now + timedelta(seconds=6)
    assert waiting.wait_reason is not None
    assert (
        "at most once every 5 s" in waiting.wait_reason and "publish order" in waiting.wait_reason
    )
    behind = post(engine, posts[2]["x"])  # further back in line: its place, not a time
    assert behind.wait_code == WaitCode.SPACING and behind.wait_until is None
    assert behind.wait_reason is not None and "Waiting in line" in behind.wait_reason
    gauge = render_metrics(metrics_registry(engine)).decode()
    assert 'newsrelay_posts_held{channel="Sandbox X",reason="spacing"} 2.0' in gauge

    assert claim(engine, now + timedelta(seconds=6)) == 1
    assert queued(engine, "x")[-1] == posts[1]["x"]
    assert post(engine, posts[1]["x"]).wait_code is None  # cleared by the claim
    assert channel(engine, ids["x"]).next_free_at == now + timedelta(seconds=11)


def test_a_breaking_post_goes_next_past_spacing_unless_the_channel_keeps_spacing(
    engine: Engine, settings: Settings
) -> None:
    ids = sandbox_channels(engine, settings, x={"min_interval_seconds": 60})
    now = utcnow()
    normal = [
        due_article(engine, f"n{i}", published=ago(now, minutes=5), due=ago(now, seconds=1))
        for i in range(2)
    ]
    assert claim(engine, now) >= 1 and queued(engine, "x") == [normal[0]["x"]]
    breaking = due_article(engine, "b", published=now, due=now, priority="breaking")
    # Breaking on all three channels, even while the normal X post is still in flight.
    assert claim(engine, now + timedelta(seconds=1)) == 3
    assert queued(engine, "x")[-1] == breaking["x"]
    assert post(engine, normal[1]["x"]).status == PostStatus.SCHEDULED
    # The breaking post also pushed the next normal post a full interval back.
    assert channel(engine, ids["x"]).next_free_at == now + timedelta(seconds=61)

    sandbox_channels(
        engine, settings, x={"min_interval_seconds": 60, "breaking_keeps_spacing": True}
    )
    sent(engine, normal[0]["x"], now + timedelta(seconds=1))
    sent(engine, breaking["x"], now + timedelta(seconds=1))
    kept = due_article(engine, "b2", published=now, due=now, priority="breaking")
    claim(engine, now + timedelta(seconds=2))
    assert post(engine, kept["x"]).status == PostStatus.SCHEDULED
    assert post(engine, kept["x"]).wait_code == WaitCode.SPACING
    # When the channel is free, the breaking post still goes before the older normal one.
    claim(engine, now + timedelta(seconds=62))
    assert queued(engine, "x")[-1] == kept["x"]


def test_the_daily_cap_counts_the_channels_own_calendar_day(
    engine: Engine, settings: Settings
) -> None:
    # 23:00 in Karachi (UTC+5) is 18:00 UTC; the Karachi day ends an hour later.
    now = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
    sandbox_channels(engine, settings, facebook={"daily_cap": 2, "stale_after_minutes": 10_000})
    posts = [
        due_article(engine, f"c{i}", published=ago(now, minutes=3 - i), due=ago(now, seconds=1))
        for i in range(3)
    ]
    claim(engine, now)
    assert set(queued(engine, "facebook")) == {posts[0]["facebook"], posts[1]["facebook"]}
    held = post(engine, posts[2]["facebook"])
    assert held.wait_code == WaitCode.DAILY_CAP
    assert held.wait_until == datetime(2026, 3, 2, 19, 0, tzinfo=UTC)  # Karachi midnight
    assert held.wait_reason is not None and "cap of 2 posts a day" in held.wait_reason
    assert claim(engine, now + timedelta(minutes=59)) == 0
    assert claim(engine, now + timedelta(minutes=60)) == 1


def test_slots_hold_a_normal_post_for_the_next_free_slot_one_post_per_slot(
    engine: Engine, settings: Settings
) -> None:
    # Monday 2026-03-02, 09:00 in London (GMT): slots at 12:30 and 18:00.
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    slots = {"mon-fri": ["12:30", "18:00"]}
    sandbox_channels(engine, settings, x={"slots": slots, "stale_after_minutes": 10_000})
    with session_scope(engine) as s:
        x = s.exec(select(Channel).where(Channel.platform == "x")).one()
        x.timezone = "Europe/London"
        s.add(x)
    posts = [
        due_article(engine, f"slot{i}", published=ago(now, minutes=2 - i), due=ago(now, minutes=1))
        for i in range(2)
    ]
    claim(engine, now)
    first = post(engine, posts[0]["x"])
    assert first.status == PostStatus.SCHEDULED and first.wait_code == WaitCode.SLOT
    assert first.wait_until == datetime(2026, 3, 2, 12, 30, tzinfo=UTC)
    assert first.wait_reason is not None and "Mon 02 Mar 12:30:00 GMT" in first.wait_reason
    claim(engine, datetime(2026, 3, 2, 12, 30, 1, tzinfo=UTC))
    assert queued(engine, "x") == [posts[0]["x"]]
    assert post(engine, posts[1]["x"]).wait_until == datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
    # A breaking article does not wait for a slot.
    breaking = due_article(
        engine,
        "slot-b",
        published=now,
        due=datetime(2026, 3, 2, 13, 0, tzinfo=UTC),
        priority="breaking",
    )
    claim(engine, datetime(2026, 3, 2, 13, 0, 1, tzinfo=UTC))
    assert queued(engine, "x")[-1] == breaking["x"]


def test_a_post_unsent_long_after_its_article_expires_with_a_reason_and_an_editor_can_still_send_it(
    engine: Engine, settings: Settings
) -> None:
    sandbox_channels(engine, settings, facebook={"stale_after_minutes": 600})
    now = utcnow()
    old = due_article(engine, "old", published=ago(now, minutes=400), due=ago(now, minutes=370))
    fresh = due_article(engine, "fresh", published=ago(now, minutes=400), due=ago(now, minutes=5))
    claim(engine, now)
    expired = post(engine, old["x"])
    assert expired.status == PostStatus.EXPIRED
    assert expired.last_error is not None
    assert expired.last_error.startswith("Expired: still not sent 360 minutes after it was due")
    assert post(engine, old["facebook"]).status == PostStatus.QUEUED  # 600 minutes on Facebook
    assert post(engine, fresh["x"]).status == PostStatus.QUEUED  # an editor's later schedule

    with session_scope(engine) as s:
        post_now(session=s, post_id=old["x"], actor="editor")
    assert post(engine, old["x"]).status == PostStatus.SCHEDULED
    claim(engine, utcnow())
    assert post(engine, old["x"]).status == PostStatus.QUEUED


def test_x_zero_remaining_on_a_success_pauses_the_channel_until_the_reset(
    engine: Engine, settings: Settings
) -> None:
    sandbox_channels(engine, settings)
    now = utcnow()
    first = due_article(engine, "xr1", published=ago(now, minutes=1), due=ago(now, seconds=2))
    second = due_article(
        engine, "xr2", published=ago(now, minutes=1), due=now + timedelta(seconds=1)
    )
    reset = int((now + timedelta(minutes=15)).timestamp())
    claim(engine, now)
    with Session(engine) as s:
        attempt = s.exec(select(DeliveryAttempt).where(DeliveryAttempt.post_id == first["x"])).one()

    def created_last_call(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            201,
            json={"data": {"id": "1880000000000000001", "text": "t xr1"}},
            headers={
                "x-rate-limit-limit": "100",
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": str(reset),
            },
        )

    assert deliver(engine, attempt.id, settings, created_last_call) == "published"
    x = channel(engine, post(engine, first["x"]).channel_id)
    assert x.rate_limited_until == datetime.fromtimestamp(reset, tz=UTC)
    assert x.last_success_at is not None
    claim(engine, now + timedelta(seconds=2))
    assert post(engine, second["x"]).status == PostStatus.SCHEDULED  # paused, before any 429
    claim(engine, datetime.fromtimestamp(reset, tz=UTC) + timedelta(seconds=1))
    assert post(engine, second["x"]).status == PostStatus.QUEUED


def test_a_spaced_channel_keeps_publish_order_while_an_earlier_post_is_still_rendering(
    engine: Engine, settings: Settings
) -> None:
    sandbox_channels(engine, settings, x={"min_interval_seconds": 5})
    now = utcnow()
    earlier = due_article(engine, "r0", published=ago(now, minutes=2), due=ago(now, seconds=2))
    later = due_article(engine, "r1", published=ago(now, minutes=1), due=ago(now, seconds=1))
    with session_scope(engine) as s:
        row = s.get(Post, earlier["x"])
        assert row is not None
        row.status = PostStatus.RENDERING
        s.add(row)
    claim(engine, now)
    assert queued(engine, "x") == []  # the later article does not overtake the earlier one
    with session_scope(engine) as s:
        row = s.get(Post, earlier["x"])
        assert row is not None
        row.status = PostStatus.SCHEDULED
        s.add(row)
    claim(engine, now + timedelta(seconds=1))
    assert queued(engine, "x") == [earlier["x"]]
    assert post(engine, later["x"]).status == PostStatus.SCHEDULED
