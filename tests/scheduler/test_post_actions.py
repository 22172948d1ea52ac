"""The editor's post services against real SQLite and PostgreSQL databases: editing texts."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from config import Settings
from scheduler.db.engine import session_scope
from scheduler.editorial.actions import (
    PostActionRefused,
    PostNotFound,
    approve_post,
    edit_post_text,
    get_post,
)
from scheduler.intake.schemas import InvalidInput
from scheduler.models import (
    PostStatus,
    utcnow,
)
from tests.scheduler.post_actions_support import (
    EDITOR,
    LONG_X_TEXT,
    load,
    require_approval,
    seed,
)
from tests.utils.factories import set_post

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
