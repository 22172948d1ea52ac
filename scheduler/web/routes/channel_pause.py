"""One channel's pause and resume from the queue page, for editors and ops (admins too): the
kill switch for one account.  Its posts are held until it is resumed; the others go on."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from scheduler.api.deps import SessionDep
from scheduler.channels import ChannelConflict, get_channel, pause_channel, resume_channel
from scheduler.errors import NotFound
from scheduler.models import Channel
from scheduler.web.deps import ActionUser, CsrfDep, flash, redirect

router = APIRouter()

#: Where the panel is: the browser comes back to it after the form.
BACK = "/#channel-pause"
REASON_MAX = 500


def _channel(request: Request, session: SessionDep, channel_id: str) -> Channel | None:
    """The channel, or None with an error message already flashed."""
    try:
        return get_channel(session=session, channel_id=uuid.UUID(channel_id))
    except (ValueError, NotFound):
        flash(
            request,
            "No such channel: it may have been removed. Reload the queue to see the channels.",
            kind="error",
        )
        return None


@router.post("/channels/{channel_id}/pause", dependencies=[CsrfDep])
def pause_one(
    channel_id: str,
    request: Request,
    session: SessionDep,
    user: ActionUser,
    reason: Annotated[str, Form()] = "",
) -> RedirectResponse:
    channel = _channel(request, session, channel_id)
    if channel is None:
        return redirect(BACK)
    words = " ".join(reason.split())
    if not words:
        flash(
            request,
            f"{channel.name} was not paused: give a reason; everyone sees it on the queue.",
            kind="error",
        )
        return redirect(BACK)
    if len(words) > REASON_MAX:
        flash(
            request,
            f"{channel.name} was not paused: the reason has {len(words)} characters; "
            f"shorten it to {REASON_MAX}.",
            kind="error",
        )
        return redirect(BACK)
    try:
        pause_channel(session=session, channel=channel, reason=words, actor=user.actor)
    except ChannelConflict as exc:
        flash(request, f"{channel.name} was not paused: {exc}.", kind="error")
    else:
        flash(request, f"{channel.name} is paused; its posts are held until you resume it.")
    return redirect(BACK)


@router.post("/channels/{channel_id}/resume", dependencies=[CsrfDep])
def resume_one(
    channel_id: str, request: Request, session: SessionDep, user: ActionUser
) -> RedirectResponse:
    channel = _channel(request, session, channel_id)
    if channel is None:
        return redirect(BACK)
    try:
        resume_channel(session=session, channel=channel, actor=user.actor)
    except ChannelConflict as exc:
        flash(request, f"{channel.name} was not resumed: {exc}.", kind="error")
    else:
        flash(request, f"{channel.name} is publishing again; its held posts are back on schedule.")
    return redirect(BACK)
