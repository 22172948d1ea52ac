"""Ops pages: the live delivery log, channel health and reconnection, and the kill switch."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from scheduler.api.deps import SessionDep, SettingsDep
from scheduler.channels import ChannelConflict, get_channel, mark_reconnected
from scheduler.db.cursors import InvalidCursor, decode_cursor
from scheduler.editorial.lifecycle import RETRYABLE
from scheduler.models import AttemptStatus, PostStatus
from scheduler.ops.delivery_groups import delivery_entries
from scheduler.ops.state import global_pause, lift_global_pause, set_global_pause
from scheduler.web.deps import ActionUser, CsrfDep, OpsUser, env, flash, redirect, render
from scheduler.web.queries import channel_health_rows, channel_options

router = APIRouter()

LOG_SIZE = 50
ATTEMPT_STATUSES = [s.value for s in AttemptStatus]


def _log_context(
    *,
    session: SessionDep,
    settings: SettingsDep,
    status: str | None,
    channel: str | None,
    before: str | None,
) -> dict[str, Any]:
    status_value = status if status in ATTEMPT_STATUSES else None
    try:
        channel_value = str(uuid.UUID(channel)) if channel else None
    except ValueError:
        channel_value = None
    try:
        if before:
            decode_cursor(before)
        page_error = None
    except InvalidCursor:
        before = None  # a mangled "older" link: say so and show the newest page
        page_error = "That page link is not valid any more; showing the newest deliveries."
    entries, older = delivery_entries(
        session=session,
        tz=settings.newsroom_timezone,
        max_attempts=settings.max_attempts,
        status=status_value,
        channel_id=uuid.UUID(channel_value) if channel_value else None,
        cursor=before,
        limit=LOG_SIZE,
    )
    # A needs_review post may be live: it is retried from its card, once a person checked.
    retryable = {str(s) for s in RETRYABLE} - {PostStatus.NEEDS_REVIEW.value}
    return {
        "entries": entries,
        "can_retry": {e.post_id for e in entries if e.post_status in retryable},
        "status": status_value or "",
        "channel": channel_value or "",
        "before": before or "",
        "older": older,
        "page_error": page_error,
        "newsroom_tz": settings.newsroom_timezone,
    }


StatusQ = Annotated[str | None, Query(max_length=32)]
ChannelQ = Annotated[str | None, Query(max_length=64)]
BeforeQ = Annotated[str | None, Query(max_length=200)]


@router.get("/deliveries", response_class=HTMLResponse)
def deliveries(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: OpsUser,
    status: StatusQ = None,
    channel: ChannelQ = None,
    before: BeforeQ = None,
) -> HTMLResponse:
    context = _log_context(
        session=session, settings=settings, status=status, channel=channel, before=before
    )
    health = channel_health_rows(session=session, settings=settings)
    return render(
        request,
        "deliveries.html",
        session=session,
        channels=channel_options(session=session),
        health=health,
        needs_reauth=[c for c in health if c.status == "needs_reauth"],
        statuses=ATTEMPT_STATUSES,
        **context,
    )


@router.get("/deliveries/rows", response_class=HTMLResponse)
def delivery_rows(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: OpsUser,
    status: StatusQ = None,
    channel: ChannelQ = None,
) -> HTMLResponse:
    """The log's table body, polled by the page every few seconds (its newest page only)."""
    context = _log_context(
        session=session, settings=settings, status=status, channel=channel, before=None
    )
    html = env.get_template("_delivery_rows.html").render(
        csrf_token=request.scope.get("session", {}).get("csrf", ""), **context
    )
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


@router.post("/channels/{channel_id}/reconnected", dependencies=[CsrfDep])
def channel_reconnected(
    channel_id: uuid.UUID, request: Request, session: SessionDep, user: OpsUser
) -> RedirectResponse:
    channel = get_channel(session=session, channel_id=channel_id)  # NotFound: the 404 page
    try:
        mark_reconnected(session=session, channel=channel, actor=user.actor)
    except ChannelConflict as exc:
        flash(request, f"Not changed: {exc}.", kind="error")
    else:
        flash(request, f"{channel.name} is active again; its held posts are back on schedule.")
    return redirect("/deliveries")


def _back(target: str | None) -> RedirectResponse:
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return redirect(target)
    return redirect("/")


@router.post("/pause", dependencies=[CsrfDep])
def pause_all(
    request: Request,
    session: SessionDep,
    user: ActionUser,
    reason: Annotated[str, Form(max_length=500)] = "",
    next: Annotated[str | None, Form(max_length=2000)] = None,
) -> RedirectResponse:
    if not reason.strip():
        flash(request, "Give a reason for pausing; everyone sees it in the banner.", kind="error")
        return _back(next)
    if global_pause(session=session) is None:
        set_global_pause(session=session, actor=user.actor, reason=reason.strip())
    flash(request, "All publishing is paused. Nothing is sent until you resume.")
    return _back(next)


@router.post("/pause/resume", dependencies=[CsrfDep])
def resume_all(
    request: Request,
    session: SessionDep,
    user: ActionUser,
    next: Annotated[str | None, Form(max_length=2000)] = None,
) -> RedirectResponse:
    if global_pause(session=session) is not None:
        lift_global_pause(session=session, actor=user.actor)
    flash(request, "Publishing resumed; due posts go out within seconds.")
    return _back(next)
