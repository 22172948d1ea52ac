"""Undoing a cancel, retrying a needs_review post only once checked, and marking a needs_review
post as published, against real SQLite and PostgreSQL databases."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from config import Settings
from scheduler.db.engine import is_sqlite, session_scope
from scheduler.editorial.actions import (
    PostActionRefused,
    cancel_post,
    retry_post,
)
from scheduler.editorial.post_urls import PostUrlRefused
from scheduler.editorial.recovery import (
    UNDO_WINDOW,
    cancel_records,
    mark_post_published,
    restore_post,
)
from scheduler.models import AttemptStatus, AuditEvent, DeliveryAttempt, Post, PostStatus, utcnow
from tests.scheduler.post_actions_support import EDITOR, audit_actions, load, seed
from tests.utils.factories import add_attempt, set_post

OTHER = "user:night-editor"


def _cancel(engine: Engine, post_id: uuid.UUID, actor: str = EDITOR) -> None:
    with session_scope(engine) as s:
        cancel_post(session=s, post_id=post_id, actor=actor)


def _restore(engine: Engine, post_id: uuid.UUID) -> str:
    with session_scope(engine) as s:
        return restore_post(session=s, post_id=post_id, actor=OTHER).sentence


def _age_cancel(engine: Engine, post_id: uuid.UUID, by: timedelta) -> None:
    """Move the post's cancel event back in time (as if it had happened ``by`` ago)."""
    with session_scope(engine) as s:
        cancels = select(AuditEvent).where(
            col(AuditEvent.post_id) == post_id, col(AuditEvent.action) == "post.cancel"
        )
        for event in s.exec(cancels):
            event.at = utcnow() - by
            s.add(event)


# --- cancel: who and when, and undo ---------------------------------------------------------------


def test_cancel_records_who_and_when_from_the_audit_trail_and_offers_undo(
    engine: Engine, channels: dict[str, uuid.UUID], article_json: dict[str, Any]
) -> None:
    posts = seed(engine, article_json)
    before = utcnow()
    _cancel(engine, posts["x"], actor=OTHER)
    with Session(engine) as s:
        records = cancel_records(session=s, posts=[load(engine, p) for p in posts.values()])
    assert set(records) == {posts["x"]}  # only the cancelled post
    record = records[posts["x"]]
    assert record.actor == OTHER and before <= record.at <= utcnow()
    assert record.status_before == PostStatus.SCHEDULED and record.undoable
    assert record.undo_until == record.at + UNDO_WINDOW


def test_undo_brings_a_scheduled_post_back_at_its_time_with_an_audit_event(
    engine: Engine, channels: dict[str, uuid.UUID], article_json: dict[str, Any]
) -> None:
    fb = seed(engine, article_json, hours=2)["facebook"]
    due = load(engine, fb).scheduled_at
    _cancel(engine, fb)
    assert load(engine, fb).status == PostStatus.CANCELLED
    sentence = _restore(engine, fb)
    post = load(engine, fb)
    assert post.status == PostStatus.SCHEDULED and post.scheduled_at == due
    assert sentence == "The cancel was undone; the post is scheduled again."
    events = audit_actions(engine, fb)
    assert [e.action for e in events] == ["post.cancel", "post.restore"]
    assert events[-1].actor == OTHER
    assert events[-1].before["status"] == "cancelled"
    assert events[-1].after["status"] == "scheduled"
    assert EDITOR in (events[-1].detail or "")
    with Session(engine) as s:  # nothing left to undo
        assert cancel_records(session=s, posts=[post]) == {}


@pytest.mark.parametrize("status", [PostStatus.DRAFT, PostStatus.PENDING_APPROVAL])
def test_undo_returns_drafts_and_approvals_to_exactly_that_state(
    engine: Engine, channels: dict[str, uuid.UUID], article_json: dict[str, Any], status: PostStatus
) -> None:
    ig = seed(engine, article_json, status=status, hours=-1)["instagram"]
    _cancel(engine, ig)
    _restore(engine, ig)
    assert load(engine, ig).status == status  # its time passed, but it waits for a person anyway


def test_undo_after_the_time_passed_makes_a_draft_waiting_for_a_new_time(
    engine: Engine, channels: dict[str, uuid.UUID], article_json: dict[str, Any]
) -> None:
    # Due three minutes ago (cancelled just before the dispatcher would have sent it).
    x = seed(engine, article_json, hours=-0.05)["x"]
    _cancel(engine, x)
    sentence = _restore(engine, x)
    post = load(engine, x)
    assert post.status == PostStatus.DRAFT
    assert "passed while it was cancelled" in sentence and "Post now" in sentence
    assert post.last_error == sentence
    assert sentence.count("Asia/Karachi") == 1  # the time in the channel's zone


def test_undo_is_refused_after_the_window_and_for_a_post_not_cancelled(
    engine: Engine, channels: dict[str, uuid.UUID], article_json: dict[str, Any]
) -> None:
    posts = seed(engine, article_json)
    _cancel(engine, posts["x"])
    _age_cancel(engine, posts["x"], UNDO_WINDOW + timedelta(seconds=1))
    with session_scope(engine) as s, pytest.raises(PostActionRefused, match="10 minutes"):
        restore_post(session=s, post_id=posts["x"], actor=OTHER)
    with Session(engine) as s:
        assert not cancel_records(session=s, posts=[load(engine, posts["x"])])[posts["x"]].undoable
    with session_scope(engine) as s, pytest.raises(PostActionRefused, match="already scheduled"):
        restore_post(session=s, post_id=posts["facebook"], actor=OTHER)
    assert load(engine, posts["x"]).status == PostStatus.CANCELLED


def test_undo_refuses_a_post_cancelled_by_newsrelay_rather_than_an_editor(
    engine: Engine, channels: dict[str, uuid.UUID], article_json: dict[str, Any]
) -> None:
    fb = seed(engine, article_json)["facebook"]
    set_post(engine, fb, status=PostStatus.CANCELLED)  # as intake does when the CMS unpublishes
    with session_scope(engine) as s, pytest.raises(PostActionRefused, match="no editor"):
        restore_post(session=s, post_id=fb, actor=OTHER)


def test_undo_refuses_a_post_that_changed_since_the_cancel(
    engine: Engine, channels: dict[str, uuid.UUID], article_json: dict[str, Any]
) -> None:
    x = seed(engine, article_json)["x"]
    _cancel(engine, x)
    # A change lands between the page load and the undo (same status, new version).
    set_post(engine, x, version=load(engine, x).version + 1)
    with session_scope(engine) as s, pytest.raises(PostActionRefused, match="changed after"):
        restore_post(session=s, post_id=x, actor=OTHER)
    assert load(engine, x).status == PostStatus.CANCELLED


@contextmanager
def change_before_the_write(engine: Engine, post_id: uuid.UUID, **values: Any) -> Iterator[None]:
    """Commit ``values`` to the post from another connection just before the service's own
    UPDATE of it: a change that lands between the service's read and its write."""
    fired = False

    def interleave(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        nonlocal fired
        if fired or not statement.lstrip().upper().startswith("UPDATE POST SET"):
            return
        fired = True
        with engine.begin() as other:
            other.execute(
                sa.update(Post)
                .where(col(Post.id) == post_id)
                .values(**values, version=col(Post.version) + 1)
            )

    sa.event.listen(engine, "before_cursor_execute", interleave)
    try:
        yield
    finally:
        sa.event.remove(engine, "before_cursor_execute", interleave)
    assert fired


def _pg_only(engine: Engine) -> None:
    if is_sqlite(engine):
        pytest.skip("SQLite takes the write lock at BEGIN IMMEDIATE: no write can interleave")


def test_undo_compare_and_set_refuses_when_the_post_changes_between_read_and_write(
    engine: Engine, channels: dict[str, uuid.UUID], article_json: dict[str, Any]
) -> None:
    _pg_only(engine)
    x = seed(engine, article_json)["x"]
    _cancel(engine, x)
    later = utcnow() + timedelta(hours=5)
    with (
        change_before_the_write(engine, x, status=PostStatus.SCHEDULED, scheduled_at=later),
        session_scope(engine) as s,
        pytest.raises(PostActionRefused, match="Someone else changed this post"),
    ):
        restore_post(session=s, post_id=x, actor=OTHER)
    post = load(engine, x)
    assert post.status == PostStatus.SCHEDULED and post.scheduled_at == later
    assert [e.action for e in audit_actions(engine, x)] == ["post.cancel"]


# --- needs_review: retry only once checked; mark as published ------------------------------------


def _needs_review(engine: Engine, article_json: dict[str, Any], tag: str = "a") -> dict[str, Any]:
    posts = seed(engine, article_json, tag=tag)
    for post_id in posts.values():
        post = load(engine, post_id)
        add_attempt(engine, post, status=AttemptStatus.FAILED, error_class="retryable")
        add_attempt(engine, post, status=AttemptStatus.UNKNOWN, message="connection dropped")
        set_post(engine, post_id, status=PostStatus.NEEDS_REVIEW, last_error="Could not prove")
    return posts


def test_retry_of_a_needs_review_post_needs_the_person_to_say_they_checked(
    engine: Engine, channels: dict[str, uuid.UUID], article_json: dict[str, Any]
) -> None:
    x = _needs_review(engine, article_json)["x"]
    with session_scope(engine) as s, pytest.raises(PostActionRefused, match="may already be live"):
        retry_post(session=s, post_id=x, actor=EDITOR)
    assert load(engine, x).status == PostStatus.NEEDS_REVIEW
    with session_scope(engine) as s:
        retry_post(session=s, post_id=x, actor=EDITOR, checked_not_on_platform=True)
    assert load(engine, x).status == PostStatus.SCHEDULED
    assert audit_actions(engine, x)[-1].detail == "checked by a person: not on the platform"


def test_mark_published_records_the_url_the_attempt_and_who(
    engine: Engine, settings: Settings, channels: dict[str, uuid.UUID], article_json: dict[str, Any]
) -> None:
    x = _needs_review(engine, article_json)["x"]
    url = "https://twitter.com/newsroom/status/1850000000000000042"
    with session_scope(engine) as s:
        mark_post_published(session=s, post_id=x, url=url, actor=OTHER, settings=settings)
    post = load(engine, x)
    assert post.status == PostStatus.PUBLISHED and post.external_url == url
    assert post.external_id == "1850000000000000042" and post.published_at is not None
    assert post.last_error is None
    with Session(engine) as s:
        attempts = sorted(
            s.exec(select(DeliveryAttempt).where(col(DeliveryAttempt.post_id) == x)),
            key=lambda a: a.number,
        )
    assert [a.status for a in attempts] == [AttemptStatus.FAILED, AttemptStatus.SUCCEEDED]
    assert attempts[1].message == f"published (confirmed by {OTHER}, who found it on the platform)"
    event = audit_actions(engine, x)[-1]
    assert event.action == "post.mark_published" and event.actor == OTHER
    assert event.before["status"] == "needs_review" and event.after["external_url"] == url


@pytest.mark.parametrize(
    ("platform", "url", "reason"),
    [
        ("x", "http://x.com/a/status/1", "must start with https:// (this one starts with http://)"),
        ("x", "https://example.com/a/status/1", "example.com is not X"),
        ("x", "https://x.com.evil.example/a/status/1", "is not X"),
        ("x", "https://x.com/newsroom", "ends in /status/ and the post's number"),
        ("x", "https://x.com/", "that is X's home page, not a post"),
        ("instagram", "https://www.instagram.com/newsroom/", "has /p/ or /reel/"),
        ("instagram", "https://x.com/a/status/1", "x.com is not Instagram"),
        ("facebook", "https://user:pw@www.facebook.com/1_2", "must not contain a user name"),
        ("facebook", "https://www.facebook.com:8443/1_2", "must not name a port"),
        ("facebook", "www.facebook.com/1_2", "must be a full address starting with https://"),
        ("facebook", "https://www.facebook.com/a b", "must not contain spaces"),
        ("facebook", "", "enter the address of the post on Facebook"),
    ],
)
def test_mark_published_refuses_an_address_off_the_platform_with_the_reason(
    engine: Engine,
    settings: Settings,
    channels: dict[str, uuid.UUID],
    article_json: dict[str, Any],
    platform: str,
    url: str,
    reason: str,
) -> None:
    post_id = _needs_review(engine, article_json)[platform]
    with session_scope(engine) as s, pytest.raises(PostUrlRefused) as refused:
        mark_post_published(session=s, post_id=post_id, url=url, actor=OTHER, settings=settings)
    assert reason in str(refused.value)
    assert refused.value.errors == [f"url: {refused.value.sentence}"]
    assert load(engine, post_id).status == PostStatus.NEEDS_REVIEW


def test_mark_published_accepts_each_platforms_hosts_and_the_sandbox_outside_production(
    engine: Engine, settings: Settings, channels: dict[str, uuid.UUID], article_json: dict[str, Any]
) -> None:
    posts = _needs_review(engine, article_json)
    urls = {
        "x": "https://x.com/i/web/status/1850000000000000001",
        "instagram": "https://www.instagram.com/p/C1a2B3c4D5e/",
        "facebook": f"{settings.sandbox_url}/facebook/posts/1_2",
    }
    for platform, url in urls.items():
        with session_scope(engine) as s:
            mark_post_published(
                session=s, post_id=posts[platform], url=url, actor=OTHER, settings=settings
            )
        assert load(engine, posts[platform]).external_url == url
    production = Settings(
        environment="production",
        data_dir=settings.data_dir,
        secret_key="a-real-secret-of-enough-length",
        database_url="sqlite://",
        broker_url="redis://127.0.0.1:6379/0",
    )
    fb = _needs_review(engine, article_json, tag="prod")["facebook"]
    with session_scope(engine) as s, pytest.raises(PostUrlRefused, match="must start with https"):
        mark_post_published(
            session=s, post_id=fb, url=urls["facebook"], actor=OTHER, settings=production
        )


def test_mark_published_is_refused_unless_the_post_needs_review(
    engine: Engine, settings: Settings, channels: dict[str, uuid.UUID], article_json: dict[str, Any]
) -> None:
    fb = seed(engine, article_json)["facebook"]
    with session_scope(engine) as s, pytest.raises(PostActionRefused, match="already scheduled"):
        mark_post_published(
            session=s,
            post_id=fb,
            url="https://www.facebook.com/1_2",
            actor=OTHER,
            settings=settings,
        )


def test_mark_published_compare_and_set_refuses_a_post_a_worker_settled_meanwhile(
    engine: Engine, settings: Settings, channels: dict[str, uuid.UUID], article_json: dict[str, Any]
) -> None:
    _pg_only(engine)
    x = _needs_review(engine, article_json)["x"]
    worker_url = "https://x.com/i/web/status/9"
    # A late success from the worker lands between the editor's read and write.
    with (
        change_before_the_write(engine, x, status=PostStatus.PUBLISHED, external_url=worker_url),
        session_scope(engine) as s,
        pytest.raises(PostActionRefused, match="Someone else changed this post"),
    ):
        mark_post_published(
            session=s,
            post_id=x,
            url="https://x.com/newsroom/status/1",
            actor=OTHER,
            settings=settings,
        )
    assert load(engine, x).external_url == worker_url  # the worker's answer stands
    with Session(engine) as s:
        statuses = {
            a.status
            for a in s.exec(select(DeliveryAttempt).where(col(DeliveryAttempt.post_id) == x))
        }
    assert AttemptStatus.SUCCEEDED not in statuses  # nothing of the editor's write remains
    assert audit_actions(engine, x) == []


def test_mark_published_refuses_a_post_settled_before_the_editor_sent_the_form(
    engine: Engine, settings: Settings, channels: dict[str, uuid.UUID], article_json: dict[str, Any]
) -> None:
    x = _needs_review(engine, article_json)["x"]
    set_post(engine, x, status=PostStatus.PUBLISHED, external_url="https://x.com/i/web/status/9")
    with session_scope(engine) as s, pytest.raises(PostActionRefused, match="already published"):
        mark_post_published(
            session=s,
            post_id=x,
            url="https://x.com/newsroom/status/1",
            actor=OTHER,
            settings=settings,
        )
    assert load(engine, x).external_url == "https://x.com/i/web/status/9"
