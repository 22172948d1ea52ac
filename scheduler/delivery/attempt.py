"""Delivering one attempt: fence, (re-)render if needed, publish, record the outcome.

Called by the ``deliver`` Celery task with the attempt id (which is also the task id).

1. **Fence**: flip the attempt ``enqueued → started`` and the post ``queued → publishing`` with
   compare-and-set updates.  Zero rows changed means a duplicate or stale message: stop, no I/O.
2. **Re-render** a post whose article changed after it was rendered, unless an editor edited it.
3. **Publish** through the channel's adapter (the only platform I/O); the Instagram container id
   is persisted the moment it is known.
4. **Record** the attempt, the post and the channel in one transaction, each update conditional
   on the state this worker set, so a late result never overwrites the reaper or a person.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from adapters import build_adapter
from adapters.base import ChannelSettings, Payload, PublishResult
from adapters.errors import (
    AuthExpiredError,
    DeliveryError,
    DuplicateContentError,
    PermanentError,
    RateLimitedError,
    RetryableError,
    UnknownOutcomeError,
)
from config import Settings
from scheduler.access.crypto import decrypt_credentials
from scheduler.db.engine import retry_on_disconnect, run_in_transaction
from scheduler.delivery.backoff import next_attempt_at
from scheduler.editorial.rendering import payload_from_post, render_for_channel
from scheduler.intake.articles import article_content
from scheduler.models import (
    Article,
    AttemptStatus,
    Channel,
    ChannelStatus,
    DeliveryAttempt,
    Post,
    PostStatus,
    ServiceState,
    utcnow,
)
from scheduler.ops.state import GLOBAL_PAUSE, pause_in_force
from scheduler.runtime.logs import get_logger, redact

log = get_logger(__name__)
# structlog runs its whole processor chain before the stdlib level check: skip it up front.
_stdlib_log = logging.getLogger(__name__)

RATE_LIMIT_CLASSES = frozenset({"rate_limited", "quota", "blocked"})
#: Channel health: a success older than this is refreshed (see record_attempt_outcome).
SUCCESS_REFRESH = timedelta(seconds=5)

# The hot path runs Core statements built once here: no ORM unit of work, no per-call statement
# construction, and SQLAlchemy's compiled cache (and psycopg's prepared statements) always hit.
_A: sa.Table = DeliveryAttempt.__table__  # type: ignore[attr-defined]
_P: sa.Table = Post.__table__  # type: ignore[attr-defined]
_C: sa.Table = Channel.__table__  # type: ignore[attr-defined]
_ART: sa.Table = Article.__table__  # type: ignore[attr-defined]
_S: sa.Table = ServiceState.__table__  # type: ignore[attr-defined]


def _bind(name: str, column: sa.Column[Any]) -> sa.BindParameter[Any]:
    return sa.bindparam(name, type_=column.type)


def _one_of(column: sa.Column[Any], values: tuple[str, ...]) -> Any:
    """``column IN (…)`` for a fixed list, without an expanding parameter to render per call."""
    return sa.or_(*(column == v for v in values))


_FENCE = (
    sa.update(_A)
    .where(_A.c.id == _bind("b_attempt", _A.c.id), _A.c.status == AttemptStatus.ENQUEUED.value)
    .values(
        status=AttemptStatus.STARTED.value,
        started_at=_bind("b_now", _A.c.started_at),
        worker=_bind("b_worker", _A.c.worker),
    )
    .returning(_A.c.post_id, _A.c.channel_id)
)

_CHANNEL_COLUMNS = (
    _C.c.status,
    _C.c.platform,
    _C.c.account_id,
    _C.c.credentials_encrypted,
    _C.c.last_success_at,
)


def _context_columns(post_id: Any, attempt_id: Any) -> list[Any]:
    """The kill switch, the article's revision and the earlier attempts of this post."""
    earlier = (_A.c.post_id == post_id, _A.c.id != attempt_id)
    return [
        sa.select(_S.c.value).where(_S.c.key == GLOBAL_PAUSE).scalar_subquery().label("pause"),
        sa.select(_ART.c.revision)
        .where(_ART.c.id == _P.c.article_id, _P.c.id == post_id)
        .scalar_subquery()
        .label("revision"),
        # Rate limits do not use up the retry budget: only count the other attempts.
        sa.select(sa.func.count())
        .select_from(_A)
        .where(
            *earlier,
            _one_of(
                _A.c.status,
                (
                    AttemptStatus.RETRY.value,
                    AttemptStatus.FAILED.value,
                    AttemptStatus.UNKNOWN.value,
                ),
            ),
            sa.or_(
                _A.c.error_class.is_(None),
                sa.and_(*(_A.c.error_class != c for c in sorted(RATE_LIMIT_CLASSES))),
            ),
        )
        .scalar_subquery()
        .label("budget_used"),
        sa.select(sa.func.count())
        .select_from(_A)
        .where(*earlier, _A.c.error_class == "ambiguous")
        .scalar_subquery()
        .label("ambiguous"),
    ]


# One round trip for everything the fence checks and the snapshot needs besides the post row.
_CONTEXT = sa.select(
    *_CHANNEL_COLUMNS,
    *_context_columns(_bind("b_post", _P.c.id), _bind("b_attempt", _A.c.id)),
).where(_C.c.id == _bind("b_channel", _C.c.id))

# PostgreSQL: the fence and that read in one statement (a data-modifying CTE; SQLite has none).
_FENCED = _FENCE.cte("fenced")
_FENCE_CONTEXT_PG = sa.select(
    _FENCED.c.post_id,
    _FENCED.c.channel_id,
    *_CHANNEL_COLUMNS,
    *_context_columns(_FENCED.c.post_id, _bind("b_attempt", _A.c.id)),
).select_from(_FENCED.outerjoin(_C, _C.c.id == _FENCED.c.channel_id))

_POST_START = (
    sa.update(_P)
    .where(_P.c.id == _bind("b_post", _P.c.id), _P.c.status == PostStatus.QUEUED.value)
    .values(
        status=PostStatus.PUBLISHING.value,
        lease_until=_bind("b_lease", _P.c.lease_until),
        updated_at=_bind("b_now", _P.c.updated_at),
    )
    .returning(
        _P.c.article_id,
        _P.c.platform,
        _P.c.text,
        _P.c.text_override,
        _P.c.link,
        _P.c.media,
        _P.c.problems,
        _P.c.warnings,
        _P.c.weighted_length,
        _P.c.platform_state,
        _P.c.rendered_revision,
    )
)

_POST_HOLD = (
    sa.update(_P)
    .where(_P.c.id == _bind("b_post", _P.c.id), _P.c.status == PostStatus.QUEUED.value)
    .values(
        status=_bind("b_status", _P.c.status),
        lease_until=None,
        next_attempt_at=None,
        updated_at=_bind("b_now", _P.c.updated_at),
    )
)

_SUPERSEDE = (
    sa.update(_A)
    .where(_A.c.id == _bind("b_attempt", _A.c.id))
    .values(
        status=AttemptStatus.SUPERSEDED.value,
        finished_at=_bind("b_now", _A.c.finished_at),
        message=_bind("b_message", _A.c.message),
    )
)

_CHANNEL_SUCCESS = (
    sa.update(_C)
    .where(
        _C.c.id == _bind("b_channel", _C.c.id),
        sa.or_(
            _C.c.last_success_at.is_(None),
            _C.c.last_success_at < _bind("b_since", _C.c.last_success_at),
        ),
    )
    .values(
        last_success_at=_bind("b_now", _C.c.last_success_at),
        rate_limit=_bind("b_rate_limit", _C.c.rate_limit),
    )
)

_HOLD_CHANNEL_POSTS = (
    sa.update(_P)
    .where(
        _P.c.channel_id == _bind("b_channel", _P.c.channel_id),
        _one_of(_P.c.status, (PostStatus.SCHEDULED.value, PostStatus.RETRY_WAIT.value)),
    )
    .values(status=PostStatus.NEEDS_REAUTH.value, updated_at=_bind("b_now", _P.c.updated_at))
)

_POST_STATE = sa.select(_P.c.platform_state).where(_P.c.id == _bind("b_post", _P.c.id))
_SET_POST_STATE = (
    sa.update(_P)
    .where(_P.c.id == _bind("b_post", _P.c.id))
    .values(platform_state=_bind("b_state", _P.c.platform_state))
)


@lru_cache(maxsize=64)
def _outcome_update(table_name: str, keys: tuple[str, ...], allowed: tuple[str, ...]) -> Any:
    """``UPDATE table SET keys… WHERE id = :b_id [AND status IN allowed]``, built once per shape."""
    table = {"delivery_attempt": _A, "post": _P, "channel": _C}[table_name]
    stmt = sa.update(table).where(table.c.id == _bind("b_id", table.c.id))
    if allowed:
        stmt = stmt.where(_one_of(table.c.status, allowed))
    return stmt.values({k: _bind("v_" + k, table.c[k]) for k in keys})


def _execute_update(
    conn: Connection,
    table_name: str,
    row_id: uuid.UUID,
    values: dict[str, Any],
    allowed: tuple[str, ...] = (),
) -> int:
    keys = tuple(sorted(values))
    params = {"b_id": row_id, **{"v_" + k: values[k] for k in keys}}
    result = conn.execute(_outcome_update(table_name, keys, allowed), params)
    return int(result.rowcount)


@lru_cache(maxsize=64)
def _outcome_statement_pg(
    attempt_keys: tuple[str, ...],
    allowed: tuple[str, ...],
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
        sa.update(_A)
        .where(_A.c.id == _bind("b_attempt", _A.c.id), _one_of(_A.c.status, allowed))
        .values({k: _bind("va_" + k, _A.c[k]) for k in attempt_keys})
        .returning(_A.c.id)
        .cte("recorded")
    )
    gate = sa.exists(sa.select(recorded.c.id))
    ctes = [
        recorded,
        sa.update(_P)
        .where(_P.c.id == _bind("b_post", _P.c.id), _one_of(_P.c.status, post_from), gate)
        .values({k: _bind("vp_" + k, _P.c[k]) for k in post_keys})
        .returning(_P.c.id)
        .cte("post_recorded"),
    ]
    if channel_keys:
        ctes.append(
            sa.update(_C)
            .where(_C.c.id == _bind("b_channel", _C.c.id), gate)
            .values({k: _bind("vc_" + k, _C.c[k]) for k in channel_keys})
            .returning(_C.c.id)
            .cte("channel_recorded")
        )
    if touch_channel:
        ctes.append(_CHANNEL_SUCCESS.where(gate).returning(_C.c.id).cte("channel_success"))
    if hold:
        ctes.append(_HOLD_CHANNEL_POSTS.where(gate).returning(_P.c.id).cte("posts_held"))
    # A data-modifying CTE always runs, but SQLAlchemy renders only those referenced.
    return sa.select(*(sa.select(sa.func.count()).select_from(c).scalar_subquery() for c in ctes))


_CREDENTIALS: dict[tuple[str, ...], dict[str, str]] = {}


def _credentials(ciphertext: str, settings: Settings) -> dict[str, str]:
    """Decrypted channel credentials, memoised per ciphertext and keys (reconnecting or
    rotating yields a new ciphertext, so a stale entry is never used)."""
    key = (
        ciphertext,
        settings.secret_key.get_secret_value(),
        *(k.get_secret_value() for k in settings.encryption_keys),
    )
    found = _CREDENTIALS.get(key)
    if found is None:
        found = decrypt_credentials(ciphertext, settings=settings)
        if len(_CREDENTIALS) > 256:
            _CREDENTIALS.clear()
        _CREDENTIALS[key] = found
    return dict(found)


@dataclass(frozen=True)
class _Snapshot:
    """What one delivery needs, read inside the fencing transaction."""

    post_id: uuid.UUID
    channel_id: uuid.UUID
    article_id: uuid.UUID
    platform: str
    account_id: str
    credentials: dict[str, str]
    payload: Payload
    state: dict[str, Any]
    attempt_number: int
    had_ambiguous: bool
    stale: bool
    revision: int
    last_success_at: datetime | None


def _start_attempt(
    engine: Engine,
    attempt_id: uuid.UUID,
    *,
    settings: Settings,
    worker: str,
    now: datetime,
) -> _Snapshot | None:
    """Fence: start the attempt exactly once and load what the call needs, in one transaction.

    None means a stale or duplicate message, or a post held by a pause since it was claimed.
    Three statements (two on PostgreSQL): the fence, one read of the context, the conditional
    post update.  A pooled connection found dead before the commit is replaced and the
    transaction run again; one lost during the commit raises (nothing was sent: the leases and
    the reaper settle the post whichever way the commit went).
    """
    return run_in_transaction(
        engine,
        lambda conn: _fence(conn, attempt_id, settings=settings, worker=worker, now=now),
    )


def _fence(
    conn: Connection,
    attempt_id: uuid.UUID,
    *,
    settings: Settings,
    worker: str,
    now: datetime,
) -> _Snapshot | None:
    fence = {"b_attempt": attempt_id, "b_now": now, "b_worker": worker[:200]}
    ctx: Any
    if conn.dialect.name == "postgresql":
        ctx = conn.execute(_FENCE_CONTEXT_PG, fence).first()
        if ctx is None:
            return None
        post_id, channel_id = ctx.post_id, ctx.channel_id
        if ctx.status is None:  # no such channel
            ctx = None
    else:
        started = conn.execute(_FENCE, fence).first()
        if started is None:
            return None
        post_id, channel_id = started
        ctx = conn.execute(
            _CONTEXT, {"b_post": post_id, "b_attempt": attempt_id, "b_channel": channel_id}
        ).first()
    paused = ctx is None or pause_in_force(ctx.pause, now)
    if paused or ctx is None or ctx.status != ChannelStatus.ACTIVE:
        # The kill switch or a channel pause came after the claim: do not publish.
        back = (
            PostStatus.SCHEDULED
            if paused or ctx is None
            else (
                PostStatus.HELD if ctx.status == ChannelStatus.PAUSED else PostStatus.NEEDS_REAUTH
            )
        )
        conn.execute(_POST_HOLD, {"b_post": post_id, "b_status": back.value, "b_now": now})
        _supersede(conn, attempt_id, now, "held: paused before delivery started")
        return None
    post = conn.execute(
        _POST_START,
        {
            "b_post": post_id,
            "b_now": now,
            "b_lease": now + timedelta(seconds=settings.publish_lease_seconds),
        },
    ).first()
    if post is None:
        # The post left `queued` (cancelled, rescheduled): this attempt is void.
        _supersede(conn, attempt_id, now, "post changed before delivery started")
        return None
    return _Snapshot(
        post_id=post_id,
        channel_id=channel_id,
        article_id=post.article_id,
        platform=str(ctx.platform),
        account_id=ctx.account_id,
        credentials=_credentials(ctx.credentials_encrypted, settings),
        payload=payload_from_post(post),  # type: ignore[arg-type]
        state=dict(post.platform_state or {}),
        attempt_number=1 + int(ctx.budget_used),
        had_ambiguous=int(ctx.ambiguous) > 0,
        stale=ctx.revision != post.rendered_revision and post.text_override is None,
        revision=ctx.revision,
        last_success_at=ctx.last_success_at,
    )


def _supersede(conn: Connection, attempt_id: uuid.UUID, now: datetime, why: str) -> None:
    conn.execute(_SUPERSEDE, {"b_attempt": attempt_id, "b_now": now, "b_message": why})


def _refresh_stale(
    engine: Engine, snap: _Snapshot, *, settings: Settings, client: httpx.Client
) -> Payload | str:
    """Re-render a post whose article was corrected after rendering; a string is a refusal."""
    article, raw_settings = run_in_transaction(
        engine,
        lambda conn: (
            conn.execute(sa.select(_ART).where(_ART.c.id == snap.article_id)).one(),
            conn.execute(sa.select(_C.c.settings).where(_C.c.id == snap.channel_id)).scalar_one(),
        ),
    )
    payload = render_for_channel(
        article_content(article),  # type: ignore[arg-type]
        snap.platform,
        ChannelSettings.from_stored(raw_settings),
        settings=settings,
        client=client,
    )
    if payload.problems:
        return "The corrected article cannot be posted as it is: " + " ".join(payload.problems)
    rendered = dict(
        text=payload.text,
        link=payload.link,
        media=[m.as_dict() for m in payload.media],
        warnings=payload.warnings,
        weighted_length=payload.weighted_length,
        fingerprint=payload.fingerprint,
        rendered_revision=snap.revision,
    )
    run_in_transaction(engine, lambda conn: _execute_update(conn, "post", snap.post_id, rendered))
    return payload


def _progress_saver(engine: Engine, post_id: uuid.UUID) -> Any:
    def merge(conn: Connection, update: dict[str, Any]) -> None:
        current = conn.execute(_POST_STATE, {"b_post": post_id}).first()
        if current is not None:
            state = dict(current.platform_state or {})
            state.update(update)
            conn.execute(
                _SET_POST_STATE,
                {"b_post": post_id, "b_state": {k: v for k, v in state.items() if v is not None}},
            )

    def save(update: dict[str, Any]) -> None:
        # Persist platform ids (the Instagram container) the moment they are known.
        run_in_transaction(engine, lambda conn: merge(conn, update))

    return save


def deliver_attempt(
    *,
    engine: Engine,
    attempt_id: uuid.UUID,
    settings: Settings,
    client: httpx.Client,
    worker: str = "worker",
) -> str:
    """Deliver one attempt end to end; returns the outcome (for logs and tests)."""
    now = utcnow()
    try:
        snap = _start_attempt(engine, attempt_id, settings=settings, worker=worker, now=now)
    except Exception:
        log.error("attempt_start_failed", attempt_id=str(attempt_id), exc_info=True)
        raise  # nothing was sent; the lease expires and the reaper handles the post
    if snap is None:
        log.info("attempt_fenced", attempt_id=str(attempt_id))
        return "stale"
    outcome: dict[str, Any] = dict(
        engine=engine,
        attempt_id=attempt_id,
        post_id=snap.post_id,
        channel_id=snap.channel_id,
        settings=settings,
        channel_last_success_at=snap.last_success_at,
    )
    payload = snap.payload
    try:
        if snap.stale:
            refreshed = _refresh_stale(engine, snap, settings=settings, client=client)
            if isinstance(refreshed, str):
                return record_attempt_outcome(
                    **outcome,
                    error=PermanentError(refreshed),
                    latency_ms=0,
                    to_draft=True,
                )
            payload = refreshed
    except Exception as exc:  # nothing was sent: a readable failure, retried with back-off
        err = RetryableError(
            f"Preparing the post failed before sending: {type(exc).__name__}: "
            f"{redact(str(exc))[:300]}"
        )
        return record_attempt_outcome(
            **outcome,
            error=err,
            latency_ms=0,
            attempt_number=snap.attempt_number,
        )
    if payload.problems:
        refusal = "The post has problems to fix first: " + " ".join(payload.problems)
        return record_attempt_outcome(
            **outcome,
            error=PermanentError(refusal),
            latency_ms=0,
            to_draft=True,
        )
    adapter = build_adapter(snap.platform, settings=settings, client=client)
    started = time.perf_counter()
    result: PublishResult | None = None
    error: DeliveryError | None = None
    try:
        result = adapter.publish(
            payload,
            snap.credentials,
            account_id=snap.account_id,
            state=snap.state,
            on_progress=_progress_saver(engine, snap.post_id),
        )
    except DuplicateContentError as exc:
        # After an ambiguous attempt a "duplicate" most likely means our own earlier post.
        error = (
            UnknownOutcomeError(
                exc.message, http_status=exc.http_status, code=exc.code, subcode=exc.subcode
            )
            if snap.had_ambiguous
            else exc
        )
    except DeliveryError as exc:
        error = exc
    except Exception as exc:  # an unexpected bug mid-call: the request may have gone out
        error = UnknownOutcomeError(
            f"Unexpected error during the platform call: "
            f"{type(exc).__name__}: {redact(str(exc))[:300]}"
        )
    latency_ms = int((time.perf_counter() - started) * 1000)
    return record_attempt_outcome(
        **outcome,
        result=result,
        error=error,
        latency_ms=latency_ms,
        attempt_number=snap.attempt_number,
    )


def record_attempt_outcome(
    *,
    engine: Engine,
    attempt_id: uuid.UUID,
    post_id: uuid.UUID,
    channel_id: uuid.UUID,
    settings: Settings,
    result: PublishResult | None = None,
    error: DeliveryError | None = None,
    latency_ms: int,
    attempt_number: int = 1,
    to_draft: bool = False,
    channel_last_success_at: datetime | None = None,
) -> str:
    """Write the attempt, the post and the channel in one transaction; returns the outcome.

    ``channel_last_success_at`` is the channel's value read at the fence: when it is already
    recent the health update (a no-op then) is not even sent.
    """
    now = utcnow()
    attempt_values: dict[str, Any] = {"finished_at": now, "latency_ms": latency_ms}
    post_values: dict[str, Any] = {"lease_until": None, "updated_at": now}
    channel_values: dict[str, Any] = {}
    success_rate_limit: dict[str, Any] | None = None
    if result is not None:
        outcome = "published"
        attempt_values.update(
            status=AttemptStatus.SUCCEEDED,
            http_status=result.http_status,
            rate_limit=result.rate_limit,
            external_id=result.external_id,
            message="published",
        )
        post_values.update(
            status=PostStatus.PUBLISHED,
            external_id=result.external_id,
            external_url=result.external_url,
            published_at=now,
            last_error=None,
            next_attempt_at=None,
        )
        success_rate_limit = result.rate_limit
    else:
        assert error is not None
        message = redact(error.message)[:2000]
        attempt_values.update(
            http_status=error.http_status,
            error_code=error.code,
            error_subcode=error.subcode,
            error_class=error.error_class,
            rate_limit=error.rate_limit,
            message=message,
        )
        post_values["last_error"] = message
        channel_values.update(last_error_at=now, last_error=message)
        if error.rate_limit:
            channel_values["rate_limit"] = error.rate_limit
        if isinstance(error, UnknownOutcomeError):
            outcome = "unknown"
            attempt_values["status"] = AttemptStatus.UNKNOWN
            post_values["status"] = PostStatus.UNKNOWN
        elif isinstance(error, AuthExpiredError):
            outcome = "needs_reauth"
            attempt_values["status"] = AttemptStatus.FAILED
            post_values["status"] = PostStatus.NEEDS_REAUTH
            channel_values.update(status=ChannelStatus.NEEDS_REAUTH, status_reason=message)
        elif isinstance(error, RateLimitedError):
            # Rate limits do not use up the attempt budget: the platform told us when.
            outcome = "retry_wait"
            attempt_values["status"] = AttemptStatus.RETRY
            due = next_attempt_at(
                now,
                1,
                base=settings.backoff_base_seconds,
                cap=settings.backoff_max_seconds,
                reset_at=error.reset_at
                or now + timedelta(seconds=settings.rate_limit_fallback_seconds),
            )
            post_values.update(status=PostStatus.RETRY_WAIT, next_attempt_at=due)
            channel_values["rate_limited_until"] = error.reset_at
        elif isinstance(error, RetryableError) and attempt_number < settings.max_attempts:
            outcome = "retry_wait"
            attempt_values["status"] = AttemptStatus.RETRY
            post_values.update(
                status=PostStatus.RETRY_WAIT,
                next_attempt_at=next_attempt_at(
                    now,
                    attempt_number,
                    base=settings.backoff_base_seconds,
                    cap=settings.backoff_max_seconds,
                ),
            )
        else:
            outcome = "draft" if to_draft else "failed"
            attempt_values["status"] = AttemptStatus.FAILED
            if isinstance(error, RetryableError):
                post_values["last_error"] = (
                    f"Gave up after {attempt_number} attempts. Last error: {message}"
                )[:2000]
            post_values["status"] = PostStatus.DRAFT if to_draft else PostStatus.FAILED
    # A late success is still recorded after the reaper declared the attempt unknown.
    allowed = (AttemptStatus.STARTED.value,) + ((AttemptStatus.UNKNOWN.value,) if result else ())
    post_from = (PostStatus.PUBLISHING.value,) + (
        (PostStatus.UNKNOWN.value, PostStatus.NEEDS_REVIEW.value) if result else ()
    )
    since = now - SUCCESS_REFRESH
    # Every success on a channel would otherwise update (and lock) the same row and serialise
    # the workers; a few seconds of staleness in channel health is fine.
    touch_channel = success_rate_limit is not None and (
        channel_last_success_at is None or channel_last_success_at < since
    )
    # Hold the channel's other waiting posts too; reconnecting releases them.
    hold = outcome == "needs_reauth"
    postgresql = engine.dialect.name == "postgresql"
    if postgresql:
        # One statement (data-modifying CTEs, each gated on the attempt update), run in
        # autocommit: atomic on its own, and no BEGIN/COMMIT round trips.
        stmt = _outcome_statement_pg(
            tuple(sorted(attempt_values)),
            allowed,
            tuple(sorted(post_values)),
            post_from,
            tuple(sorted(channel_values)),
            touch_channel,
            hold,
        )
        params: dict[str, Any] = {
            "b_attempt": attempt_id,
            "b_post": post_id,
            "b_channel": channel_id,
            "b_now": now,
            "b_since": since,
            "b_rate_limit": success_rate_limit,
        }
        params.update({"va_" + k: v for k, v in attempt_values.items()})
        params.update({"vp_" + k: v for k, v in post_values.items()})
        params.update({"vc_" + k: v for k, v in channel_values.items()})

    def write() -> int:
        with engine.connect() as conn:
            if postgresql:
                conn.execution_options(isolation_level="AUTOCOMMIT")
                return int(conn.execute(stmt, params).scalar_one())
            with conn.begin():
                recorded = _execute_update(
                    conn, "delivery_attempt", attempt_id, attempt_values, allowed
                )
                if recorded:
                    _execute_update(conn, "post", post_id, post_values, post_from)
                    if channel_values:
                        _execute_update(conn, "channel", channel_id, channel_values)
                    if touch_channel:
                        conn.execute(
                            _CHANNEL_SUCCESS,
                            {
                                "b_channel": channel_id,
                                "b_since": since,
                                "b_now": now,
                                "b_rate_limit": success_rate_limit,
                            },
                        )
                    if hold:
                        conn.execute(_HOLD_CHANNEL_POSTS, {"b_channel": channel_id, "b_now": now})
                return recorded

    recorded = retry_on_disconnect(write)
    if not recorded:
        # A first try that committed before its connection died left this very finish time.
        with engine.connect() as conn:
            finished = conn.execute(
                sa.select(_A.c.finished_at).where(_A.c.id == attempt_id)
            ).scalar_one_or_none()
        recorded = int(finished == now)
    if not recorded:
        log.warning("outcome_dropped", attempt_id=str(attempt_id), outcome=outcome)
        return "stale"
    if _stdlib_log.isEnabledFor(logging.INFO):
        log.info(
            "attempt_recorded",
            attempt_id=str(attempt_id),
            post_id=str(post_id),
            channel_id=str(channel_id),
            outcome=outcome,
            latency_ms=latency_ms,
            error_class=error.error_class if error else None,
        )
    return outcome
