"""The claim's statements for channel policy: staleness, paced channels, why posts wait.

Per claim, a bounded number of statements whatever the backlog: one read of the active
channels' settings, one ``UPDATE`` expiring stale posts, one locking read of the paced
channels, one candidate query (window function: each paced channel's first due posts), then one
``executemany`` each for the channels' pacing state and the waiting posts' reasons.

Concurrency: a paced channel's posts are claimed only while its row is locked (``FOR UPDATE
SKIP LOCKED`` on PostgreSQL, so another replica skips the channel for this round instead of
waiting; ``BEGIN IMMEDIATE`` on SQLite).  ``next_free_at`` is read and moved on under that
lock, in the claim's transaction, so two replicas never claim two normal posts on one account
closer together than ``min_interval_seconds``.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from adapters.base import ChannelSettings
from scheduler.delivery.policy import (
    Candidate,
    ChannelPlan,
    ChannelPolicy,
    Pacing,
    Wait,
    channel_policy,
)
from scheduler.models import Article, Channel, ChannelStatus, Post, PostStatus, Priority
from scheduler.runtime.logs import get_logger

log = get_logger(__name__)

DISPATCHABLE = (PostStatus.SCHEDULED.value, PostStatus.RETRY_WAIT.value)
#: A due post still rendering holds a paced channel's line this long at most (a render that
#: takes longer, or is stuck, must not stop the channel).
RENDER_GRACE = timedelta(seconds=60)


def due_clause(now: datetime) -> Any:
    """A scheduled post whose time has come, or a retry whose back-off is over.

    Written as an id set from two selects, one per partial index (``ix_post_due`` and
    ``ix_post_retry_due``), so a tick reads only what is due: as one OR the planner may walk
    every scheduled post of the next month and drop them.
    """
    due = Post.__table__.alias("due_post")  # type: ignore[attr-defined]
    scheduled = sa.select(due.c.id).where(
        due.c.status == PostStatus.SCHEDULED, due.c.scheduled_at <= now
    )
    retry = sa.select(due.c.id).where(
        due.c.status == PostStatus.RETRY_WAIT, due.c.next_attempt_at <= now
    )
    return col(Post.id).in_(sa.union_all(scheduled, retry))


_PARENT = aliased(Post, name="parent_post")


def parent_live() -> Any:
    """A post with no parent, or a follow-up whose parent is published with its platform id.

    Part of every claim (and re-checked by the claim's UPDATE), so no scheduler replica ever
    hands out a follow-up before its parent is live.
    """
    return sa.or_(
        col(Post.parent_id).is_(None),
        sa.select(col(_PARENT.id))
        .where(
            col(_PARENT.id) == col(Post.parent_id),
            col(_PARENT.status) == PostStatus.PUBLISHED,
            col(_PARENT.external_id).is_not(None),
        )
        .exists(),
    )


def not_followup() -> Any:
    """Posts that are not follow-ups: only these take a channel's spacing, slots and cap."""
    return col(Post.parent_id).is_(None)


def is_breaking() -> Any:
    """1 for a post of a breaking article, else 0 (needs the article joined)."""
    return sa.case((col(Article.priority) == Priority.BREAKING.value, 1), else_=0)


def claim_order() -> list[Any]:
    """Breaking first, then by due time, then in publish order."""
    return [
        is_breaking().desc(),
        sa.func.coalesce(col(Post.next_attempt_at), col(Post.scheduled_at)),
        col(Article.published_at),
        col(Post.created_at),
    ]


def load_policies(session: Session) -> dict[uuid.UUID, ChannelPolicy]:
    """The policy of every active channel (a handful of rows; settings parsed here)."""
    rows = session.execute(
        sa.select(col(Channel.id), col(Channel.settings), col(Channel.timezone)).where(
            col(Channel.status) == ChannelStatus.ACTIVE
        )
    ).all()
    policies: dict[uuid.UUID, ChannelPolicy] = {}
    for channel_id, settings, timezone in rows:
        try:
            policies[channel_id] = channel_policy(
                channel_id, ChannelSettings.model_validate(settings or {}), timezone
            )
        except (ValueError, KeyError) as exc:  # a bad zone or setting must not stop the others
            log.warning("channel_policy_invalid", channel_id=str(channel_id), error=str(exc))
            policies[channel_id] = channel_policy(channel_id, ChannelSettings(), "UTC")
    return policies


def expire_stale(
    session: Session, policies: dict[uuid.UUID, ChannelPolicy], *, now: datetime
) -> int:
    """Move due posts still unsent ``stale_after`` past their due time and article to expired.

    A post expires when both its due time (``scheduled_at``, never before the article's
    publication unless an editor set it so) and its article's publication are older than the
    channel's ``stale_after_minutes``; an editor's later schedule or "post now" keeps it fresh.
    """
    by_age: dict[timedelta, list[uuid.UUID]] = defaultdict(list)
    for policy in policies.values():
        by_age[policy.stale_after].append(policy.channel_id)
    if not by_age:
        return 0
    conditions, reasons = [], []
    for age, ids in by_age.items():
        cutoff = now - age
        old_article = (
            sa.select(col(Article.id))
            .where(
                col(Article.id) == col(Post.article_id),
                sa.or_(col(Article.published_at).is_(None), col(Article.published_at) < cutoff),
            )
            .exists()
        )
        in_group = col(Post.channel_id).in_(ids)
        conditions.append(sa.and_(in_group, col(Post.scheduled_at) < cutoff, old_article))
        minutes = int(age.total_seconds() // 60)
        reasons.append(
            (
                in_group,
                f"Expired: still not sent {minutes} minutes after it was due and its article "
                "was published, so it is no longer news (the channel's stale_after_minutes). "
                "An editor can still post it now.",
            )
        )
    result = session.execute(
        sa.update(Post)
        # A follow-up goes out after its parent whenever that is: it never expires on its own.
        .where(col(Post.status).in_(DISPATCHABLE), not_followup(), sa.or_(*conditions))
        .values(
            status=PostStatus.EXPIRED,
            last_error=sa.case(*reasons, else_=col(Post.last_error)),
            wait_code=None,
            wait_reason=None,
            wait_until=None,
            lease_until=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    expired = int(result.rowcount)  # type: ignore[attr-defined]
    if expired:
        log.info("posts_expired", count=expired)
    return expired


def lock_paced(
    session: Session, ids: list[uuid.UUID], *, now: datetime, skip_locked: bool
) -> dict[uuid.UUID, Pacing]:
    """Lock the paced channels free to post (rate limit over); their stored pacing state."""
    if not ids:
        return {}
    stmt = sa.select(
        col(Channel.id), col(Channel.next_free_at), col(Channel.cap_day), col(Channel.cap_count)
    ).where(
        col(Channel.id).in_(ids),
        col(Channel.status) == ChannelStatus.ACTIVE,
        sa.or_(col(Channel.rate_limited_until).is_(None), col(Channel.rate_limited_until) <= now),
    )
    if skip_locked:
        stmt = stmt.with_for_update(skip_locked=True)
    locked = {row[0]: Pacing(row[1], row[2], int(row[3] or 0)) for row in session.execute(stmt)}
    return _with_deliveries(session, locked, now=now)


#: How far back a published post still counts for spacing (the largest interval allowed).
_SPACING_LOOKBACK = timedelta(hours=24)
_IN_FLIGHT = (PostStatus.QUEUED.value, PostStatus.PUBLISHING.value)


def _with_deliveries(
    session: Session, locked: dict[uuid.UUID, Pacing], *, now: datetime
) -> dict[uuid.UUID, Pacing]:
    """Add, per locked channel, whether a post is being sent and when the last one went out.

    One grouped statement over the in-flight posts and the recent publishes (index
    ``ix_post_channel_published``), so spacing is measured from the platform's side.
    """
    if not locked:
        return locked
    in_flight = col(Post.status).in_(_IN_FLIGHT)
    rows = session.execute(
        sa.select(
            col(Post.channel_id),
            sa.func.max(sa.case((in_flight, 1), else_=0)),
            sa.func.max(col(Post.published_at)),
        )
        .where(
            col(Post.channel_id).in_(list(locked)),
            not_followup(),  # a comment under a post is not a post in the feed
            sa.or_(in_flight, col(Post.published_at) >= now - _SPACING_LOOKBACK),
        )
        .group_by(col(Post.channel_id))
    ).all()
    for channel_id, busy, last in rows:
        locked[channel_id] = replace(
            locked[channel_id],
            in_flight=bool(busy),
            last_sent_at=_aware(last) if last is not None else None,
        )
    return locked


def candidates(
    session: Session,
    policies: dict[uuid.UUID, ChannelPolicy],
    locked: list[uuid.UUID],
    *,
    now: datetime,
    batch: int,
) -> dict[uuid.UUID, list[Candidate]]:
    """Each locked channel's first due posts, in claim order: one statement.

    Due posts still rendering (for less than ``RENDER_GRACE``) are read too, not ready, so
    that they keep their place in publish order.

    A channel with spacing or slots lets at most one normal post go per claim, so only its
    first two normal posts are read (the second says why the rest wait); breaking posts (and
    a cap-only channel's posts) up to ``batch``.
    """
    if not locked:
        return {}
    single = [c for c in locked if policies[c].one_normal_at_a_time] or [uuid.UUID(int=0)]
    breaking = is_breaking().label("breaking")
    due_at = sa.func.coalesce(col(Post.next_attempt_at), col(Post.scheduled_at))
    rank = (
        sa.func.row_number()
        .over(partition_by=[col(Post.channel_id), is_breaking()], order_by=claim_order()[1:])
        .label("rank")
    )
    inner = (
        sa.select(
            col(Post.id).label("post_id"),
            col(Post.channel_id).label("channel_id"),
            breaking,
            due_at.label("due"),
            col(Post.attempt_count).label("attempts"),
            (col(Post.status) != PostStatus.RENDERING).label("ready"),
            col(Article.published_at).label("published"),
            col(Post.created_at).label("created"),
            rank,
        )
        .join(Article, col(Article.id) == col(Post.article_id))
        .where(
            col(Post.channel_id).in_(locked),
            not_followup(),  # follow-ups are claimed apart, after their parent
            sa.or_(
                due_clause(now),
                sa.and_(
                    col(Post.status) == PostStatus.RENDERING,
                    col(Post.scheduled_at) <= now,
                    col(Post.created_at) >= now - RENDER_GRACE,
                ),
            ),
        )
        .subquery()
    )
    limit = sa.case(
        (sa.or_(inner.c.breaking == 1, inner.c.channel_id.not_in(single)), batch), else_=2
    )
    rows = session.execute(sa.select(inner).where(inner.c.rank <= limit)).all()
    found: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for row in rows:
        found[row.channel_id].append(row)
    result: dict[uuid.UUID, list[Candidate]] = {}
    for channel_id, channel_rows in found.items():
        channel_rows.sort(key=lambda r: (-r.breaking, r.due, r.published or r.due, r.created))
        result[channel_id] = [
            Candidate(r.post_id, bool(r.breaking), _aware(r.due), r.attempts == 0, bool(r.ready))
            for r in channel_rows
        ]
    return result


def _aware(moment: datetime) -> datetime:
    # coalesce() loses the column type, so SQLite hands back a naive (UTC) value.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def save_plans(session: Session, plans: dict[uuid.UUID, ChannelPlan], *, now: datetime) -> None:
    """Write each planned channel's pacing state and its waiting posts' reason (2 statements)."""
    if not plans:
        return
    channel = Channel.__table__  # type: ignore[attr-defined]
    session.execute(
        sa.update(channel)
        .where(channel.c.id == sa.bindparam("b_id"))
        .values(
            next_free_at=sa.bindparam("b_free", type_=channel.c.next_free_at.type),
            cap_day=sa.bindparam("b_day"),
            cap_count=sa.bindparam("b_count"),
        ),
        [
            dict(
                b_id=cid,
                b_free=p.pacing.next_free_at,
                b_day=p.pacing.cap_day,
                b_count=p.pacing.cap_count,
            )
            for cid, p in plans.items()
        ],
    )
    waits = {cid: p.wait for cid, p in plans.items() if p.wait is not None}
    if waits:
        record_waits(session, waits, now=now)


def record_waits(session: Session, waits: dict[uuid.UUID, Wait], *, now: datetime) -> None:
    """Say why each channel's due, unclaimed posts wait (two ``executemany`` statements).

    The next post gets the exact reason and time; the rest of the line gets the channel's
    queue reason once (rows already saying so are not rewritten, so the cost per claim does
    not grow with the backlog).
    """
    post = Post.__table__  # type: ignore[attr-defined]
    until_type = post.c.wait_until.type
    code: Any = sa.bindparam("b_code")
    session.execute(
        sa.update(post)
        .where(post.c.id == sa.bindparam("b_post"))
        .values(
            wait_code=code,
            wait_reason=sa.bindparam("b_reason"),
            wait_until=sa.bindparam("b_until", type_=until_type),
        ),
        [
            dict(b_post=w.post_id, b_code=w.code.value, b_reason=w.reason, b_until=w.until)
            for w in waits.values()
        ],
    )
    session.execute(
        sa.update(post)
        .where(
            post.c.channel_id == sa.bindparam("b_channel"),
            post.c.id != sa.bindparam("b_post"),
            post.c.parent_id.is_(None),  # follow-ups wait for their parent, and say so
            sa.or_(
                sa.and_(post.c.status == PostStatus.SCHEDULED, post.c.scheduled_at <= now),
                sa.and_(post.c.status == PostStatus.RETRY_WAIT, post.c.next_attempt_at <= now),
            ),
            sa.or_(
                post.c.wait_code.is_(None),
                post.c.wait_code != code,
                post.c.wait_until.is_not(None),
            ),
        )
        .values(wait_code=code, wait_reason=sa.bindparam("b_reason"), wait_until=None),
        [
            dict(b_channel=cid, b_post=w.post_id, b_code=w.code.value, b_reason=w.queue_reason)
            for cid, w in waits.items()
        ],
    )
