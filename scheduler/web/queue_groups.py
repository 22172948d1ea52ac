"""The queue grouped by article: one entry per article with its posts as chips, paged by article.

Each page costs three bounded queries, whatever the size of the post table:

1. a keyset scan of at most :data:`SCAN_LIMIT` posts in ``(scheduled_at, id)`` order from the
   cursor (the ``ix_post_scheduled_at`` index), which names the next articles in the order
   their first post goes out;
2. which of those articles already had a post before the cursor (shown on an earlier page):
   an ``article_id IN (…)`` lookup on at most :data:`SCAN_LIMIT` ids;
3. the posts of the page's articles (``ix_post_article_id``: a few posts each).

The cursor is the ``(scheduled_at, id)`` of the last article's first post, so a page never
repeats an article and never skips one.

Text, section and source filters join the article to the scan: a title ``ILIKE '%word%'`` uses
no index, so its cost is the number of posts scheduled in the date window read before a page
fills — the caller bounds that window (see :data:`scheduler.web.queue_filters.MAX_WINDOW`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from scheduler.db.cursors import decode_cursor, encode_cursor
from scheduler.models import Article, Channel, FeedSource, Post
from scheduler.web import clock
from scheduler.web.queries import _QUEUE_COLUMNS, QueueRow, _queue_select

#: Articles per page (about 60 posts on the three sandbox channels).
ARTICLES_PER_PAGE = 20
#: Posts read by one page's scan: enough for a page of articles on six channels.
SCAN_LIMIT = 300
PLATFORM_ORDER = {"x": 0, "instagram": 1, "facebook": 2}


@dataclass(frozen=True)
class QueueFilters:
    """What the queue is narrowed to; post filters (channel, status) and article filters."""

    channel_id: uuid.UUID | None = None
    status: str | None = None
    text: str | None = None
    section: str | None = None
    source: str | None = None

    @property
    def on_article(self) -> bool:
        """Whether the scan must join the article (its cost then grows with the window)."""
        return bool(self.text or self.section or self.source)


@dataclass
class ArticleEntry:
    """An article in the queue and its posts (the chips), soonest first."""

    article_id: uuid.UUID
    title: str
    section: str | None
    source: str
    priority: str
    posts: list[QueueRow] = field(default_factory=list)

    @property
    def breaking(self) -> bool:
        return str(self.priority) == "breaking"

    @property
    def first_at(self) -> datetime:
        at = self.posts[0].scheduled_at
        assert at is not None  # the queries select scheduled posts only
        return at

    def day_note(self, row: QueueRow, tz: str) -> str:
        """``Tue 9 Dec`` when the post goes out on another newsroom day than the entry's."""
        assert row.scheduled_at is not None
        day = clock.local(row.scheduled_at, tz).date()
        if day == clock.local(self.first_at, tz).date():
            return ""
        return f"{day:%a} {day.day} {day:%b}"


@dataclass(frozen=True)
class QueuePage:
    entries: list[ArticleEntry]
    next_cursor: str | None


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _narrow(stmt: Any, f: QueueFilters, start: datetime, end: datetime | None) -> Any:
    """The window and the filters, on a select over ``post`` joined to ``article``."""
    at = col(Post.scheduled_at)
    stmt = stmt.where(at.is_not(None), at >= start)
    if end is not None:
        stmt = stmt.where(at < end)
    if f.channel_id is not None:
        stmt = stmt.where(col(Post.channel_id) == f.channel_id)
    if f.status:
        stmt = stmt.where(col(Post.status) == f.status)
    if f.text:
        pattern = _like(f.text)
        own_text = sa.func.coalesce(col(Post.text_override), col(Post.text))
        stmt = stmt.where(
            sa.or_(
                col(Article.title).ilike(pattern, escape="\\"),
                own_text.ilike(pattern, escape="\\"),
            )
        )
    if f.section:
        stmt = stmt.where(sa.func.lower(col(Article.section)) == f.section.lower())
    if f.source:
        stmt = stmt.where(sa.func.lower(col(Article.source)) == f.source.lower())
    return stmt


def _after(at: datetime, row_id: uuid.UUID) -> Any:
    return sa.or_(
        col(Post.scheduled_at) > at,
        sa.and_(col(Post.scheduled_at) == at, col(Post.id) > row_id),
    )


def _scan(
    session: Session,
    f: QueueFilters,
    start: datetime,
    end: datetime | None,
    after: tuple[datetime, uuid.UUID] | None,
) -> list[Any]:
    stmt = sa.select(col(Post.scheduled_at), col(Post.id), col(Post.article_id))
    if f.on_article:
        stmt = stmt.join(Article, col(Article.id) == col(Post.article_id))
    stmt = _narrow(stmt, f, start, end)
    if after is not None:
        stmt = stmt.where(_after(*after))
    stmt = stmt.order_by(col(Post.scheduled_at), col(Post.id)).limit(SCAN_LIMIT)
    return list(session.execute(stmt).all())


def _shown_before(
    session: Session,
    f: QueueFilters,
    start: datetime,
    article_ids: list[uuid.UUID],
    after: tuple[datetime, uuid.UUID],
) -> set[uuid.UUID]:
    """Articles with a matching post at or before the cursor: an earlier page showed them."""
    at, row_id = after
    stmt = sa.select(col(Post.article_id)).distinct()
    if f.on_article:
        stmt = stmt.join(Article, col(Article.id) == col(Post.article_id))
    stmt = _narrow(stmt, f, start, None).where(
        col(Post.article_id).in_(article_ids), sa.not_(_after(at, row_id))
    )
    return {r[0] for r in session.execute(stmt).all()}


def _entries(
    session: Session,
    f: QueueFilters,
    start: datetime,
    end: datetime | None,
    article_ids: list[uuid.UUID],
) -> list[ArticleEntry]:
    base = _queue_select(None, None).add_columns(col(Article.section), col(Article.source))
    stmt = _narrow(base, f, start, end).where(col(Post.article_id).in_(article_ids))
    # Soonest first; posts going out together read X, Instagram, Facebook on every entry.
    same_time_order = sa.case(PLATFORM_ORDER, value=col(Post.platform), else_=len(PLATFORM_ORDER))
    stmt = stmt.order_by(col(Post.scheduled_at), same_time_order, col(Channel.name), col(Post.id))
    entries: dict[uuid.UUID, ArticleEntry] = {}
    n = len(_QUEUE_COLUMNS)
    for r in session.execute(stmt).all():
        row = QueueRow(*r[:n])
        entry = entries.get(row.article_id)
        if entry is None:
            entry = ArticleEntry(row.article_id, row.title, r[n], r[n + 1], str(row.priority))
            entries[row.article_id] = entry
        entry.posts.append(row)
    return [entries[a] for a in article_ids if a in entries]


def grouped_queue_page(
    *,
    session: Session,
    start: datetime,
    end: datetime | None = None,
    filters: QueueFilters = QueueFilters(),
    articles: int = ARTICLES_PER_PAGE,
    cursor: str | None = None,
) -> QueuePage:
    """Articles with posts scheduled in ``[start, end)`` matching ``filters``, in the order their
    first such post goes out; each with those posts.  One keyset page of ``articles``.

    Raises ``scheduler.db.cursors.InvalidCursor`` for a cursor this service did not issue.
    """
    after = decode_cursor(cursor) if cursor else None
    scanned = _scan(session, filters, start, end, after)
    first: dict[uuid.UUID, tuple[datetime, uuid.UUID]] = {}
    for at, post_id, article_id in scanned:
        first.setdefault(article_id, (at, post_id))
    candidates = list(first)
    if after is not None and candidates:
        seen = _shown_before(session, filters, start, candidates, after)
        candidates = [a for a in candidates if a not in seen]
    page_ids = candidates[:articles]
    next_cursor = None
    if len(candidates) > articles:
        next_cursor = encode_cursor(*first[page_ids[-1]])
    elif len(scanned) == SCAN_LIMIT:  # more posts beyond the scan: go on after its last one
        next_cursor = encode_cursor(scanned[-1][0], scanned[-1][1])
    entries = _entries(session, filters, start, end, page_ids) if page_ids else []
    return QueuePage(entries, next_cursor)


def post_labels(*, session: Session, post_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """``Title (channel)`` of each post, for a bulk action's report (one query)."""
    if not post_ids:
        return {}
    rows = session.execute(
        sa.select(col(Post.id), col(Article.title), col(Channel.name))
        .join(Article, col(Article.id) == col(Post.article_id))
        .join(Channel, col(Channel.id) == col(Post.channel_id))
        .where(col(Post.id).in_(post_ids))
    ).all()
    return {r[0]: f"{r[1]} ({r[2]})" for r in rows}


def known_sources(*, session: Session) -> list[str]:
    """The sources feeds deliver under (a small table), offered as the source filter's list."""
    rows = session.execute(sa.select(col(FeedSource.source)).distinct().limit(100)).all()
    return sorted({str(r[0]) for r in rows})
