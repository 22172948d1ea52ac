"""The editor's view of articles: keyset pages, one article with its posts, adding one by hand.

Pages are newest first on ``(created_at, id)`` with an opaque cursor (never OFFSET), so articles
arriving from the CMS while an editor pages never shift or repeat a page.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Session, col, select

from scheduler.db.cursors import InvalidCursor, decode_cursor, encode_cursor
from scheduler.editorial.queries import PostSummary, post_row
from scheduler.errors import NotFound
from scheduler.intake.articles import IntakeResult, ingest_article
from scheduler.intake.schemas import InvalidInput, parse_article
from scheduler.models import Article, Channel, Post


class ArticleNotFound(NotFound):
    """No article with that id."""


class ArticleSummary(BaseModel):
    """An article in a list."""

    id: str
    source: str
    external_id: str
    url: str
    title: str
    section: str | None
    author: str | None
    language: str
    priority: str
    state: str
    revision: int
    published_at: str | None
    created_at: str
    updated_at: str


class ArticleDetail(ArticleSummary):
    """One article with its posts (one per channel)."""

    summary: str
    image_url: str | None
    tags: list[str]
    posts: list[PostSummary]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _summary_fields(article: Article) -> dict[str, Any]:
    return {
        "id": str(article.id),
        "source": article.source,
        "external_id": article.external_id,
        "url": article.url,
        "title": article.title,
        "section": article.section,
        "author": article.author,
        "language": article.language,
        "priority": str(article.priority),
        "state": str(article.state),
        "revision": article.revision,
        "published_at": _iso(article.published_at),
        "created_at": article.created_at.isoformat(),
        "updated_at": article.updated_at.isoformat(),
    }


def article_row(article: Article) -> ArticleSummary:
    """The public summary of an article."""
    return ArticleSummary(**_summary_fields(article))


def list_articles(
    *,
    session: Session,
    source: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[ArticleSummary], str | None]:
    """One page of articles, newest first, and the next page's cursor (None at the end)."""
    stmt = select(Article).order_by(col(Article.created_at).desc(), col(Article.id).desc())
    if source is not None:
        stmt = stmt.where(col(Article.source) == source)
    if cursor:
        try:
            at, before_id = decode_cursor(cursor)
        except InvalidCursor as exc:
            raise InvalidInput([f"cursor: {exc}"]) from None
        stmt = stmt.where(
            sa.or_(
                col(Article.created_at) < at,
                sa.and_(col(Article.created_at) == at, col(Article.id) < before_id),
            )
        )
    rows = session.exec(stmt.limit(limit + 1)).all()
    page = list(rows[:limit])
    next_cursor = encode_cursor(page[-1].created_at, page[-1].id) if len(rows) > limit else None
    return [article_row(a) for a in page], next_cursor


def _posts_of(session: Session, article: Article) -> list[PostSummary]:
    rows = session.exec(
        select(Post, Channel)
        .join(Channel, col(Channel.id) == col(Post.channel_id))
        .where(col(Post.article_id) == article.id)
        .order_by(col(Channel.platform), col(Channel.name))
    ).all()
    return [post_row(p, article, c) for p, c in rows]


def get_article_detail(*, session: Session, article_id: uuid.UUID) -> ArticleDetail:
    """One article with its summary, tags, image and posts; raises ArticleNotFound."""
    article = session.get(Article, article_id)
    if article is None:
        raise ArticleNotFound(f"There is no article with id {article_id}.")
    return ArticleDetail(
        **_summary_fields(article),
        summary=article.summary,
        image_url=article.image_url,
        tags=list(article.tags or []),
        posts=_posts_of(session, article),
    )


def submit_article(
    *, session: Session, data: Any, actor: str
) -> tuple[IntakeResult, ArticleDetail]:
    """Validate article JSON and take it in like the CMS would; returns the intake result and
    the article with its posts.  Raises InvalidInput (one error per field, NUL characters
    included: the article schema refuses them) before writing."""
    result = ingest_article(session=session, data=parse_article(data), actor=actor)
    return result, get_article_detail(session=session, article_id=result.article.id)
