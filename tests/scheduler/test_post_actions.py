"""The editor's post services against real SQLite and PostgreSQL databases."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from config import Settings
from scheduler.channels import set_channel_status
from scheduler.db.engine import session_scope
from scheduler.delivery.attempt import deliver_attempt
from scheduler.delivery.dispatch import claim_due_posts
from scheduler.editorial.actions import (
    PostActionRefused,
    PostNotFound,
    approve_post,
    cancel_post,
    edit_post_text,
    get_post,
    list_posts,
    post_now,
    retry_post,
    schedule_post,
    set_approval_required,
)
from scheduler.editorial.approvals import set_source_approval
from scheduler.editorial.rendering import format_post
from scheduler.intake.articles import ingest_article
from scheduler.intake.schemas import InvalidInput, parse_article
from scheduler.models import (
    AttemptStatus,
    AuditEvent,
    Channel,
    ChannelStatus,
    DeliveryAttempt,
    Post,
    PostStatus,
    utcnow,
)
from scheduler.ops.state import set_global_pause
from tests.utils.factories import by_platform, sandbox_channel_ids, seed_article, set_post

EDITOR = "key:desk-editor"
LONG_X_TEXT = "Breaking: " + "word " * 61  # 315 characters: over X's 280


@pytest.fixture
def channels(engine: Engine, settings: Settings) -> dict[str, uuid.UUID]:
    return sandbox_channel_ids(engine, settings)


def seed(
    engine: Engine, article_json: dict[str, Any], tag: str = "a", **kw: Any
) -> dict[str, uuid.UUID]:
    """The ids of a seeded article's posts (see :func:`tests.utils.factories.seed_article`)."""
    return {
        platform: p.id
        for platform, p in by_platform(seed_article(engine, article_json, tag, **kw)).items()
    }


def load(engine: Engine, post_id: uuid.UUID) -> Post:
    with Session(engine) as s:
        post = s.get(Post, post_id)
        assert post is not None
        return post


def audit_actions(engine: Engine, post_id: uuid.UUID) -> list[AuditEvent]:
    with Session(engine) as s:
        return list(
            s.exec(
                select(AuditEvent).where(AuditEvent.post_id == post_id).order_by(col(AuditEvent.at))
            ).all()
        )


def require_approval(engine: Engine, channel_id: uuid.UUID) -> None:
    with session_scope(engine) as s:
        set_approval_required(session=s, channel_id=channel_id, required=True, actor=EDITOR)


# --- edit -----------------------------------------------------------------------------------------


def test_edit_over_280_on_x_returns_problems_makes_a_draft_and_approve_gives_the_reason(
    engine: Engine, settings: Settings, channels: dict[str, uuid.UUID], article_json: dict[str, Any]
) -> None:
    x = seed(engine, article_json)["x"]
    with session_scope(engine) as s:
        problems = edit_post_text(
            session=s, post_id=x, text=LONG_X_TEXT, actor=EDITOR, settings=settings
        )
    assert problems and "characters by X's count" in problems[0]
    post = load(engine, x)
    assert post.status == PostStatus.DRAFT
    assert post.text_override == LONG_X_TEXT
    assert post.last_error == " ".join(problems)
    assert post.weighted_length is not None and post.weighted_length > 280
    with session_scope(engine) as s, pytest.raises(PostActionRefused) as refused:
        approve_post(session=s, post_id=x, actor=EDITOR)
    assert str(refused.value).startswith("This post cannot be approved: The post is ")
    assert load(engine, x).status == PostStatus.DRAFT


def test_valid_edit_of_a_draft_puts_it_back_on_the_schedule(
    engine: Engine, settings: Settings, channels: dict[str, uuid.UUID], article_json: dict[str, Any]
) -> None:
    x = seed(engine, article_json)["x"]
    with session_scope(engine) as s:
        edit_post_text(session=s, post_id=x, text=LONG_X_TEXT, actor=EDITOR, settings=settings)
    with session_scope(engine) as s:
        problems = edit_post_text(
            session=s,
            post_id=x,
            text="Dar in Istanbul for Gaza talks",
            actor=EDITOR,
            settings=settings,
        )
    assert problems == []
    post = load(engine, x)
    assert post.status == PostStatus.SCHEDULED
    assert post.problems == [] and post.last_error is None
    assert post.edited_by == EDITOR
    with Session(engine) as s:
        assert get_post(session=s, post_id=x).text == "Dar in Istanbul for Gaza talks"


def test_valid_edit_of_a_draft_on_an_approval_channel_waits_for_approval(
    engine: Engine, settings: Settings, channels: dict[str, uuid.UUID], article_json: dict[str, Any]
) -> None:
    x = seed(engine, article_json, status=PostStatus.DRAFT)["x"]
    require_approval(engine, channels["x"])
    with session_scope(engine) as s:
        edit_post_text(session=s, post_id=x, text="Short and fine", actor=EDITOR, settings=settings)
    assert load(engine, x).status == PostStatus.PENDING_APPROVAL


def test_editing_an_approved_post_withdraws_the_approval_when_the_channel_requires_one(
    engine: Engine, settings: Settings, channels: dict[str, uuid.UUID], article_json: dict[str, Any]
) -> None:
    x = seed(engine, article_json)["x"]
    require_approval(engine, channels["x"])
    assert load(engine, x).status == PostStatus.PENDING_APPROVAL
    with session_scope(engine) as s:
        approve_post(session=s, post_id=x, actor=EDITOR)
    assert load(engine, x).approved_by == EDITOR
    with session_scope(engine) as s:
        edit_post_text(session=s, post_id=x, text="New copy", actor=EDITOR, settings=settings)
    post = load(engine, x)
    assert post.status == PostStatus.PENDING_APPROVAL
    assert post.approved_by is None and post.approved_at is None


def test_editing_keeps_the_approval_when_no_approval_is_required(
    engine: Engine, settings: Settings, channels: dict[str, uuid.UUID], article_json: dict[str, Any]
) -> None:
    fb = seed(engine, article_json)["facebook"]
    set_post(engine, fb, approved_by="someone", approved_at=utcnow())
    with session_scope(engine) as s:
        edit_post_text(session=s, post_id=fb, text="New copy", actor=EDITOR, settings=settings)
    post = load(engine, fb)
    assert post.status == PostStatus.SCHEDULED and post.approved_by == "someone"


@pytest.mark.parametrize(
    "status",
    [PostStatus.QUEUED, PostStatus.PUBLISHING, PostStatus.PUBLISHED, PostStatus.CANCELLED],
)
def test_editing_is_refused_once_the_post_is_sent_or_cancelled(
    engine: Engine,
    settings: Settings,
    channels: dict[str, uuid.UUID],
    article_json: dict[str, Any],
    status: PostStatus,
) -> None:
    x = seed(engine, article_json, status=status)["x"]
    with session_scope(engine) as s, pytest.raises(PostActionRefused, match="cannot be edited"):
        edit_post_text(session=s, post_id=x, text="Too late", actor=EDITOR, settings=settings)
    assert load(engine, x).text_override is None


def test_text_over_ten_thousand_characters_is_refused_before_anything_is_written(
    engine: Engine, settings: Settings, channels: dict[str, uuid.UUID], article_json: dict[str, Any]
) -> None:
    fb = seed(engine, article_json)["facebook"]
    with session_scope(engine) as s, pytest.raises(InvalidInput, match="10,000"):
        edit_post_text(session=s, post_id=fb, text="x" * 10_001, actor=EDITOR, settings=settings)
    assert load(engine, fb).text_override is None


def test_unknown_post_raises_post_not_found(engine: Engine, settings: Settings) -> None:
    with session_scope(engine) as s, pytest.raises(PostNotFound):
        approve_post(session=s, post_id=uuid.uuid4(), actor=EDITOR)
    with Session(engine) as s, pytest.raises(PostNotFound):
        get_post(session=s, post_id=uuid.uuid4())


# --- approve --------------------------------------------------------------------------------------


def test_approving_a_pending_post_schedules_it_and_records_who(
    engine: Engine, channels: dict[str, uuid.UUID], article_json: dict[str, Any]
) -> None:
    ig = seed(engine, article_json, status=PostStatus.PENDING_APPROVAL)["instagram"]
    with session_scope(engine) as s:
        approve_post(session=s, post_id=ig, actor=EDITOR)
    post = load(engine, ig)
    assert post.status == PostStatus.SCHEDULED
    assert post.approved_by == EDITOR and post.approved_at is not None
    event = audit_actions(engine, ig)[-1]
    assert event.action == "post.approve" and event.actor == EDITOR
    assert event.before["status"] == "pending_approval" and event.after["status"] == "scheduled"


def test_approving_on_a_paused_channel_holds_the_post(
    engine: Engine, channels: dict[str, uuid.UUID], article_json: dict[str, Any]
) -> None:
    ig = seed(engine, article_json, status=PostStatus.PENDING_APPROVAL)["instagram"]
    with session_scope(engine) as s:
        channel = s.get(Channel, channels["instagram"])
        assert channel is not None
        set_channel_status(
            session=s, channel=channel, status=ChannelStatus.PAUSED, reason="x", actor=EDITOR
        )
    with session_scope(engine) as s:
        approve_post(session=s, post_id=ig, actor=EDITOR)
    assert load(engine, ig).status == PostStatus.HELD


def test_approving_a_scheduled_post_is_refused(
    engine: Engine, channels: dict[str, uuid.UUID], article_json: dict[str, Any]
) -> None:
    x = seed(engine, article_json)["x"]
    with session_scope(engine) as s, pytest.raises(PostActionRefused, match="already scheduled"):
        approve_post(session=s, post_id=x, actor=EDITOR)


def test_an_action_decides_on_the_current_state_not_a_copy_loaded_earlier(
    engine: Engine, channels: dict[str, uuid.UUID], article_json: dict[str, Any]
) -> None:
    x = seed(engine, article_json, status=PostStatus.PENDING_APPROVAL)["x"]
    with Session(engine, expire_on_commit=False) as s:
        s.get(Post, x)  # the editor's copy, kept past its transaction
        s.commit()
        with session_scope(engine) as other:
            cancel_post(session=other, post_id=x, actor="key:other-editor")
        with pytest.raises(PostActionRefused, match="cancelled"):
            approve_post(session=s, post_id=x, actor=EDITOR)
    assert load(engine, x).status == PostStatus.CANCELLED


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


def test_scheduling_in_the_past_means_now(
    engine: Engine, channels: dict[str, uuid.UUID], article_json: dict[str, Any]
) -> None:
    x = seed(engine, article_json)["x"]
    before = utcnow()
    with session_scope(engine) as s:
        schedule_post(session=s, post_id=x, at=before - timedelta(days=3), actor=EDITOR)
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
        retry_post(session=s, post_id=x, actor=EDITOR)
    assert load(engine, x).status == PostStatus.SCHEDULED
    assert audit_actions(engine, x)[-1].detail == "checked by a person: not on the platform"


# --- approval rules -------------------------------------------------------------------------------


def test_requiring_approval_on_a_channel_holds_its_waiting_posts_and_lifting_releases_them(
    engine: Engine, channels: dict[str, uuid.UUID], article_json: dict[str, Any]
) -> None:
    posts = seed(engine, article_json)
    with session_scope(engine) as s:
        result = set_approval_required(
            session=s, channel_id=channels["x"], required=True, actor=EDITOR
        )
    assert result["posts_held"] == 1
    assert load(engine, posts["x"]).status == PostStatus.PENDING_APPROVAL
    assert load(engine, posts["facebook"]).status == PostStatus.SCHEDULED
    with session_scope(engine) as s:
        set_approval_required(session=s, channel_id=channels["x"], required=False, actor=EDITOR)
    assert load(engine, posts["x"]).status == PostStatus.SCHEDULED
    with Session(engine) as s:
        actions = [
            e.action
            for e in s.exec(select(AuditEvent).where(AuditEvent.channel_id == channels["x"]))
        ]
    assert actions.count("channel.approval") == 2


def test_a_source_that_requires_approval_sends_rendered_posts_to_approval(
    engine: Engine, settings: Settings, channels: dict[str, uuid.UUID], article_json: dict[str, Any]
) -> None:
    with session_scope(engine) as s:
        set_source_approval(session=s, source=article_json["source"], required=True, actor=EDITOR)
    with session_scope(engine) as s:
        article = ingest_article(session=s, data=parse_article(article_json)).article
        x = s.exec(select(Post).where(Post.article_id == article.id, Post.platform == "x")).one()
    with httpx.Client() as client:  # X renders without fetching anything
        status = format_post(engine=engine, post_id=x.id, settings=settings, client=client)
    assert status == PostStatus.PENDING_APPROVAL
    with Session(engine) as s:
        assert get_post(session=s, post_id=x.id).requires_approval is True


# --- listing --------------------------------------------------------------------------------------


def test_keyset_pages_have_no_duplicates_or_omissions_while_posts_are_inserted(
    engine: Engine, channels: dict[str, uuid.UUID], article_json: dict[str, Any]
) -> None:
    existing: set[str] = set()
    for i in range(5):
        existing |= {str(p) for p in seed(engine, article_json, f"p{i}", hours=1 + i).values()}
    seen: list[str] = []
    cursor = None
    for page_no in range(100):
        with Session(engine) as s:
            rows, cursor = list_posts(session=s, limit=4, cursor=cursor)
        seen += [r.id for r in rows]
        # Posts arrive while the editor pages: before, within and after the pages read so far.
        seed(engine, article_json, f"new{page_no}", hours=0.5 + page_no)
        if cursor is None:
            break
    assert len(seen) == len(set(seen))
    assert existing <= set(seen)


def test_listing_filters_by_status_platform_and_time_window(
    engine: Engine, channels: dict[str, uuid.UUID], article_json: dict[str, Any]
) -> None:
    soon = seed(engine, article_json, "soon", hours=1)
    seed(engine, article_json, "later", hours=30)
    set_post(engine, soon["x"], status=PostStatus.DRAFT)
    with Session(engine) as s:
        drafts, _ = list_posts(session=s, status="draft")
        xs, _ = list_posts(session=s, channel="x")
        by_id, _ = list_posts(session=s, channel=str(channels["facebook"]))
        window, _ = list_posts(
            session=s, scheduled_from=utcnow(), scheduled_to=utcnow() + timedelta(hours=2)
        )
    assert [r.id for r in drafts] == [str(soon["x"])]
    assert {r.channel for r in xs} == {"x"} and len(xs) == 2
    assert {r.channel_id for r in by_id} == {str(channels["facebook"])}
    assert {r.id for r in window} == {str(p) for p in soon.values()}
    with Session(engine) as s, pytest.raises(InvalidInput, match="channel"):
        list_posts(session=s, channel="myspace")
    with Session(engine) as s, pytest.raises(InvalidInput, match="cursor"):
        list_posts(session=s, cursor="not-a-cursor")


def test_post_detail_has_article_channel_approval_and_attempts(
    engine: Engine, channels: dict[str, uuid.UUID], article_json: dict[str, Any]
) -> None:
    fb = seed(engine, article_json, hours=-0.1)["facebook"]
    claim_due_posts(engine=engine, now=utcnow(), batch=10, lease_seconds=60)
    with Session(engine) as s:
        d = get_post(session=s, post_id=fb).model_dump()
    assert d["article_title"] == article_json["title"] and d["article_url"] == article_json["url"]
    assert d["channel"] == "facebook" and d["channel_timezone"] == "Asia/Karachi"
    assert d["attempts"]["count"] == 1 and d["attempts"]["last_status"] == "enqueued"
    assert d["requires_approval"] is False and d["problems"] == []
    assert datetime.fromisoformat(d["scheduled_at"]).tzinfo == UTC or d["scheduled_at"].endswith(
        "+00:00"
    )


def test_a_source_rule_names_at_most_84_characters_and_says_so(engine: Engine) -> None:
    with session_scope(engine) as s, pytest.raises(InvalidInput, match="1 to 84 characters"):
        set_source_approval(session=s, source="s" * 85, required=True, actor=EDITOR)
