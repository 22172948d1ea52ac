"""Reading posts: the summary row, keyset pages of the queue, and one post in detail.

Pages are keyset-paginated on ``(coalesce(scheduled_at, created_at), id)``, soonest first: a
page never skips or repeats a post because others were inserted or moved meanwhile (OFFSET
would), and each page is one index-friendly range scan.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from adapters.images import is_image_note
from scheduler.db.cursors import InvalidCursor, decode_cursor, encode_cursor
from scheduler.editorial.approvals import post_requires_approval
from scheduler.intake.schemas import InvalidInput
from scheduler.models import Article, Channel, DeliveryAttempt, PlatformName, Post, PostStatus

#: How many attempts a post's detail lists (newest first); the count covers all of them.
ATTEMPTS_SHOWN = 20


# --- read models (the API's response schemas use these same classes) -----------------------------


class PostSummary(BaseModel):
    """A post in a list: where it goes, what it says, its state."""

    id: str
    article_id: str
    article_external_id: str
    article_title: str
    channel: str = Field(description="The platform: x, instagram or facebook")
    channel_id: str
    channel_name: str
    kind: str = Field(
        description="link: the article's post; comment or reply: a follow-up (Instagram's "
        "first comment, a Facebook comment, the X reply that makes a thread) under parent_id"
    )
    parent_id: str | None = Field(description="The post a follow-up goes out under")
    status: str
    scheduled_at: str | None
    external_id: str | None
    external_url: str | None
    last_error: str | None
    attempt_count: int
    text: str = Field(description="What would be sent: the editor's text, else the rendered one")
    edited: bool
    problems: list[str]
    approved_by: str | None
    approved_at: str | None
    version: int
    created_at: str
    updated_at: str


class AttemptSummary(BaseModel):
    """One delivery attempt of the post."""

    id: str
    number: int
    status: str
    created_at: str
    started_at: str | None
    finished_at: str | None
    http_status: int | None
    error_class: str | None
    message: str | None
    latency_ms: int | None


class Attempts(BaseModel):
    """The post's delivery attempts, newest first (the most recent 20)."""

    count: int
    last_status: str | None
    items: list[AttemptSummary]


class PostDetail(PostSummary):
    """One post in full, as the editor previews it."""

    rendered_text: str
    text_override: str | None
    edited_by: str | None
    link: str | None
    media: list[dict[str, Any]]
    warnings: list[str] = Field(
        description="The render's notes that still apply: once an editor's text wins, only "
        "those about the image remain"
    )
    weighted_length: int | None
    requires_approval: bool
    scheduled_at_local: str | None = Field(description="scheduled_at in the channel's time zone")
    next_attempt_at: str | None
    published_at: str | None
    article_url: str
    article_source: str
    article_revision: int
    rendered_revision: int
    channel_timezone: str
    channel_status: str
    attempts: Attempts


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def effective_text(post: Post) -> str:
    """What would be sent: the editor's text when there is one, else the rendered text."""
    return post.text_override if post.text_override is not None else post.text


def current_notes(post: Post) -> list[str]:
    """The render's notes that still describe what would be sent.

    The render's notes about the text ("Left out #Gaza to fit", "the title was shortened")
    describe the rendered text; once an editor's text wins over it (even after a re-render for
    a corrected article), they no longer apply.  Notes about the image still do.
    """
    notes = list(post.warnings or [])
    if post.text_override is None:
        return notes
    return [note for note in notes if is_image_note(note)]


def _summary_fields(post: Post, article: Article, channel: Channel) -> dict[str, Any]:
    return {
        "id": str(post.id),
        "article_id": str(post.article_id),
        "article_external_id": article.external_id,
        "article_title": article.title,
        "channel": str(channel.platform),
        "channel_id": str(channel.id),
        "channel_name": channel.name,
        "kind": post.kind,
        "parent_id": str(post.parent_id) if post.parent_id else None,
        "status": str(post.status),
        "scheduled_at": _iso(post.scheduled_at),
        "external_id": post.external_id,
        "external_url": post.external_url,
        "last_error": post.last_error,
        "attempt_count": post.attempt_count,
        "text": effective_text(post),
        "edited": post.text_override is not None,
        "problems": list(post.problems or []),
        "approved_by": post.approved_by,
        "approved_at": _iso(post.approved_at),
        "version": post.version,
        "created_at": post.created_at.isoformat(),
        "updated_at": post.updated_at.isoformat(),
    }


def post_row(post: Post, article: Article, channel: Channel) -> PostSummary:
    """The public summary of a post (CLI, API and web UI)."""
    return PostSummary(**_summary_fields(post, article, channel))


def _joined() -> Any:
    return (
        select(Post, Article, Channel)
        .join(Article, col(Article.id) == col(Post.article_id))
        .join(Channel, col(Channel.id) == col(Post.channel_id))
    )


def list_post_rows(
    *, session: Session, status: str | None = None, limit: int = 200
) -> list[PostSummary]:
    """Posts with their article and channel, newest first."""
    stmt = _joined().order_by(col(Post.created_at).desc(), col(Post.id)).limit(limit)
    if status:
        stmt = stmt.where(col(Post.status) == status)
    return [post_row(p, a, c) for p, a, c in session.exec(stmt).all()]


def _channel_filter(channel: str) -> Any:
    try:
        return col(Post.channel_id) == uuid.UUID(channel)
    except ValueError:
        pass
    if channel in {p.value for p in PlatformName}:
        return col(Post.platform) == channel
    raise InvalidInput(
        [f"channel: {channel!r} is neither a channel id nor one of x, instagram, facebook"]
    )


def page_posts(
    *,
    session: Session,
    status: PostStatus | str | None = None,
    channel: str | None = None,
    article_id: uuid.UUID | None = None,
    scheduled_from: datetime | None = None,
    scheduled_to: datetime | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[PostSummary], str | None]:
    """One page of posts, soonest first, and the cursor of the next page (None at the end).

    Raises :class:`scheduler.intake.schemas.InvalidInput` for a bad channel, status or cursor.
    """
    key = sa.func.coalesce(col(Post.scheduled_at), col(Post.created_at))
    stmt = _joined().order_by(key, col(Post.id))
    if status is not None:
        if status not in {s.value for s in PostStatus}:
            raise InvalidInput([f"status: {status!r} is not a post status"])
        stmt = stmt.where(col(Post.status) == str(status))
    if channel:
        stmt = stmt.where(_channel_filter(channel))
    if article_id is not None:
        stmt = stmt.where(col(Post.article_id) == article_id)
    if scheduled_from is not None:
        stmt = stmt.where(col(Post.scheduled_at) >= scheduled_from)
    if scheduled_to is not None:
        stmt = stmt.where(col(Post.scheduled_at) < scheduled_to)
    if cursor:
        try:
            at, after_id = decode_cursor(cursor)
        except InvalidCursor as exc:
            raise InvalidInput([f"cursor: {exc}"]) from None
        stmt = stmt.where(sa.or_(key > at, sa.and_(key == at, col(Post.id) > after_id)))
    rows = session.exec(stmt.limit(limit + 1)).all()
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        last = page[-1][0]
        next_cursor = encode_cursor(last.scheduled_at or last.created_at, last.id)
    return [post_row(p, a, c) for p, a, c in page], next_cursor


def _attempt_row(a: DeliveryAttempt) -> AttemptSummary:
    return AttemptSummary(
        id=str(a.id),
        number=a.number,
        status=str(a.status),
        created_at=a.created_at.isoformat(),
        started_at=_iso(a.started_at),
        finished_at=_iso(a.finished_at),
        http_status=a.http_status,
        error_class=a.error_class,
        message=a.message,
        latency_ms=a.latency_ms,
    )


def _local(at: datetime | None, timezone: str) -> str | None:
    if at is None:
        return None
    try:
        return at.astimezone(ZoneInfo(timezone)).isoformat()
    except (KeyError, ValueError):  # an unknown zone name: show UTC rather than fail the page
        return at.isoformat()


def post_detail(*, session: Session, post_id: uuid.UUID) -> PostDetail | None:
    """Everything an editor sees about one post, or None if there is no such post."""
    found = session.exec(_joined().where(col(Post.id) == post_id)).first()
    if found is None:
        return None
    post, article, channel = found
    attempts = session.exec(
        select(DeliveryAttempt)
        .where(col(DeliveryAttempt.post_id) == post_id)
        .order_by(col(DeliveryAttempt.number).desc(), col(DeliveryAttempt.created_at).desc())
    ).all()
    return PostDetail(
        **_summary_fields(post, article, channel),
        rendered_text=post.text,
        text_override=post.text_override,
        edited_by=post.edited_by,
        link=post.link,
        media=list(post.media or []),
        warnings=current_notes(post),
        weighted_length=post.weighted_length,
        requires_approval=post_requires_approval(session=session, channel=channel, article=article),
        scheduled_at_local=_local(post.scheduled_at, channel.timezone),
        next_attempt_at=_iso(post.next_attempt_at),
        published_at=_iso(post.published_at),
        article_url=article.url,
        article_source=article.source,
        article_revision=article.revision,
        rendered_revision=post.rendered_revision,
        channel_timezone=channel.timezone,
        channel_status=str(channel.status),
        attempts=Attempts(
            count=len(attempts),
            last_status=str(attempts[0].status) if attempts else None,
            items=[_attempt_row(a) for a in attempts[:ATTEMPTS_SHOWN]],
        ),
    )
