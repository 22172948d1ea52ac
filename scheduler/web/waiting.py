""" "Waiting for you" on the queue page: what needs a person, most urgent first, and the
channels an editor may pause.

Each group costs two bounded queries whatever the size of the post table: its first few posts
in schedule order and a count that stops at :data:`COUNT_CAP` (both read the post index on
``(status, scheduled_at)``).  The channel table is small and read once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from config import Settings
from scheduler.access.token_warnings import TokenWarning, token_warnings
from scheduler.models import (
    Article,
    AuditEvent,
    Channel,
    ChannelStatus,
    Post,
    PostStatus,
    utcnow,
)
from scheduler.web import clock

# The queue's own select (its columns are QueueRow's, in order): one definition of a row.
from scheduler.web.queries import QueueRow, _queue_select

#: Posts shown per group; "see all" opens the queue filtered by the group's status.
GROUP_LIMIT = 5
#: Counts stop here ("1000+"): an exact count of a huge backlog is not worth its cost.
COUNT_CAP = 1000
#: Breaking news is urgent while fresh: a breaking post scheduled longer ago than this waits
#: with the ordinary approvals.  (The window also keeps its count a short index range.)
BREAKING_FRESH = timedelta(hours=24)


@dataclass(frozen=True)
class GroupSpec:
    """Which posts make a group, in the order a person should handle them."""

    key: str
    title: str
    statuses: tuple[PostStatus, ...]
    #: None: any post; True: fresh breaking news only; False: everything but fresh breaking news.
    breaking: bool | None = None


GROUPS = (
    GroupSpec("needs_review", "Check whether these went out", (PostStatus.NEEDS_REVIEW,)),
    GroupSpec(
        "needs_reauth", "Waiting for a channel to be reconnected", (PostStatus.NEEDS_REAUTH,)
    ),
    GroupSpec("failed", "Failed", (PostStatus.FAILED,)),
    GroupSpec(
        "breaking",
        "Breaking news waiting for approval",
        (PostStatus.PENDING_APPROVAL, PostStatus.DRAFT),
        breaking=True,
    ),
    GroupSpec(
        "pending_approval", "Waiting for approval", (PostStatus.PENDING_APPROVAL,), breaking=False
    ),
    GroupSpec("draft", "Drafts to fix", (PostStatus.DRAFT,), breaking=False),
)
#: Expiring logins come after the posts that already failed and before approvals.
TOKENS_AFTER = "failed"


@dataclass(frozen=True)
class WaitingGroup:
    """One kind of work with its first posts, how many there are, and where to see them all."""

    key: str
    title: str
    count: int
    rows: list[QueueRow] = field(default_factory=list)
    see_all: str | None = None
    tokens: list[TokenWarning] = field(default_factory=list)

    @property
    def count_words(self) -> str:
        return f"{COUNT_CAP}+" if self.count > COUNT_CAP else str(self.count)


@dataclass(frozen=True)
class ChannelState:
    """A channel as the pause panel shows it, with who paused it and when."""

    id: uuid.UUID
    name: str
    platform: str
    status: str
    reason: str | None
    paused_by: str | None = None
    paused_at: datetime | None = None


@dataclass(frozen=True)
class Waiting:
    """Everything the "Waiting for you" section and the channel panel show."""

    groups: list[WaitingGroup]
    channels: list[ChannelState]

    @property
    def reconnect(self) -> list[ChannelState]:
        """Channels whose login is gone: only a person (an admin) can bring them back."""
        return [c for c in self.channels if c.status == ChannelStatus.NEEDS_REAUTH]


def _group_filter(stmt: Any, spec: GroupSpec, now: datetime | None) -> Any:
    stmt = stmt.where(
        col(Post.status).in_([s.value for s in spec.statuses]),
        col(Post.scheduled_at).is_not(None),
    )
    if spec.breaking is not None:
        fresh = sa.and_(
            col(Article.priority) == "breaking",
            col(Post.scheduled_at) >= (now or utcnow()) - BREAKING_FRESH,
        )
        stmt = stmt.join(Article, col(Article.id) == col(Post.article_id)).where(
            fresh if spec.breaking else sa.not_(fresh)
        )
    return stmt


def group_rows(
    *, session: Session, spec: GroupSpec, limit: int = GROUP_LIMIT, now: datetime | None = None
) -> list[QueueRow]:
    """The group's first ``limit`` posts, soonest scheduled first."""
    # Pick the ids on the narrow post table first, then join only those for their titles.
    first = (
        _group_filter(sa.select(col(Post.id)), spec, now)
        .order_by(col(Post.scheduled_at), col(Post.id))
        .limit(limit)
    )
    stmt = (
        _queue_select(None, None)
        .where(col(Post.id).in_(first.scalar_subquery()))
        .order_by(col(Post.scheduled_at), col(Post.id))
    )
    return [QueueRow(*r) for r in session.execute(stmt).all()]


def group_count(
    *, session: Session, spec: GroupSpec, cap: int = COUNT_CAP, now: datetime | None = None
) -> int:
    """How many posts the group holds, counted up to ``cap + 1`` (more reads as "cap+")."""
    if spec.breaking is False:
        # All posts of the status minus the fresh breaking ones: two index ranges, where
        # filtering on the article would look up the article of every post counted.
        fresh = group_count(session=session, spec=replace(spec, breaking=True), cap=cap, now=now)
        every = group_count(session=session, spec=replace(spec, breaking=None), cap=cap + fresh)
        return every - fresh
    inner = _group_filter(sa.select(sa.literal(1)).select_from(Post), spec, now).limit(cap + 1)
    return int(
        session.execute(sa.select(sa.func.count()).select_from(inner.subquery())).scalar_one()
    )


def see_all_url(spec: GroupSpec, rows: list[QueueRow], newsroom_tz: str) -> str:
    """The queue filtered by the group's first status, from the day of its oldest post."""
    url = f"/?status={spec.statuses[0].value}"
    if rows and rows[0].scheduled_at is not None:
        url += f"&from={clock.local(rows[0].scheduled_at, newsroom_tz).date().isoformat()}"
    return url


def channel_states(*, session: Session) -> list[ChannelState]:
    """Every channel's state, and for paused ones who paused it last and when (two queries)."""
    rows = session.execute(
        sa.select(
            col(Channel.id),
            col(Channel.name),
            col(Channel.platform),
            col(Channel.status),
            col(Channel.status_reason),
        ).order_by(col(Channel.platform), col(Channel.name))
    ).all()
    paused = [r[0] for r in rows if r[3] == ChannelStatus.PAUSED]
    by = _paused_by(session, paused) if paused else {}
    return [
        ChannelState(r[0], r[1], str(r[2]), str(r[3]), r[4], *by.get(r[0], (None, None)))
        for r in rows
    ]


def _paused_by(session: Session, channel_ids: list[uuid.UUID]) -> dict[Any, tuple[str, datetime]]:
    """The latest ``channel.paused`` audit event of each channel: (actor, when)."""
    rank = (
        sa.func.row_number()
        .over(partition_by=col(AuditEvent.channel_id), order_by=col(AuditEvent.at).desc())
        .label("rank")
    )
    inner = (
        sa.select(col(AuditEvent.channel_id), col(AuditEvent.actor), col(AuditEvent.at), rank)
        .where(
            col(AuditEvent.action) == "channel.paused",
            col(AuditEvent.channel_id).in_(channel_ids),
        )
        .subquery()
    )
    found = session.execute(
        sa.select(inner.c.channel_id, inner.c.actor, inner.c.at).where(inner.c.rank == 1)
    ).all()
    return {r[0]: (str(r[1]), r[2]) for r in found}


def waiting_for_you(*, session: Session, settings: Settings, limit: int = GROUP_LIMIT) -> Waiting:
    """The groups that hold something, most urgent first, and every channel's state."""
    tz, now = settings.newsroom_timezone, utcnow()
    channels = channel_states(session=session)
    groups: list[WaitingGroup] = []
    for spec in GROUPS:
        count = group_count(session=session, spec=spec, now=now)
        needs_reauth = spec.key == "needs_reauth" and any(
            c.status == ChannelStatus.NEEDS_REAUTH for c in channels
        )
        if count or needs_reauth:
            rows = group_rows(session=session, spec=spec, limit=limit, now=now) if count else []
            url = see_all_url(spec, rows, tz) if count else None
            groups.append(WaitingGroup(spec.key, spec.title, count, rows, url))
        if spec.key == TOKENS_AFTER:
            tokens = token_warnings(session.connection(), settings=settings)
            if tokens:
                groups.append(
                    WaitingGroup("tokens", "Logins about to expire", len(tokens), tokens=tokens)
                )
    return Waiting(groups=groups, channels=channels)
