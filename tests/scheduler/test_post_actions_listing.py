"""The editor's post services against real SQLite and PostgreSQL databases: listing posts
(keyset pages, filters) and a post's detail."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from scheduler.delivery.dispatch import claim_due_posts
from scheduler.editorial.actions import (
    get_post,
    list_posts,
)
from scheduler.intake.schemas import InvalidInput
from scheduler.models import (
    PostStatus,
    utcnow,
)
from tests.scheduler.post_actions_support import (
    seed,
)
from tests.utils.factories import set_post

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
