"""The editor's post services against real SQLite and PostgreSQL databases: scheduling,
posting now, cancelling and retrying."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from config import Settings
from scheduler.db.engine import session_scope
from scheduler.delivery.attempt import deliver_attempt
from scheduler.delivery.dispatch import claim_due_posts
from scheduler.editorial.actions import (
    PostActionRefused,
    TimeHasPassed,
    cancel_post,
    get_post,
    post_now,
    retry_post,
    schedule_post,
)
from scheduler.intake.schemas import InvalidInput
from scheduler.models import (
    AttemptStatus,
    Channel,
    DeliveryAttempt,
    PostStatus,
    utcnow,
)
from scheduler.ops.state import set_global_pause
from tests.scheduler.post_actions_support import (
    EDITOR,
    audit_actions,
    load,
    require_approval,
    seed,
)
from tests.utils.factories import set_post

# --- schedule and post now ------------------------------------------------------------------------


def test_scheduling_with_a_plus_five_offset_stores_the_utc_instant(
    engine: Engine, channels: dict[str, uuid.UUID], article_json: dict[str, Any]
) -> None:
    x = seed(engine, article_json)["x"]
    karachi = timezone(timedelta(hours=5))
    at = (utcnow() + timedelta(days=2)).astimezone(karachi).replace(microsecond=0)
    at = at.replace(hour=18, minute=0, second=0)
    with session_scope(engine) as s:
        schedule_post(session=s, post_id=x, at=at, actor=EDITOR)
    stored = load(engine, x).scheduled_at
    assert stored == at and stored is not None
    assert stored.utcoffset() == timedelta(0) and stored.hour == 13
    with Session(engine) as s:
        detail = get_post(session=s, post_id=x).model_dump()
    assert detail["scheduled_at_local"].endswith("+05:00")
    assert detail["scheduled_at_local"].startswith(at.date().isoformat() + "T18:00:00")


def test_scheduling_refuses_naive_times_and_times_over_a_year_ahead(
    engine: Engine, channels: dict[str, uuid.UUID], article_json: dict[str, Any]
) -> None:
    x = seed(engine, article_json)["x"]
    with session_scope(engine) as s, pytest.raises(InvalidInput, match="time zone offset"):
        schedule_post(session=s, post_id=x, at=datetime(2030, 1, 1, 12), actor=EDITOR)
    with session_scope(engine) as s, pytest.raises(InvalidInput, match="within a year"):
        schedule_post(session=s, post_id=x, at=utcnow() + timedelta(days=400), actor=EDITOR)


def test_scheduling_in_the_past_is_refused_with_the_time_in_the_channels_zone(
    engine: Engine, channels: dict[str, uuid.UUID], article_json: dict[str, Any]
) -> None:
    x = seed(engine, article_json)["x"]
    kept = load(engine, x).scheduled_at
    past = utcnow() - timedelta(days=3)
    with session_scope(engine) as s, pytest.raises(TimeHasPassed) as refused:
        schedule_post(session=s, post_id=x, at=past, actor=EDITOR)
    with session_scope(engine) as s:
        zone = s.get(Channel, load(engine, x).channel_id).timezone  # type: ignore[union-attr]
    local = past.astimezone(ZoneInfo(zone)).strftime("%d %b %Y %H:%M")
    assert str(refused.value) == (
        f"That time has passed ({local} {zone}). Choose a later time, or use Post now."
    )
    assert load(engine, x).scheduled_at == kept  # nothing changed


def test_a_time_just_past_still_means_now(
    engine: Engine, channels: dict[str, uuid.UUID], article_json: dict[str, Any]
) -> None:
    x = seed(engine, article_json)["x"]
    before = utcnow()
    with session_scope(engine) as s:
        schedule_post(session=s, post_id=x, at=before - timedelta(seconds=30), actor=EDITOR)
    stored = load(engine, x).scheduled_at
    assert stored is not None and before <= stored <= utcnow()


def test_scheduling_a_cancelled_post_brings_it_back(
    engine: Engine, channels: dict[str, uuid.UUID], article_json: dict[str, Any]
) -> None:
    x = seed(engine, article_json, status=PostStatus.CANCELLED)["x"]
    with session_scope(engine) as s:
        schedule_post(session=s, post_id=x, at=utcnow() + timedelta(hours=3), actor=EDITOR)
    assert load(engine, x).status == PostStatus.SCHEDULED


def test_post_now_makes_the_post_due_immediately(
    engine: Engine, channels: dict[str, uuid.UUID], article_json: dict[str, Any]
) -> None:
    fb = seed(engine, article_json, hours=5)["facebook"]
    with session_scope(engine) as s:
        post_now(session=s, post_id=fb, actor=EDITOR)
    post = load(engine, fb)
    assert post.status == PostStatus.SCHEDULED
    assert post.scheduled_at is not None and post.scheduled_at <= utcnow()
    claimed = claim_due_posts(engine=engine, now=utcnow(), batch=10, lease_seconds=60)
    assert [m.args for m in claimed] and load(engine, fb).status == PostStatus.QUEUED


def test_post_now_is_refused_while_approval_is_missing_or_anything_is_paused(
    engine: Engine, channels: dict[str, uuid.UUID], article_json: dict[str, Any]
) -> None:
    posts = seed(engine, article_json, status=PostStatus.PENDING_APPROVAL)
    require_approval(engine, channels["x"])
    with session_scope(engine) as s, pytest.raises(PostActionRefused, match="approval first"):
        post_now(session=s, post_id=posts["x"], actor=EDITOR)
    set_post(engine, posts["facebook"], status=PostStatus.SCHEDULED)
    with session_scope(engine) as s:
        set_global_pause(session=s, actor=EDITOR, reason="election silence")
    with session_scope(engine) as s, pytest.raises(PostActionRefused, match="election silence"):
        post_now(session=s, post_id=posts["facebook"], actor=EDITOR)


# --- cancel ---------------------------------------------------------------------------------------


def test_cancelling_a_queued_post_supersedes_its_attempt_so_the_worker_sends_nothing(
    engine: Engine,
    settings: Settings,
    channels: dict[str, uuid.UUID],
    article_json: dict[str, Any],
) -> None:
    fb = seed(engine, article_json, hours=-0.1)["facebook"]
    claim_due_posts(engine=engine, now=utcnow(), batch=10, lease_seconds=60)
    assert load(engine, fb).status == PostStatus.QUEUED
    with session_scope(engine) as s:
        cancel_post(session=s, post_id=fb, actor=EDITOR)
    assert load(engine, fb).status == PostStatus.CANCELLED
    with Session(engine) as s:
        attempt = s.exec(select(DeliveryAttempt).where(DeliveryAttempt.post_id == fb)).one()
    assert (
        attempt.status == AttemptStatus.SUPERSEDED and attempt.message == f"cancelled by {EDITOR}"
    )
    # The transport fails the test if the worker calls the platform at all.
    refuse = httpx.MockTransport(lambda r: pytest.fail(f"unexpected platform call {r.url}"))
    with httpx.Client(transport=refuse) as client:
        outcome = deliver_attempt(
            engine=engine, attempt_id=attempt.id, settings=settings, client=client
        )
    assert outcome == "stale"
    assert load(engine, fb).status == PostStatus.CANCELLED


@pytest.mark.parametrize("status", [PostStatus.PUBLISHING, PostStatus.PUBLISHED])
def test_cancelling_is_refused_once_sending_started(
    engine: Engine, channels: dict[str, uuid.UUID], article_json: dict[str, Any], status: PostStatus
) -> None:
    x = seed(engine, article_json, status=status)["x"]
    with session_scope(engine) as s, pytest.raises(PostActionRefused, match="cannot be cancelled"):
        cancel_post(session=s, post_id=x, actor=EDITOR)
    assert load(engine, x).status == status


# --- retry ----------------------------------------------------------------------------------------


def test_retry_puts_only_that_post_back_on_the_schedule(
    engine: Engine, channels: dict[str, uuid.UUID], article_json: dict[str, Any]
) -> None:
    posts = seed(engine, article_json, status=PostStatus.FAILED)
    for pid in posts.values():
        set_post(engine, pid, last_error="The platform refused the post.")
    siblings_before = {p: load(engine, pid) for p, pid in posts.items() if p != "x"}
    with session_scope(engine) as s:
        retry_post(session=s, post_id=posts["x"], actor=EDITOR)
    post = load(engine, posts["x"])
    assert post.status == PostStatus.SCHEDULED and post.last_error is None
    assert post.scheduled_at is not None and post.scheduled_at <= utcnow()
    for platform, before in siblings_before.items():
        after = load(engine, posts[platform])
        assert after.model_dump(warnings=False) == before.model_dump(warnings=False)
    event = audit_actions(engine, posts["x"])[-1]
    assert event.action == "post.retry"
    assert event.before["last_error"] == "The platform refused the post."


def test_retry_is_refused_for_a_scheduled_post(
    engine: Engine, channels: dict[str, uuid.UUID], article_json: dict[str, Any]
) -> None:
    x = seed(engine, article_json)["x"]
    with session_scope(engine) as s, pytest.raises(PostActionRefused, match="cannot be retried"):
        retry_post(session=s, post_id=x, actor=EDITOR)


def test_retry_of_a_post_in_review_records_that_a_person_checked(
    engine: Engine, channels: dict[str, uuid.UUID], article_json: dict[str, Any]
) -> None:
    x = seed(engine, article_json, status=PostStatus.NEEDS_REVIEW)["x"]
    with session_scope(engine) as s:
        retry_post(session=s, post_id=x, actor=EDITOR, checked_not_on_platform=True)
    assert load(engine, x).status == PostStatus.SCHEDULED
    assert audit_actions(engine, x)[-1].detail == "checked by a person: not on the platform"
