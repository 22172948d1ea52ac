"""API routes for ops: the delivery log (paged and live), channel health and control, the
global kill switch and the audit trail.  Admin keys pass every ops check too."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from scheduler.access.auth import Principal
from scheduler.api.deps import (
    AnyRoleDep,
    EngineDep,
    OpsDep,
    SessionDep,
    SettingsDep,
    current_principal,
    require,
)
from scheduler.api.errors import ApiError
from scheduler.api.paging import CHANNEL_FILTER_PATTERN, Cursor
from scheduler.api.schemas.ops import (
    PROBLEMS,
    AuditPage,
    ChannelHealth,
    ChannelList,
    DeliveryPage,
    PauseIn,
    PauseState,
    ReasonIn,
    UtcDatetime,
)
from scheduler.channels import (
    ChannelConflict,
    get_channel,
    mark_reconnected,
    pause_channel,
    resume_channel,
)
from scheduler.db.cursors import InvalidCursor, decode_cursor
from scheduler.db.engine import session_scope
from scheduler.models import AttemptStatus, Channel, Role, utcnow
from scheduler.ops.audit import AuditFilter, page_audit_events
from scheduler.ops.channel_health import channel_health, one_channel_health
from scheduler.ops.delivery_log import (
    Delivery,
    DeliveryFilter,
    finished_after,
    finished_late,
    page_deliveries,
)
from scheduler.ops.state import global_pause, lift_global_pause, set_global_pause

router = APIRouter(tags=["ops"], responses=PROBLEMS)

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: PROBLEMS[401] | {"description": "Not found"}}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: PROBLEMS[401] | {"description": "The channel's state does not allow this"}
}
_ops_only = require(Role.OPS)
HEARTBEAT_SECONDS = 15.0
POLL_SECONDS = 1.0
#: Re-read window for attempts whose commit lands after later-stamped ones (see finished_late).
LATE_COMMIT_WINDOW = timedelta(seconds=5)

ChannelFilter = Annotated[
    str | None,
    Query(
        description="Platform (x, instagram, facebook) or a channel id",
        pattern=CHANNEL_FILTER_PATTERN,
    ),
]
ErrorClass = Annotated[str | None, Query(pattern=r"^[a-z_]{1,30}$")]
Limit = Annotated[int, Query(ge=1, le=200)]


def _bad_cursor(exc: InvalidCursor) -> ApiError:
    return ApiError(422, "Invalid input", str(exc), errors=[f"cursor: {exc}"])


@router.get("/deliveries", response_model=DeliveryPage)
def list_deliveries(
    session: SessionDep,
    settings: SettingsDep,
    _: OpsDep,
    status: AttemptStatus | None = None,
    channel: ChannelFilter = None,
    error_class: ErrorClass = None,
    since: Annotated[UtcDatetime | None, Query(alias="from")] = None,
    until: Annotated[UtcDatetime | None, Query(alias="to")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> dict[str, Any]:
    """The delivery log, newest first: every attempt with its outcome and reason."""
    flt = DeliveryFilter(
        status=status.value if status else None,
        channel=channel,
        error_class=error_class,
        since=since,
        until=until,
    )
    try:
        rows, next_cursor = page_deliveries(
            session=session,
            flt=flt,
            limit=limit,
            cursor=cursor,
            tz=settings.newsroom_timezone,
            max_attempts=settings.max_attempts,
        )
    except InvalidCursor as exc:
        raise _bad_cursor(exc) from None
    return {"deliveries": rows, "next_cursor": next_cursor}


def _sse(row: Delivery, event_id: str) -> str:
    data = json.dumps(row.model_dump(), ensure_ascii=False, separators=(",", ":"))
    return f"id: {event_id}\nevent: delivery\ndata: {data}\n\n"


class _Tail:
    """Follows finished attempts from a position, de-duplicating late commits by id."""

    def __init__(self, engine: Engine, after: tuple[datetime, uuid.UUID] | None) -> None:
        self.engine = engine
        self.after = after
        self.seen: dict[str, datetime] = {}

    def poll(self, *, backlog: bool) -> list[tuple[Delivery, str]]:
        with session_scope(self.engine) as session:
            rows = finished_after(session=session, after=self.after)
            if not backlog and self.after is not None:
                late = finished_late(session=session, after=self.after, window=LATE_COMMIT_WINDOW)
                rows = [r for r in late if r[0].id not in self.seen] + rows
        fresh = [r for r in rows if r[0].id not in self.seen]
        for row, cursor in fresh:
            assert row.finished_at is not None  # the tail reads finished attempts only
            at = datetime.fromisoformat(row.finished_at)
            self.seen[row.id] = at
            position = decode_cursor(cursor)
            if self.after is None or position > self.after:
                self.after = position
        if self.after is not None:
            horizon = self.after[0] - LATE_COMMIT_WINDOW * 2
            self.seen = {k: v for k, v in self.seen.items() if v >= horizon}
        return fresh


async def _delivery_events(
    request: Request, tail: _Tail, max_seconds: float | None
) -> AsyncIterator[str]:
    started = last_sent = time.monotonic()
    backlog = True
    yield ": connected\n\n"
    while True:
        for row, cursor in await run_in_threadpool(tail.poll, backlog=backlog):
            yield _sse(row, cursor)
            last_sent = time.monotonic()
        backlog = False
        now = time.monotonic()
        if max_seconds is not None and now - started >= max_seconds:
            return
        if now - last_sent >= HEARTBEAT_SECONDS:
            # A comment line keeps proxies from closing an idle connection.
            yield ": heartbeat\n\n"
            last_sent = now
        await asyncio.sleep(POLL_SECONDS)
        if await request.is_disconnected():
            return


def stream_principal(request: Request, engine: EngineDep) -> Principal:
    """Ops authentication in a session closed before streaming starts.

    The shared session dependency is only committed when the response ends; on SQLite its
    ``BEGIN IMMEDIATE`` (and the key's ``last_used_at`` write) would then hold the database's
    write lock for as long as the stream stays open and stall every worker.
    """
    with session_scope(engine) as session:
        principal = current_principal(request, session)
    return _ops_only(principal)


@router.get(
    "/deliveries/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"}},
)
async def stream_deliveries(
    request: Request,
    engine: EngineDep,
    _: Annotated[Principal, Depends(stream_principal)],
    after: Annotated[
        str | None, Query(max_length=300, description="Resume after this event id")
    ] = None,
    last_event_id: Annotated[str | None, Header(max_length=300)] = None,
    max_seconds: Annotated[float | None, Query(gt=0, le=86400)] = None,
) -> StreamingResponse:
    """Finished attempts as Server-Sent Events (``event: delivery``), oldest first.

    With ``Last-Event-ID`` (or ``?after=``) the backlog after that event comes first; without,
    only attempts finishing from now on.  A comment line is sent every 15 s when idle.
    """
    resume = last_event_id or after
    position: tuple[datetime, uuid.UUID] | None
    try:
        position = decode_cursor(resume) if resume else (utcnow(), uuid.UUID(int=0))
    except InvalidCursor as exc:
        raise _bad_cursor(exc) from None
    return StreamingResponse(
        _delivery_events(request, _Tail(engine, position), max_seconds),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/channels", response_model=ChannelList)
def list_channels(session: SessionDep, settings: SettingsDep, _: OpsDep) -> dict[str, Any]:
    """Every channel's health: status, last success and error, rate limits, posts by status."""
    return {"channels": channel_health(session=session, settings=settings)}


def _health(session: Any, channel: Channel) -> ChannelHealth:
    return one_channel_health(session=session, channel=channel)


@router.post(
    "/channels/{channel_id}/pause",
    response_model=ChannelHealth,
    responses={**NOT_FOUND, **CONFLICT},
)
def pause(
    channel_id: uuid.UUID, body: ReasonIn, session: SessionDep, principal: AnyRoleDep
) -> ChannelHealth:
    """Hold the channel's scheduled posts until it is resumed (editors may, like the kill
    switch: the per-channel pause is the kill switch for one account)."""
    channel = get_channel(session=session, channel_id=channel_id)
    try:
        pause_channel(session=session, channel=channel, reason=body.reason, actor=principal.actor)
    except ChannelConflict as exc:
        raise ApiError(409, "Conflict", str(exc)) from None
    session.flush()
    return _health(session, channel)


@router.post(
    "/channels/{channel_id}/resume",
    response_model=ChannelHealth,
    responses={**NOT_FOUND, **CONFLICT},
)
def resume(channel_id: uuid.UUID, session: SessionDep, principal: AnyRoleDep) -> ChannelHealth:
    """Release the channel's held posts back to their schedule."""
    channel = get_channel(session=session, channel_id=channel_id)
    try:
        resume_channel(session=session, channel=channel, actor=principal.actor)
    except ChannelConflict as exc:
        raise ApiError(409, "Conflict", str(exc)) from None
    session.flush()
    return _health(session, channel)


@router.post(
    "/channels/{channel_id}/reconnected",
    response_model=ChannelHealth,
    responses={**NOT_FOUND, **CONFLICT},
)
def reconnected(channel_id: uuid.UUID, session: SessionDep, principal: OpsDep) -> ChannelHealth:
    """The account was re-authorised: mark the channel active and release its waiting posts."""
    channel = get_channel(session=session, channel_id=channel_id)
    try:
        mark_reconnected(session=session, channel=channel, actor=principal.actor)
    except ChannelConflict as exc:
        raise ApiError(409, "Conflict", str(exc)) from None
    session.flush()
    return _health(session, channel)


def _pause_state(session: Any) -> dict[str, Any]:
    state = global_pause(session=session)
    return {"active": False} if state is None else state


@router.get("/pause", response_model=PauseState)
def get_pause(session: SessionDep, _: AnyRoleDep) -> dict[str, Any]:
    """The global kill switch (editors may pull it too: DESIGN.md, "pause everything")."""
    return _pause_state(session)


@router.post("/pause", response_model=PauseState)
def start_pause(body: PauseIn, session: SessionDep, principal: AnyRoleDep) -> dict[str, Any]:
    """Stop all dispatching until lifted (or until ``until``); held posts stay held."""
    if body.until is not None and body.until <= utcnow():
        raise ApiError(
            422,
            "Invalid input",
            "until is in the past; give a future time or null for an open-ended pause.",
            errors=["until: must be in the future"],
        )
    return set_global_pause(
        session=session, actor=principal.actor, reason=body.reason, until=body.until
    )


@router.delete("/pause", response_model=PauseState)
def end_pause(session: SessionDep, principal: AnyRoleDep) -> dict[str, Any]:
    """Lift the kill switch: due posts go out on the next tick."""
    lift_global_pause(session=session, actor=principal.actor)
    return {"active": False}


@router.get("/audit", response_model=AuditPage)
def list_audit(
    session: SessionDep,
    _: OpsDep,
    post_id: uuid.UUID | None = None,
    channel_id: uuid.UUID | None = None,
    actor: Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00-\x1f]+$")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> dict[str, Any]:
    """Who did what to which post or channel, newest first."""
    flt = AuditFilter(post_id=post_id, channel_id=channel_id, actor=actor)
    try:
        events, next_cursor = page_audit_events(
            session=session, flt=flt, limit=limit, cursor=cursor
        )
    except InvalidCursor as exc:
        raise _bad_cursor(exc) from None
    return {"events": events, "next_cursor": next_cursor}
