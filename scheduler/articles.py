"""Article intake: store the article and create one post per channel, idempotently.

Intake answers fast: it never renders or downloads anything.  Posts are created in
``rendering`` state; the post table is the outbox from which the scheduler hands one format task
per post to the workers (see :mod:`scheduler.dispatch`).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from adapters.base import ArticleContent
from scheduler.audit import record_audit
from scheduler.channels import channel_settings, list_channels
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
from scheduler.schemas import ArticleIn


@dataclass
class IntakeResult:
    """What intake did with one article."""

    article: Article
    created: bool
    changed: bool
    posts_created: list[Post] = field(default_factory=list)
    posts_rerendered: list[Post] = field(default_factory=list)
    duplicate: bool = False


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


def initial_schedule(article: Article, channel: Channel, *, now: datetime) -> datetime:
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
) -> IntakeResult:
    """Store or update an article and make sure it has one post per channel.

    ``revision=None`` (the CLI, when the JSON has no ``revision``) always raises the revision of a
    known article and re-renders its unpublished posts.  An explicit revision (webhooks, feeds)
    is idempotent: a revision at or below the stored one changes nothing.
    """
    now = now or utcnow()
    if revision is None:
        revision = data.revision  # the article JSON may carry the CMS's own revision
    try:
        with session.begin_nested():
            return _ingest(session=session, data=data, actor=actor, revision=revision, now=now)
    except IntegrityError:
        # A concurrent intake created the same article or posts first; take the update path.
        return _ingest(session=session, data=data, actor=actor, revision=revision, now=now)


def _ingest(
    *, session: Session, data: ArticleIn, actor: str, revision: int | None, now: datetime
) -> IntakeResult:
    article = session.exec(
        select(Article).where(
            Article.source == data.source, Article.external_id == data.external_id
        )
    ).first()
    digest = content_hash(data)
    if article is None:
        article = Article(source=data.source, external_id=data.external_id, revision=revision or 1)
        _apply(article, data)
        article.content_hash = digest
        session.add(article)
        session.flush()
        record_audit(
            session=session,
            actor=actor,
            action="article.create",
            article_id=article.id,
            after={"revision": article.revision, "title": article.title},
        )
        posts = ensure_posts(session=session, article=article, now=now)
        return IntakeResult(article=article, created=True, changed=True, posts_created=posts)

    if revision is not None and revision <= article.revision:
        posts = ensure_posts(session=session, article=article, now=now)
        return IntakeResult(
            article=article, created=False, changed=False, posts_created=posts, duplicate=True
        )

    before = {"revision": article.revision, "title": article.title}
    article.revision = revision or article.revision + 1
    _apply(article, data)
    article.content_hash = digest
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


def ensure_posts(*, session: Session, article: Article, now: datetime) -> list[Post]:
    """Create the missing post for each channel (never a second one)."""
    have = set(session.exec(select(Post.channel_id).where(Post.article_id == article.id)).all())
    created = []
    for channel in list_channels(session=session):
        if channel.id in have:
            continue
        post = Post(
            article_id=article.id,
            channel_id=channel.id,
            platform=channel.platform,
            status=PostStatus.RENDERING,
            render_requested_revision=article.revision,
            scheduled_at=initial_schedule(article, channel, now=now),
        )
        session.add(post)
        created.append(post)
    session.flush()
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
