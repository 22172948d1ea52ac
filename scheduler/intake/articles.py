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
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from adapters.base import ArticleContent
from scheduler.channels import ChannelRow, channel_rows
from scheduler.editorial.lifecycle import RERENDERABLE
from scheduler.intake.followups import ensure_followups
from scheduler.intake.routing import NO_ROUTE_NOTE, cancel_unrouted, routed_channels
from scheduler.intake.rows import article_row, post_row
from scheduler.intake.schemas import MAX_REVISION, ArticleIn, InvalidInput
from scheduler.models import (
    Article,
    ArticleState,
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
    #: Posts cancelled because their channel's routing no longer takes the article.
    posts_cancelled: int = 0
    #: Set when no channel's routing takes the article (so it has no post to go out).
    note: str | None = None


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
        priority="breaking" if article.priority == Priority.BREAKING else "normal",
    )


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
    row = article_row(data, revision=revision or 1, digest=content_hash(data), now=utcnow())
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
        note = None if refs else NO_ROUTE_NOTE
        return IntakeResult(
            article=article, created=True, changed=True, created_rows=refs, note=note
        )
    posts = ensure_posts(session=session, article=article, now=now, new_article=True)
    note = None if posts else NO_ROUTE_NOTE
    return IntakeResult(article=article, created=True, changed=True, posts_created=posts, note=note)


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

    routed = routed_channels(channel_rows(session=session), article)
    note = None if routed else NO_ROUTE_NOTE
    if revision is not None and revision <= article.revision:
        posts = ensure_posts(session=session, article=article, now=now, channels=routed)
        return IntakeResult(
            article=article,
            created=False,
            changed=False,
            posts_created=posts,
            duplicate=True,
            note=note,
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
    # The rules in force decide, on the updated article: new takers get posts, the others'
    # pending posts are cancelled (before re-rendering, so those are not re-rendered).
    routed = routed_channels(channel_rows(session=session), article)
    note = None if routed else NO_ROUTE_NOTE
    keep: set[object] = {ch.id for ch in routed}
    dropped = cancel_unrouted(session=session, article=article, keep=keep, actor=actor, now=now)
    rerendered = request_rerender(session=session, article=article, now=now)
    created = ensure_posts(session=session, article=article, now=now, channels=routed)
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
        posts_cancelled=len(dropped),
        note=note,
    )


def _insert_post_rows(*, session: Session, article: Article, now: datetime) -> list[PostRef]:
    """A new article's posts, one per channel that takes it, as one plain multi-row INSERT."""
    created_at = utcnow()
    channels = routed_channels(channel_rows(session=session), article)
    rows = [post_row(article, channel, now=now, created=created_at) for channel in channels]
    if not rows:
        return []
    table = Post.__table__  # type: ignore[attr-defined]
    stmt = (
        _insert_for(session)(table)
        .on_conflict_do_nothing(index_elements=["article_id", "channel_id", "kind"])
        .returning(table.c.id, table.c.channel_id, table.c.platform, table.c.status)
    )
    refs = [PostRef(r.id, r.channel_id, r.platform, r.status) for r in session.execute(stmt, rows)]
    ensure_followups(session=session, article=article, channels=channels, now=now)
    return refs


def ensure_posts(
    *,
    session: Session,
    article: Article,
    now: datetime,
    new_article: bool = False,
    channels: list[ChannelRow] | None = None,
) -> list[Post]:
    """Create the missing post for each channel that takes the article (never a second one).

    ``channels``: the channels that take it, if the caller already knows (else read here).

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
    if channels is None:
        channels = routed_channels(channel_rows(session=session), article)
    rows = [
        post_row(article, channel, now=now, created=created_at)
        for channel in channels
        if channel.id not in have
    ]
    if not rows:
        ensure_followups(session=session, article=article, channels=channels, now=now)
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
    ensure_followups(session=session, article=article, channels=channels, now=now)
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
            col(Post.status).in_(sorted(RERENDERABLE)),
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
