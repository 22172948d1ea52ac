"""Who must approve posts before they go out: per channel and per article source.

A channel requires approval through its settings (``requires_approval``).  A source requires it
through a :class:`~scheduler.models.ServiceState` row ``approval:source:<source>`` (webhook and
CLI sources), or through the ``requires_approval`` flag of a feed with that source.  The format
step (:func:`scheduler.editorial.rendering.next_status_after_render`) and the editor's actions
read both.

Turning approval on sends the unapproved posts still waiting to go out back to
``pending_approval``; turning it off releases the waiting posts that no longer need anyone.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from adapters.base import ChannelSettings
from scheduler.channels import get_channel
from scheduler.editorial.lifecycle import RELEASED, released_status
from scheduler.intake.schemas import InvalidInput
from scheduler.models import (
    Article,
    Channel,
    FeedSource,
    Post,
    PostStatus,
    ServiceState,
    utcnow,
)
from scheduler.ops.audit import record_audit
from scheduler.ops.state import put_state

SOURCE_APPROVAL_PREFIX = "approval:source:"
#: Service-state keys hold 100 characters, so a rule can name a source of at most this many.
MAX_RULE_SOURCE_LENGTH = 100 - len(SOURCE_APPROVAL_PREFIX)


def source_approval_key(source: str) -> str:
    """The service-state key for one source's approval rule."""
    return SOURCE_APPROVAL_PREFIX + source


def source_requires_approval(*, session: Session, source: str) -> bool:
    """Whether posts of articles from ``source`` wait for an editor's approval."""
    row = session.get(ServiceState, source_approval_key(source))
    if row is not None and row.value.get("required"):
        return True
    feed = session.exec(
        select(FeedSource.id).where(
            col(FeedSource.source) == source, col(FeedSource.requires_approval).is_(True)
        )
    ).first()
    return feed is not None


def channel_requires_approval(channel: Channel) -> bool:
    """Whether the channel's posts wait for an editor's approval."""
    return bool((channel.settings or {}).get("requires_approval"))


def post_requires_approval(*, session: Session, channel: Channel, article: Article) -> bool:
    """Whether a post on ``channel`` of ``article`` needs an approval before it goes out."""
    return channel_requires_approval(channel) or source_requires_approval(
        session=session, source=article.source
    )


def _hold_unapproved(session: Session, where: Any) -> int:
    result = session.execute(
        sa.update(Post)
        .where(
            where,
            col(Post.status).in_(sorted(RELEASED)),
            col(Post.approved_at).is_(None),
            col(Post.parent_id).is_(None),  # a follow-up waits for its parent, not approval
        )
        .values(
            status=PostStatus.PENDING_APPROVAL, version=col(Post.version) + 1, updated_at=utcnow()
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def _release_pending(
    session: Session, posts: list[Post], channels: dict[uuid.UUID, Channel]
) -> int:
    released = 0
    for post in posts:
        channel = channels[post.channel_id]
        article = session.get(Article, post.article_id)
        assert article is not None  # foreign key
        if post.problems or post_requires_approval(
            session=session, channel=channel, article=article
        ):
            continue
        result = session.execute(
            sa.update(Post)
            .where(col(Post.id) == post.id, col(Post.status) == PostStatus.PENDING_APPROVAL)
            .values(
                status=released_status(channel),
                version=col(Post.version) + 1,
                updated_at=utcnow(),
            )
            .execution_options(synchronize_session=False)
        )
        released += int(result.rowcount)  # type: ignore[attr-defined]
    return released


def set_approval_required(
    *, session: Session, channel_id: uuid.UUID, required: bool, actor: str
) -> dict[str, Any]:
    """Require (or stop requiring) approval for a channel's posts; returns the rule and counts.

    Raises :class:`scheduler.channels.ChannelNotFound` for an unknown channel.
    """
    channel = get_channel(session=session, channel_id=channel_id)
    before = channel_requires_approval(channel)
    data = ChannelSettings.from_stored(channel.settings)
    data.requires_approval = required
    channel.settings = data.model_dump()
    session.add(channel)
    session.flush()
    held = released = 0
    if required:
        held = _hold_unapproved(session, col(Post.channel_id) == channel.id)
    else:
        pending = session.exec(
            select(Post).where(
                col(Post.channel_id) == channel.id,
                col(Post.status) == PostStatus.PENDING_APPROVAL,
            )
        ).all()
        released = _release_pending(session, list(pending), {channel.id: channel})
    record_audit(
        session=session,
        actor=actor,
        action="channel.approval",
        channel_id=channel.id,
        before={"requires_approval": before},
        after={"requires_approval": required, "held": held, "released": released},
    )
    return {
        "channel_id": str(channel.id),
        "required": required,
        "posts_held": held,
        "posts_released": released,
    }


def set_source_approval(
    *, session: Session, source: str, required: bool, actor: str
) -> dict[str, Any]:
    """Require (or stop requiring) approval for every post of articles from ``source``.

    Raises InvalidInput for a source longer than :data:`MAX_RULE_SOURCE_LENGTH`.
    """
    if not source or len(source) > MAX_RULE_SOURCE_LENGTH:
        raise InvalidInput([f"source: must be 1 to {MAX_RULE_SOURCE_LENGTH} characters"])
    before = source_requires_approval(session=session, source=source)
    put_state(
        session=session,
        key=source_approval_key(source),
        value={"required": required, "by": actor, "at": utcnow().isoformat()},
    )
    session.flush()
    of_source = col(Post.article_id).in_(
        select(Article.id).where(col(Article.source) == source).scalar_subquery()
    )
    held = released = 0
    if required:
        held = _hold_unapproved(session, of_source)
    else:
        pending = list(
            session.exec(
                select(Post).where(of_source, col(Post.status) == PostStatus.PENDING_APPROVAL)
            ).all()
        )
        ids = {p.channel_id for p in pending}
        channels = {c.id: c for c in session.exec(select(Channel).where(col(Channel.id).in_(ids)))}
        released = _release_pending(session, pending, channels)
    record_audit(
        session=session,
        actor=actor,
        action="source.approval",
        detail=f"source {source}",
        before={"source": source, "requires_approval": before},
        after={"source": source, "requires_approval": required, "held": held, "released": released},
    )
    # A feed's own flag still applies when the source rule is off: report the effective rule.
    return {
        "source": source,
        "required": source_requires_approval(session=session, source=source),
        "posts_held": held,
        "posts_released": released,
    }
