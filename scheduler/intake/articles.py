"""Article intake: store the article and create one post per channel, idempotently.

Intake answers fast: it never renders or downloads anything.  Posts are created in
``rendering`` state; the post table is the outbox from which the scheduler hands one format task
per post to the workers (see :mod:`scheduler.delivery.dispatch`).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from adapters.base import ArticleContent
from scheduler.channels import ChannelRow, channel_rows, channel_settings
from scheduler.intake.schemas import MAX_REVISION, ArticleIn, InvalidInput
from scheduler.models import (
    RERENDERABLE_POST_STATUSES,
    Article,
    ArticleState,
    Channel,
    Post,
    PostStatus,
    Priority,
    utcnow,
)
from scheduler.ops.audit import add_audit_row, record_audit


@dataclass
class IntakeResult:
    """What intake did with one article."""

    article: Article
    created: bool
    changed: bool
    posts_created: list[Post] = field(default_factory=list)
    posts_rerendered: list[Post] = field(default_factory=list)
    duplicate: bool = False
    #: With ``post_objects=False`` the new article's posts as plain rows (``posts_created`` is
    #: then empty): what a caller that only reports them needs, without building ORM objects.
    created_rows: list[PostRef] = field(default_factory=list)


class PostRef(NamedTuple):
    """A new post's identity and state, as the INSERT returned it."""

    id: uuid.UUID
    channel_id: uuid.UUID
    platform: str
    status: str


def content_hash(data: ArticleIn) -> str:
    """A digest of everything a post may be rendered from."""
    # The revision number is bookkeeping, not content: the digest changes only when the text does.
    payload = data.model_dump(mode="json", exclude={"revision"})
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode("utf-8")).hexdigest()


def article_content(article: Article) -> ArticleContent:
    """The adapter-facing view of a stored article."""
    return ArticleContent(
        source=article.source,
        external_id=article.external_id,
        url=article.url,
        title=article.title,
        summary=article.summary,
        body=article.body,
        image_url=article.image_url,
        tags=tuple(article.tags or ()),
        section=article.section,
        author=article.author,
        language=article.language,
        published_at=article.published_at,
        revision=article.revision,
    )


def initial_schedule(article: Article, channel: Channel | ChannelRow, *, now: datetime) -> datetime:
    """When a new post should go out: after publication plus the channel's delay."""
    delay = 0 if article.priority == Priority.BREAKING else channel_settings(channel).delay_minutes
    base = max(now, article.published_at or now)
    return base + timedelta(minutes=delay)


def _apply(article: Article, data: ArticleIn) -> None:
    article.url = data.url
    article.title = data.title
    article.summary = data.summary
    article.body = data.body
    article.image_url = data.image_url
    article.image_credit = data.image_credit
    article.tags = list(data.tags)
    article.section = data.section
    article.author = data.author
    article.language = data.language
    article.published_at = data.published_at
    article.priority = Priority(data.priority)


def ingest_article(
    *,
    session: Session,
    data: ArticleIn,
    actor: str = "cli",
    revision: int | None = None,
    now: datetime | None = None,
    post_objects: bool = True,
) -> IntakeResult:
    """Store or update an article and make sure it has one post per channel.

    ``revision=None`` (the CLI, when the JSON has no ``revision``) always raises the revision of a
    known article and re-renders its unpublished posts.  An explicit revision (webhooks, feeds)
    is idempotent: a revision at or below the stored one changes nothing.

    A concurrent intake of the same article is settled by the unique constraints: the article and
    post inserts are ``ON CONFLICT DO NOTHING``, so the loser of a race takes the update path
    (no savepoint, no aborted transaction).

    ``post_objects=False`` (the webhook): a new article's posts are inserted as plain rows and
    reported in ``created_rows`` instead of ``posts_created``.
    """
    now = now or utcnow()
    if revision is None:
        revision = data.revision  # the article JSON may carry the CMS's own revision
    try:
        return _ingest(
            session=session,
            data=data,
            actor=actor,
            revision=revision,
            now=now,
            post_objects=post_objects,
        )
    except _LostRace:
        # A concurrent intake created the same article first; take the update path.
        return _ingest(session=session, data=data, actor=actor, revision=revision, now=now)


class _LostRace(Exception):
    """The article insert found the row a concurrent intake had just committed."""


def _insert_for(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def _article_row(data: ArticleIn, *, revision: int, digest: str, now: datetime) -> dict[str, Any]:
    """Every column of a new article (the JSON and timestamp columns have no SQL default)."""
    return {
        "id": uuid.uuid4(),
        "source": data.source,
        "external_id": data.external_id,
        "url": data.url,
        "title": data.title,
        "summary": data.summary,
        "body": data.body,
        "image_url": data.image_url,
        "image_credit": data.image_credit,
        "tags": list(data.tags),
        "section": data.section,
        "author": data.author,
        "language": data.language,
        "published_at": data.published_at,
        "priority": Priority(data.priority).value,
        "state": ArticleState.PUBLISHED.value,
        "revision": revision,
        "content_hash": digest,
        "created_at": now,
        "updated_at": now,
    }


def _create(
    *,
    session: Session,
    data: ArticleIn,
    actor: str,
    revision: int | None,
    now: datetime,
    post_objects: bool = True,
) -> IntakeResult:
    """The new-article path: one INSERT … RETURNING each for the article and its posts."""
    insert = _insert_for(session)
    row = _article_row(data, revision=revision or 1, digest=content_hash(data), now=utcnow())
    # Values as parameters, not in the statement: the compiled statement is cached.
    article = session.scalars(
        insert(Article)
        .on_conflict_do_nothing(index_elements=["source", "external_id"])
        .returning(Article),
        [row],
    ).first()
    if article is None:
        raise _LostRace
    add_audit_row(
        session=session,
        actor=actor,
        action="article.create",
        article_id=article.id,
        after={"revision": article.revision, "title": article.title},
    )
    if not post_objects:
        refs = _insert_post_rows(session=session, article=article, now=now)
        return IntakeResult(article=article, created=True, changed=True, created_rows=refs)
    posts = ensure_posts(session=session, article=article, now=now, new_article=True)
    return IntakeResult(article=article, created=True, changed=True, posts_created=posts)


def _ingest(
    *,
    session: Session,
    data: ArticleIn,
    actor: str,
    revision: int | None,
    now: datetime,
    post_objects: bool = True,
) -> IntakeResult:
    article = session.exec(
        select(Article).where(
            Article.source == data.source, Article.external_id == data.external_id
        )
    ).first()
    if article is None:
        return _create(
            session=session,
            data=data,
            actor=actor,
            revision=revision,
            now=now,
            post_objects=post_objects,
        )

    if revision is not None and revision <= article.revision:
        posts = ensure_posts(session=session, article=article, now=now)
        return IntakeResult(
            article=article, created=False, changed=False, posts_created=posts, duplicate=True
        )

    if revision is None and article.revision >= MAX_REVISION:
        # The database column is an SQL INTEGER: refuse rather than overflow on update.
        raise InvalidInput([f"revision: the article is at the highest revision ({MAX_REVISION})"])
    before = {"revision": article.revision, "title": article.title}
    article.revision = revision or article.revision + 1
    _apply(article, data)
    article.content_hash = content_hash(data)
    article.state = ArticleState.PUBLISHED
    article.updated_at = now
    session.add(article)
    rerendered = request_rerender(session=session, article=article, now=now)
    created = ensure_posts(session=session, article=article, now=now)
    record_audit(
        session=session,
        actor=actor,
        action="article.update",
        article_id=article.id,
        before=before,
        after={"revision": article.revision, "title": article.title},
        detail=f"{len(rerendered)} unpublished post(s) re-rendered",
    )
    return IntakeResult(
        article=article,
        created=False,
        changed=True,
        posts_created=created,
        posts_rerendered=rerendered,
    )


def _post_row(
    article: Article, channel: ChannelRow, *, now: datetime, created: datetime
) -> dict[str, Any]:
    """Every column of a new post (the JSON and timestamp columns have no SQL default)."""
    return {
        "id": uuid.uuid4(),
        "article_id": article.id,
        "channel_id": channel.id,
        "platform": str(channel.platform),
        "kind": "link",
        "status": PostStatus.RENDERING.value,
        "text": "",
        "text_override": None,
        "edited_by": None,
        "link": None,
        "media": [],
        "problems": [],
        "warnings": [],
        "weighted_length": None,
        "rendered_revision": 0,
        "render_requested_revision": article.revision,
        "scheduled_at": initial_schedule(article, channel, now=now),
        "approved_by": None,
        "approved_at": None,
        "version": 1,
        "external_id": None,
        "external_url": None,
        "platform_state": {},
        "fingerprint": None,
        "next_attempt_at": None,
        "lease_until": None,
        "last_error": None,
        "attempt_count": 0,
        "published_at": None,
        "created_at": created,
        "updated_at": created,
    }


def _insert_post_rows(*, session: Session, article: Article, now: datetime) -> list[PostRef]:
    """A new article's posts, one per channel, as one plain multi-row INSERT … RETURNING."""
    created_at = utcnow()
    rows = [
        _post_row(article, channel, now=now, created=created_at)
        for channel in channel_rows(session=session)
    ]
    if not rows:
        return []
    table = Post.__table__  # type: ignore[attr-defined]
    stmt = (
        _insert_for(session)(table)
        .on_conflict_do_nothing(index_elements=["article_id", "channel_id", "kind"])
        .returning(table.c.id, table.c.channel_id, table.c.platform, table.c.status)
    )
    return [PostRef(r.id, r.channel_id, r.platform, r.status) for r in session.execute(stmt, rows)]


def ensure_posts(
    *, session: Session, article: Article, now: datetime, new_article: bool = False
) -> list[Post]:
    """Create the missing post for each channel (never a second one).

    One ``INSERT … ON CONFLICT DO NOTHING … RETURNING`` for all of them: a post a concurrent
    intake created first is skipped, not an error.  ``new_article`` (the article was inserted
    in this transaction) skips looking for existing posts.
    """
    # Posts added through the ORM but not yet flushed must count as existing.
    session.flush()
    have: set[uuid.UUID] = set()
    if not new_article:
        have = set(session.exec(select(Post.channel_id).where(Post.article_id == article.id)).all())
    created_at = utcnow()
    rows = [
        _post_row(article, channel, now=now, created=created_at)
        for channel in channel_rows(session=session)
        if channel.id not in have
    ]
    if not rows:
        return []
    insert = _insert_for(session)
    # ORM bulk INSERT: the rows go as parameters of one cached statement, which SQLAlchemy
    # sends as a single multi-row INSERT … RETURNING (one round trip for every channel).
    stmt = (
        insert(Post)
        .on_conflict_do_nothing(index_elements=["article_id", "channel_id", "kind"])
        .returning(Post)
    )
    created = list(session.scalars(stmt, rows).all())
    order = {row["id"]: i for i, row in enumerate(rows)}
    created.sort(key=lambda post: order.get(post.id, 0))
    return created


def request_rerender(*, session: Session, article: Article, now: datetime) -> list[Post]:
    """Send the article's not-yet-published posts back to the format task.

    An editor's text override is kept (it wins over re-rendering); link and image are refreshed.
    """
    posts = session.exec(
        select(Post).where(
            Post.article_id == article.id,
            Post.status.in_(list(RERENDERABLE_POST_STATUSES)),  # type: ignore[attr-defined]
        )
    ).all()
    for post in posts:
        post.status = PostStatus.RENDERING
        post.render_requested_revision = article.revision
        post.lease_until = None
        post.updated_at = now
        session.add(post)
    session.flush()
    return list(posts)


def get_article(*, session: Session, article_id: uuid.UUID) -> Article | None:
    return session.get(Article, article_id)
