"""Bulk approve, schedule and cancel (the service behind the queue's form and the API), on SQLite
and PostgreSQL: each post changes on its own compare-and-set, and the report says which did not
and why; invalid requests change nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from config import Settings
from scheduler.db.engine import make_engine, session_scope
from scheduler.editorial.bulk import MAX_BULK_POSTS, BulkResult, bulk_post_action
from scheduler.intake.schemas import InvalidInput
from scheduler.models import AuditEvent, PostStatus, utcnow
from tests.scheduler.post_actions_support import EDITOR, load, require_approval, seed
from tests.utils.factories import sandbox_channel_ids, set_post


def _bulk(engine: Engine, action: str, ids: list[uuid.UUID], **kw: Any) -> BulkResult:
    with session_scope(engine) as s:
        return bulk_post_action(session=s, action=action, post_ids=ids, actor=EDITOR, **kw)


def _status(engine: Engine, post_id: uuid.UUID) -> str:
    return str(load(engine, post_id).status)


def test_bulk_approve_approves_the_waiting_posts_and_reports_the_published_one(
    engine: Engine, channels: dict[str, uuid.UUID], article_json: dict[str, Any]
) -> None:
    posts = seed(engine, article_json, "bulk", status=PostStatus.PENDING_APPROVAL)
    set_post(engine, posts["facebook"], status=PostStatus.PUBLISHED)
    ids = [posts["x"], posts["instagram"], posts["facebook"], posts["x"]]  # x twice: once
    result = _bulk(engine, "approve", ids)

    assert result.summary == "2 approved; 1 skipped: already published"
    assert [(o.post_id, o.applied) for o in result.outcomes] == [
        (posts["x"], True),
        (posts["instagram"], True),
        (posts["facebook"], False),
    ]
    assert _status(engine, posts["x"]) == "scheduled"
    assert load(engine, posts["x"]).approved_by == EDITOR
    assert _status(engine, posts["facebook"]) == "published"
    with Session(engine) as s:
        actions = s.exec(
            select(AuditEvent.post_id).where(col(AuditEvent.action) == "post.approve")
        ).all()
    assert sorted(map(str, actions)) == sorted([str(posts["x"]), str(posts["instagram"])])


def test_bulk_cancel_skips_published_already_cancelled_and_unknown_posts(
    engine: Engine, channels: dict[str, uuid.UUID], article_json: dict[str, Any]
) -> None:
    posts = seed(engine, article_json, "cancel")
    set_post(engine, posts["instagram"], status=PostStatus.PUBLISHED)
    set_post(engine, posts["facebook"], status=PostStatus.CANCELLED)
    unknown = uuid.uuid4()
    result = _bulk(engine, "cancel", [posts["x"], posts["instagram"], posts["facebook"], unknown])
    assert result.summary == (
        "1 cancelled; 1 skipped: already published; 1 skipped: already cancelled; "
        "1 skipped: no such post"
    )
    assert _status(engine, posts["x"]) == "cancelled"
    assert _status(engine, posts["instagram"]) == "published"
    assert result.outcomes[3].status is None


def test_bulk_schedule_moves_each_post_to_the_time_and_keeps_approval_waiting(
    engine: Engine, channels: dict[str, uuid.UUID], article_json: dict[str, Any]
) -> None:
    require_approval(engine, channels["x"])
    posts = seed(engine, article_json, "sched")
    set_post(engine, posts["x"], status=PostStatus.PENDING_APPROVAL)
    set_post(engine, posts["facebook"], status=PostStatus.PUBLISHING)
    at = (utcnow() + timedelta(hours=5)).replace(microsecond=0)
    result = _bulk(engine, "schedule", list(posts.values()), at=at)
    assert result.applied == 2
    assert result.summary.endswith("1 skipped: being sent right now")
    assert load(engine, posts["instagram"]).scheduled_at == at
    assert load(engine, posts["x"]).scheduled_at == at
    assert _status(engine, posts["x"]) == "pending_approval"


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    """PostgreSQL only: SQLite allows one writer, so a second connection cannot race the first."""
    eng = make_engine(pg_url)
    yield eng
    eng.dispose()


def test_a_post_changed_by_someone_else_is_reported_and_the_rest_still_applies(
    pg_engine: Engine,
    settings: Settings,
    article_json: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The compare-and-set of one post fails (a worker took it in between): that post is left
    as the worker left it, reported, and the others are still approved."""
    import scheduler.editorial.actions as actions
    from scheduler.models import Post

    engine = pg_engine
    sandbox_channel_ids(engine, settings)
    posts = seed(engine, article_json, "race", status=PostStatus.PENDING_APPROVAL)
    real_load = actions._load

    def load_then_race(session: Session, post_id: uuid.UUID) -> Any:
        loaded = real_load(session, post_id)
        if post_id == posts["instagram"]:  # a worker changes it after the editor's read
            with session_scope(engine) as other:
                post = other.get(Post, post_id)
                assert post is not None
                post.version += 1
                other.add(post)
        return loaded

    monkeypatch.setattr(actions, "_load", load_then_race)
    result = _bulk(engine, "approve", list(posts.values()))
    assert result.applied == 2
    assert [o.reason for o in result.skipped] == [
        "someone else changed this post a moment ago; reload it and try again"
    ]
    assert _status(engine, posts["instagram"]) == "pending_approval"
    assert _status(engine, posts["x"]) == "scheduled"


@pytest.mark.parametrize(
    ("action", "count", "at_hours", "words"),
    [
        ("publish", 1, None, "action: must be one of approve, schedule, cancel, not 'publish'"),
        ("approve", 0, None, "post_ids: select at least one post"),
        ("cancel", MAX_BULK_POSTS + 1, None, "post_ids: at most 200 posts at a time (got 201)"),
        ("schedule", 1, None, "at: the schedule action needs a date and time"),
        ("approve", 1, 2, "at: only the schedule action takes a time"),
        ("schedule", 1, -3, "at: That time has passed"),
    ],
)
def test_an_invalid_request_is_refused_whole_and_changes_nothing(
    engine: Engine,
    channels: dict[str, uuid.UUID],
    article_json: dict[str, Any],
    action: str,
    count: int,
    at_hours: float | None,
    words: str,
) -> None:
    posts = seed(engine, article_json, "invalid", status=PostStatus.PENDING_APPROVAL)
    ids = ([posts["x"]] * count)[:1] + [uuid.uuid4() for _ in range(count - 1)]
    at = utcnow() + timedelta(hours=at_hours) if at_hours is not None else None
    with pytest.raises(InvalidInput) as refused:
        _bulk(engine, action, ids if count else [], at=at, zone="Asia/Karachi")
    assert words in str(refused.value) or words in "; ".join(refused.value.errors)
    assert _status(engine, posts["x"]) == "pending_approval"
