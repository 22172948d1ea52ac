"""The queue grouped by article (the web page's query), on SQLite and PostgreSQL: one entry per
article with its posts, paged by article without repeating or skipping one, and the text,
section, source and day-window filters."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from scheduler.db.cursors import InvalidCursor
from scheduler.models import Post, PostStatus, utcnow
from scheduler.web.queue_groups import QueueFilters, QueuePage, grouped_queue_page
from tests.utils.factories import article_variant, by_platform, seed_article, set_post


def _seed(engine: Engine, tag: str, hours: float, **changes: Any) -> dict[str, Post]:
    return by_platform(seed_article(engine, article_variant(tag, **changes), tag, hours=hours))


def _page(engine: Engine, **kw: Any) -> QueuePage:
    kw.setdefault("start", utcnow() - timedelta(hours=1))
    with Session(engine) as s:
        return grouped_queue_page(session=s, **kw)


def _titles(page: QueuePage) -> list[str]:
    return [e.title for e in page.entries]


def test_one_entry_per_article_paged_by_article_never_repeating_one(
    engine: Engine, channels: dict[str, uuid.UUID]
) -> None:
    a = _seed(engine, "a", 1, title="Alpha")
    b = _seed(engine, "b", 2, title="Bravo")
    _seed(engine, "c", 3, title="Charlie")
    # Bravo's Facebook post goes out after Charlie's posts: Bravo stays one entry, on page one.
    set_post(engine, b["facebook"].id, scheduled_at=utcnow() + timedelta(hours=4))

    first = _page(engine, articles=2)
    assert _titles(first) == ["Alpha", "Bravo"]
    alpha, bravo = first.entries
    assert {str(r.platform) for r in alpha.posts} == {"x", "instagram", "facebook"}
    assert [str(r.platform) for r in bravo.posts][-1] == "facebook"  # soonest first
    assert alpha.first_at == min(p.scheduled_at for p in a.values() if p.scheduled_at)
    assert alpha.source == "southasiandesk" and alpha.section == "South Asia"
    assert first.next_cursor is not None

    second = _page(engine, articles=2, cursor=first.next_cursor)
    assert _titles(second) == ["Charlie"]
    assert len(second.entries[0].posts) == 3
    assert second.next_cursor is None


def test_post_filters_narrow_the_chips_and_a_foreign_cursor_is_refused(
    engine: Engine, channels: dict[str, uuid.UUID]
) -> None:
    a = _seed(engine, "a", 1, title="Alpha")
    set_post(engine, a["x"].id, status=PostStatus.PENDING_APPROVAL)
    page = _page(engine, filters=QueueFilters(status="pending_approval"))
    assert [[str(r.platform) for r in e.posts] for e in page.entries] == [["x"]]
    page = _page(engine, filters=QueueFilters(channel_id=channels["facebook"]))
    assert [[str(r.platform) for r in e.posts] for e in page.entries] == [["facebook"]]
    with pytest.raises(InvalidCursor):
        _page(engine, cursor="not-a-cursor")


def test_search_finds_a_word_of_a_title_or_of_a_post_text(
    engine: Engine, channels: dict[str, uuid.UUID]
) -> None:
    _seed(engine, "a", 1, title="Ceasefire talks resume in Istanbul")
    b = _seed(engine, "b", 2, title="Cricket: Pakistan win the series")
    _seed(engine, "c", 3, title="Rupee 100% up? Markets_today")
    assert _titles(_page(engine, filters=QueueFilters(text="ceasefire"))) == [
        "Ceasefire talks resume in Istanbul"
    ]
    # LIKE's wildcards are matched literally.
    assert _titles(_page(engine, filters=QueueFilters(text="100%"))) == [
        "Rupee 100% up? Markets_today"
    ]
    assert _titles(_page(engine, filters=QueueFilters(text="e_1"))) == []  # "Rupee 1"
    # A word only in one post's edited text finds that article with that post only.
    set_post(engine, b["instagram"].id, text_override="Green shirts celebrate #Lahore")
    page = _page(engine, filters=QueueFilters(text="lahore"))
    assert _titles(page) == ["Cricket: Pakistan win the series"]
    assert [str(r.platform) for r in page.entries[0].posts] == ["instagram"]


def test_section_source_and_day_window_filters(
    engine: Engine, channels: dict[str, uuid.UUID]
) -> None:
    _seed(engine, "a", 1, title="Alpha", section="Sport", source="wire")
    _seed(engine, "b", 2, title="Bravo", section="Business")
    _seed(engine, "c", 50, title="Charlie", section="Sport")
    assert _titles(_page(engine, filters=QueueFilters(section="sport"))) == ["Alpha", "Charlie"]
    assert _titles(_page(engine, filters=QueueFilters(source="WIRE"))) == ["Alpha"]
    soon = _page(engine, end=utcnow() + timedelta(hours=24))
    assert _titles(soon) == ["Alpha", "Bravo"]
    later = _page(engine, start=utcnow() + timedelta(hours=24))
    assert _titles(later) == ["Charlie"]


def test_a_page_reads_a_bounded_scan_however_many_posts_are_queued(
    engine: Engine, channels: dict[str, uuid.UUID], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a scan smaller than the queue, paging still visits every article exactly once."""
    import scheduler.web.queue_groups as groups

    monkeypatch.setattr(groups, "SCAN_LIMIT", 4)
    for i, tag in enumerate("abcdef"):
        _seed(engine, tag, 1 + i, title=f"Article {tag}")
    seen: list[str] = []
    cursor = None
    for _ in range(12):
        page = _page(engine, articles=2, cursor=cursor)
        seen += _titles(page)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [f"Article {t}" for t in "abcdef"]
