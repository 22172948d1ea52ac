"""The queue's "Waiting for you" query on SQLite and PostgreSQL: groups most urgent first, each
with its first posts in schedule order, a capped count and the queue link that shows them all;
channels needing a new login and expiring tokens; who paused a channel."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from config import Settings
from scheduler.access.crypto import encrypt_credentials
from scheduler.channels import get_channel, pause_channel, set_channel_status
from scheduler.db.engine import session_scope
from scheduler.models import Channel, ChannelStatus, PostStatus, utcnow
from scheduler.web import clock
from scheduler.web.waiting import GROUPS, group_count, group_rows, waiting_for_you
from tests.utils.factories import by_platform, sandbox_channel_ids, seed_article

S = PostStatus
SPEC = {g.key: g for g in GROUPS}


def seed(
    engine: Engine, article_json: dict[str, Any], tag: str, status: PostStatus, hours: float
) -> dict[str, Any]:
    return by_platform(seed_article(engine, article_json, tag, status=status, hours=hours))


@pytest.fixture
def channels(engine: Engine, settings: Settings) -> dict[str, Any]:
    return sandbox_channel_ids(engine, settings)


def test_groups_come_most_urgent_first_with_counts_rows_in_schedule_order_and_links(
    engine: Engine, settings: Settings, article_json: dict[str, Any], channels: dict[str, Any]
) -> None:
    breaking = {**article_json, "priority": "breaking"}
    seed(engine, article_json, "approve-late", S.PENDING_APPROVAL, hours=5)
    seed(engine, article_json, "approve-soon", S.PENDING_APPROVAL, hours=1)
    seed(engine, breaking, "breaking", S.PENDING_APPROVAL, hours=3)
    seed(engine, article_json, "draft", S.DRAFT, hours=2)
    seed(engine, article_json, "failed", S.FAILED, hours=-30)
    seed(engine, article_json, "review", S.NEEDS_REVIEW, hours=-2)
    seed(engine, article_json, "scheduled", S.SCHEDULED, hours=1)  # needs nobody
    with Session(engine) as s:
        waiting = waiting_for_you(session=s, settings=settings)
    keys = [g.key for g in waiting.groups]
    assert keys == ["needs_review", "failed", "breaking", "pending_approval", "draft"]
    groups = {g.key: g for g in waiting.groups}
    # Each article has three posts (X, Instagram, Facebook): counts are posts.
    assert {k: g.count for k, g in groups.items()} == {
        "needs_review": 3,
        "failed": 3,
        "breaking": 3,
        "pending_approval": 6,
        "draft": 3,
    }
    # The breaking article is in its own group, not among the ordinary approvals.
    approvals = groups["pending_approval"].rows
    assert len(approvals) == 5  # the group's limit
    assert all(not r.breaking for r in approvals)
    times = [r.scheduled_at for r in approvals]
    assert times == sorted(times)  # soonest first
    assert all(r.breaking for r in groups["breaking"].rows)
    # "See all" is the queue filtered by the status, from the day of the group's oldest post.
    failed = groups["failed"]
    assert failed.see_all is not None and failed.see_all.startswith("/?status=failed&from=")
    oldest = failed.rows[0].scheduled_at
    assert oldest is not None
    day = clock.local(oldest, settings.newsroom_timezone).date().isoformat()
    assert failed.see_all == f"/?status=failed&from={day}"
    assert groups["breaking"].see_all is not None
    assert groups["breaking"].see_all.startswith("/?status=pending_approval&from=")
    assert waiting.reconnect == []


def test_counts_stop_at_the_cap_and_rows_at_the_limit(
    engine: Engine, settings: Settings, article_json: dict[str, Any], channels: dict[str, Any]
) -> None:
    for i in range(2):
        seed(engine, article_json, f"f{i}", S.FAILED, hours=-i)
    with Session(engine) as s:
        assert group_count(session=s, spec=SPEC["failed"]) == 6
        # Counting stops one past the cap: enough to say "cap+" without reading everything.
        assert group_count(session=s, spec=SPEC["failed"], cap=4) == 5
        assert len(group_rows(session=s, spec=SPEC["failed"], limit=2)) == 2
        assert group_count(session=s, spec=SPEC["needs_review"]) == 0


def test_a_channel_needing_a_new_login_and_an_expiring_token_are_groups_of_their_own(
    engine: Engine, settings: Settings, article_json: dict[str, Any], channels: dict[str, Any]
) -> None:
    posts = seed(engine, article_json, "reauth", S.NEEDS_REAUTH, hours=1)
    seed(engine, article_json, "failed", S.FAILED, hours=1)
    with session_scope(engine) as s:
        x = get_channel(session=s, channel_id=channels["x"])
        set_channel_status(
            session=s,
            channel=x,
            status=ChannelStatus.NEEDS_REAUTH,
            reason="token revoked",
            actor="system",
        )
        # A Facebook Page token cannot renew itself: it is warned about a week ahead.
        fb = s.get(Channel, channels["facebook"])
        assert fb is not None
        fb.token_expires_at = utcnow() + timedelta(days=2)
        fb.credentials_encrypted = encrypt_credentials({"access_token": "t"}, settings=settings)
        s.add(fb)
    with Session(engine) as s:
        waiting = waiting_for_you(session=s, settings=settings)
    assert [g.key for g in waiting.groups] == ["needs_reauth", "failed", "tokens"]
    reauth = waiting.groups[0]
    assert reauth.count == 3
    assert {r.post_id for r in reauth.rows} == {p.id for p in posts.values()}
    assert [c.name for c in waiting.reconnect] == ["Sandbox X"]
    assert waiting.reconnect[0].reason == "token revoked"
    tokens = waiting.groups[2]
    assert tokens.count == 1 and tokens.see_all is None
    assert tokens.tokens[0].channel == "Sandbox Facebook"
    assert "expires in 1 day" in tokens.tokens[0].words


def test_a_needs_reauth_channel_without_posts_still_asks_for_a_reconnect(
    engine: Engine, settings: Settings, channels: dict[str, Any]
) -> None:
    with session_scope(engine) as s:
        ig = get_channel(session=s, channel_id=channels["instagram"])
        set_channel_status(
            session=s, channel=ig, status=ChannelStatus.NEEDS_REAUTH, reason=None, actor="system"
        )
    with Session(engine) as s:
        waiting = waiting_for_you(session=s, settings=settings)
    assert [(g.key, g.count, g.see_all) for g in waiting.groups] == [("needs_reauth", 0, None)]


def test_nothing_waiting_means_no_groups_and_every_channel_listed_with_who_paused_it(
    engine: Engine, settings: Settings, article_json: dict[str, Any], channels: dict[str, Any]
) -> None:
    seed(engine, article_json, "fine", S.SCHEDULED, hours=1)
    with session_scope(engine) as s:
        fb = get_channel(session=s, channel_id=channels["facebook"])
        pause_channel(session=s, channel=fb, reason="first", actor="user:ops")
    with session_scope(engine) as s:
        fb = get_channel(session=s, channel_id=channels["facebook"])
        pause_channel(session=s, channel=fb, reason="wrong feed", actor="user:editor")
    with Session(engine) as s:
        waiting = waiting_for_you(session=s, settings=settings)
    assert waiting.groups == []
    states = {c.name: c for c in waiting.channels}
    assert [c.platform for c in waiting.channels] == ["facebook", "instagram", "x"]
    fb_state = states["Sandbox Facebook"]
    assert (fb_state.status, fb_state.reason, fb_state.paused_by) == (
        "paused",
        "wrong feed",
        "user:editor",  # the latest pause, not the first
    )
    assert fb_state.paused_at is not None
    assert states["Sandbox X"].paused_by is None and states["Sandbox X"].status == "active"


def test_stale_breaking_news_waits_with_the_approvals_and_counts_stay_exact(
    engine: Engine, settings: Settings, article_json: dict[str, Any], channels: dict[str, Any]
) -> None:
    breaking = {**article_json, "priority": "breaking"}
    seed(engine, breaking, "fresh", S.PENDING_APPROVAL, hours=-1)
    stale = seed(engine, breaking, "stale", S.PENDING_APPROVAL, hours=-30)
    seed(engine, article_json, "normal", S.PENDING_APPROVAL, hours=2)
    with Session(engine) as s:
        groups = {g.key: g for g in waiting_for_you(session=s, settings=settings).groups}
        # Counted as "all pending minus the fresh breaking ones", capped like every group.
        assert group_count(session=s, spec=SPEC["pending_approval"], cap=4) == 5
        assert group_count(session=s, spec=SPEC["pending_approval"], cap=6) == 6
    assert groups["breaking"].count == 3
    assert {r.post_id for r in groups["breaking"].rows}.isdisjoint(
        r.post_id for r in groups["pending_approval"].rows
    )
    approvals = groups["pending_approval"]
    assert approvals.count == 6
    # The stale breaking posts come first (scheduled earliest) among the approvals.
    assert {r.post_id for r in approvals.rows[:3]} == {p.id for p in stale.values()}
