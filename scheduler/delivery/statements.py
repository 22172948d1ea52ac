"""Every SQL statement of the delivery hot path, built once (SQLAlchemy Core, no ORM).

Built at import, or once per shape behind ``lru_cache``: no per-call statement construction, so
SQLAlchemy's compiled cache and psycopg's prepared statements always hit.  The stores
(``stores/``) choose which of these to execute for their database.

Bind parameters, by prefix:

* ``b_…`` — the rows a statement is about and the fixed inputs of the call:
  ``b_attempt``/``b_post``/``b_channel``/``b_article`` (row ids), ``b_now`` (the call's clock),
  ``b_worker``, ``b_lease`` (the post's lease end), ``b_status`` (the status a held post goes
  back to), ``b_message``, ``b_state`` (the post's platform state), ``b_since`` and
  ``b_rate_limit`` (the channel-health refresh).
* ``va_<column>``, ``vp_<column>``, ``vc_<column>`` — a new value for that column of
  ``delivery_attempt``, ``post`` or ``channel``: the values an ``OutcomeDecision`` (or a
  re-render) sets.  One prefix per table, so one parameter dict serves the single PostgreSQL
  outcome statement, where the three tables' updates share a namespace.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import sqlalchemy as sa

from adapters.errors import RATE_LIMIT_CLASSES, ErrorClass
from scheduler.models import (
    Article,
    AttemptStatus,
    Channel,
    DeliveryAttempt,
    Post,
    PostStatus,
    ServiceState,
)
from scheduler.ops.state import GLOBAL_PAUSE

attempt_table: sa.Table = DeliveryAttempt.__table__  # type: ignore[attr-defined]
post_table: sa.Table = Post.__table__  # type: ignore[attr-defined]
channel_table: sa.Table = Channel.__table__  # type: ignore[attr-defined]
article_table: sa.Table = Article.__table__  # type: ignore[attr-defined]
service_state_table: sa.Table = ServiceState.__table__  # type: ignore[attr-defined]

#: The row-id bind and the value prefix of each table an outcome updates.
ROW_BIND = {"delivery_attempt": "b_attempt", "post": "b_post", "channel": "b_channel"}
VALUE_PREFIX = {"delivery_attempt": "va_", "post": "vp_", "channel": "vc_"}


def _bind(name: str, column: sa.Column[Any]) -> sa.BindParameter[Any]:
    return sa.bindparam(name, type_=column.type)


def _one_of(column: sa.Column[Any], values: tuple[str, ...]) -> Any:
    """``column IN (…)`` for a fixed list, without an expanding parameter to render per call."""
    return sa.or_(*(column == v for v in values))


# --- The fence: start the attempt once, read what the call needs. ------------------------------

FENCE = (
    sa.update(attempt_table)
    .where(
        attempt_table.c.id == _bind("b_attempt", attempt_table.c.id),
        attempt_table.c.status == AttemptStatus.ENQUEUED.value,
    )
    .values(
        status=AttemptStatus.STARTED.value,
        started_at=_bind("b_now", attempt_table.c.started_at),
        worker=_bind("b_worker", attempt_table.c.worker),
    )
    .returning(attempt_table.c.post_id, attempt_table.c.channel_id)
)

_CHANNEL_COLUMNS = (
    channel_table.c.status,
    channel_table.c.platform,
    channel_table.c.account_id,
    channel_table.c.credentials_encrypted,
    channel_table.c.last_success_at,
)


def _context_columns(post_id: Any, attempt_id: Any) -> list[Any]:
    """The kill switch, the article's revision and the earlier attempts of this post."""
    a = attempt_table.c
    earlier = (a.post_id == post_id, a.id != attempt_id)
    budget_statuses = (
        AttemptStatus.RETRY.value,
        AttemptStatus.FAILED.value,
        AttemptStatus.UNKNOWN.value,
    )
    return [
        sa.select(service_state_table.c.value)
        .where(service_state_table.c.key == GLOBAL_PAUSE)
        .scalar_subquery()
        .label("pause"),
        sa.select(article_table.c.revision)
        .where(article_table.c.id == post_table.c.article_id, post_table.c.id == post_id)
        .scalar_subquery()
        .label("revision"),
        # Rate limits do not use up the retry budget: only count the other attempts.
        sa.select(sa.func.count())
        .select_from(attempt_table)
        .where(
            *earlier,
            _one_of(a.status, budget_statuses),
            sa.or_(
                a.error_class.is_(None),
                sa.and_(*(a.error_class != c.value for c in sorted(RATE_LIMIT_CLASSES))),
            ),
        )
        .scalar_subquery()
        .label("budget_used"),
        sa.select(sa.func.count())
        .select_from(attempt_table)
        .where(*earlier, a.error_class == ErrorClass.AMBIGUOUS.value)
        .scalar_subquery()
        .label("ambiguous"),
    ]


#: Everything the fence checks and the snapshot needs besides the post row, in one read.
CONTEXT = sa.select(
    *_CHANNEL_COLUMNS,
    *_context_columns(_bind("b_post", post_table.c.id), _bind("b_attempt", attempt_table.c.id)),
).where(channel_table.c.id == _bind("b_channel", channel_table.c.id))

# PostgreSQL: the fence and that read in one statement (a data-modifying CTE; SQLite has none).
_FENCED = FENCE.cte("fenced")
FENCE_CONTEXT_PG = sa.select(
    _FENCED.c.post_id,
    _FENCED.c.channel_id,
    *_CHANNEL_COLUMNS,
    *_context_columns(_FENCED.c.post_id, _bind("b_attempt", attempt_table.c.id)),
).select_from(_FENCED.outerjoin(channel_table, channel_table.c.id == _FENCED.c.channel_id))

POST_START = (
    sa.update(post_table)
    .where(
        post_table.c.id == _bind("b_post", post_table.c.id),
        post_table.c.status == PostStatus.QUEUED.value,
    )
    .values(
        status=PostStatus.PUBLISHING.value,
        lease_until=_bind("b_lease", post_table.c.lease_until),
        updated_at=_bind("b_now", post_table.c.updated_at),
    )
    .returning(
        post_table.c.article_id,
        post_table.c.platform,
        post_table.c.text,
        post_table.c.text_override,
        post_table.c.link,
        post_table.c.media,
        post_table.c.problems,
        post_table.c.warnings,
        post_table.c.weighted_length,
        post_table.c.platform_state,
        post_table.c.rendered_revision,
        post_table.c.parent_id,
    )
)

#: A follow-up is sent under its parent's platform id.  (Not a subquery in POST_START's
#: RETURNING: SQLite renders RETURNING columns unqualified, which would bind them to the alias.)
PARENT_EXTERNAL_ID = sa.select(post_table.c.external_id).where(
    post_table.c.id == _bind("b_parent", post_table.c.id),
    post_table.c.status == PostStatus.PUBLISHED.value,
)

POST_HOLD = (
    sa.update(post_table)
    .where(
        post_table.c.id == _bind("b_post", post_table.c.id),
        post_table.c.status == PostStatus.QUEUED.value,
    )
    .values(
        status=_bind("b_status", post_table.c.status),
        lease_until=None,
        next_attempt_at=None,
        updated_at=_bind("b_now", post_table.c.updated_at),
    )
)

SUPERSEDE = (
    sa.update(attempt_table)
    .where(attempt_table.c.id == _bind("b_attempt", attempt_table.c.id))
    .values(
        status=AttemptStatus.SUPERSEDED.value,
        finished_at=_bind("b_now", attempt_table.c.finished_at),
        message=_bind("b_message", attempt_table.c.message),
    )
)

# --- Between the fence and the outcome: re-render, progress. --------------------------------

ARTICLE_ROW = sa.select(article_table).where(
    article_table.c.id == _bind("b_article", article_table.c.id)
)
CHANNEL_SETTINGS = sa.select(channel_table.c.settings).where(
    channel_table.c.id == _bind("b_channel", channel_table.c.id)
)
POST_STATE = sa.select(post_table.c.platform_state).where(
    post_table.c.id == _bind("b_post", post_table.c.id)
)
SET_POST_STATE = (
    sa.update(post_table)
    .where(post_table.c.id == _bind("b_post", post_table.c.id))
    .values(platform_state=_bind("b_state", post_table.c.platform_state))
)

# --- The outcome. ------------------------------------------------------------------------------

CHANNEL_SUCCESS = (
    sa.update(channel_table)
    .where(
        channel_table.c.id == _bind("b_channel", channel_table.c.id),
        sa.or_(
            channel_table.c.last_success_at.is_(None),
            channel_table.c.last_success_at < _bind("b_since", channel_table.c.last_success_at),
        ),
    )
    .values(
        last_success_at=_bind("b_now", channel_table.c.last_success_at),
        rate_limit=_bind("b_rate_limit", channel_table.c.rate_limit),
    )
)

HOLD_CHANNEL_POSTS = (
    sa.update(post_table)
    .where(
        post_table.c.channel_id == _bind("b_channel", post_table.c.channel_id),
        _one_of(post_table.c.status, (PostStatus.SCHEDULED.value, PostStatus.RETRY_WAIT.value)),
    )
    .values(
        status=PostStatus.NEEDS_REAUTH.value,
        updated_at=_bind("b_now", post_table.c.updated_at),
    )
)

FINISHED_AT = sa.select(attempt_table.c.finished_at).where(
    attempt_table.c.id == _bind("b_attempt", attempt_table.c.id)
)

_TABLES = {"delivery_attempt": attempt_table, "post": post_table, "channel": channel_table}


@lru_cache(maxsize=64)
def update_by_id(table_name: str, keys: tuple[str, ...], allowed: tuple[str, ...] = ()) -> Any:
    """``UPDATE table SET keys… WHERE id = :b_<row> [AND status IN allowed]``, once per shape.

    The new values are bound as ``<prefix><column>`` (``VALUE_PREFIX``).
    """
    table = _TABLES[table_name]
    prefix = VALUE_PREFIX[table_name]
    stmt = sa.update(table).where(table.c.id == _bind(ROW_BIND[table_name], table.c.id))
    if allowed:
        stmt = stmt.where(_one_of(table.c.status, allowed))
    return stmt.values({k: _bind(prefix + k, table.c[k]) for k in keys})


@lru_cache(maxsize=64)
def outcome_statement_pg(
    attempt_keys: tuple[str, ...],
    attempt_from: tuple[str, ...],
    post_keys: tuple[str, ...],
    post_from: tuple[str, ...],
    channel_keys: tuple[str, ...],
    touch_channel: bool,
    hold: bool,
) -> Any:
    """The whole outcome as one PostgreSQL statement; its first column is 1 if it was recorded.

    ``WITH recorded AS (UPDATE delivery_attempt … RETURNING id), … UPDATE post … WHERE …
    AND EXISTS (SELECT FROM recorded) …``: every other write is conditional on the attempt
    update, exactly like the early return of the multi-statement form.  The CTEs touch
    disjoint rows (the post being recorded is never ``scheduled``/``retry_wait``).
    """
    recorded = (
        update_by_id("delivery_attempt", attempt_keys, attempt_from)
        .returning(attempt_table.c.id)
        .cte("recorded")
    )
    gate = sa.exists(sa.select(recorded.c.id))
    ctes = [
        recorded,
        update_by_id("post", post_keys, post_from)
        .where(gate)
        .returning(post_table.c.id)
        .cte("post_recorded"),
    ]
    if channel_keys:
        ctes.append(
            update_by_id("channel", channel_keys)
            .where(gate)
            .returning(channel_table.c.id)
            .cte("channel_recorded")
        )
    if touch_channel:
        ctes.append(
            CHANNEL_SUCCESS.where(gate).returning(channel_table.c.id).cte("channel_success")
        )
    if hold:
        ctes.append(HOLD_CHANNEL_POSTS.where(gate).returning(post_table.c.id).cte("posts_held"))
    # A data-modifying CTE always runs, but SQLAlchemy renders only those referenced.
    return sa.select(*(sa.select(sa.func.count()).select_from(c).scalar_subquery() for c in ctes))
