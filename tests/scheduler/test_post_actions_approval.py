"""The editor's post services against real SQLite and PostgreSQL databases: approving posts
and the channel and source approval rules."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from config import Settings
from scheduler.channels import set_channel_status
from scheduler.db.engine import session_scope
from scheduler.editorial.actions import (
    PostActionRefused,
    approve_post,
    cancel_post,
    get_post,
    set_approval_required,
)
from scheduler.editorial.approvals import set_source_approval
from scheduler.editorial.rendering import format_post
from scheduler.intake.articles import ingest_article
from scheduler.intake.schemas import InvalidInput, parse_article
from scheduler.models import (
    AuditEvent,
    Channel,
    ChannelStatus,
    Post,
    PostStatus,
)
from tests.scheduler.post_actions_support import (
    EDITOR,
    audit_actions,
    load,
    seed,
)

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


def test_a_source_rule_names_at_most_84_characters_and_says_so(engine: Engine) -> None:
    with session_scope(engine) as s, pytest.raises(InvalidInput, match="1 to 84 characters"):
        set_source_approval(session=s, source="s" * 85, required=True, actor=EDITOR)
