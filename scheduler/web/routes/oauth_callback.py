"""``GET /oauth/callback/{x|meta}``: where X and Meta send the admin back after consenting.

No API key and no sign-in are needed: the single-use ``state`` authenticates the request
(:func:`scheduler.access.connections.claim_callback`), and a signed-in browser must be the
admin's who started the connection.  A refused, replayed, foreign or expired state, or the
admin declining at the platform, gets a 400 page and stores nothing; the code is exchanged
outside any database transaction.
"""

from __future__ import annotations

from typing import Annotated, Literal

import httpx
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from adapters import http_timeout
from adapters.errors import DeliveryError
from config import Settings
from scheduler.access.auth import Principal
from scheduler.access.channel_link import LinkResult
from scheduler.access.connect_flow import (
    Claimed,
    claimed,
    fail,
    fetch_meta,
    fetch_x,
    store_meta,
    store_x,
)
from scheduler.access.connections import ConnectionRefused, claim_callback
from scheduler.api.deps import EngineDep, SettingsDep
from scheduler.db.engine import session_scope
from scheduler.runtime.logs import get_logger
from scheduler.web.deps import flash, redirect, render

log = get_logger(__name__)
router = APIRouter()

Param = Annotated[str | None, Query(max_length=2000)]


def describe(results: list[LinkResult]) -> str:
    """What the connection did, in one sentence per channel."""
    lines = []
    for r in results:
        c = r.channel
        if r.reconnected:
            line = f"Reconnected {c.name} ({c.platform} account {c.account_id}); it is active."
            if r.released or r.stale:
                line += (
                    f" {r.released} held posts go out spaced; {r.stale} too old to send "
                    "wait for an editor."
                )
        else:
            line = f"Connected {c.platform} account {c.account_id} as the channel {c.name}."
        lines.append(line)
    return " ".join(lines)


def refused(request: Request, text: str, *, status: int = 400) -> HTMLResponse:
    return render(
        request,
        "error.html",
        status_code=status,
        status=status,
        title="The account was not connected",
        text=text,
    )


def _declined(platform: str, error: str, description: str | None) -> str:
    name = "X" if platform == "x" else "Facebook"
    if error == "access_denied":
        return (
            f"You declined the authorization on {name}, so nothing was connected. Start again "
            "from Channels when you are ready."
        )
    said = (description or error)[:300]
    return f"{name} did not authorize newsrelay ({error}: {said}). Nothing was connected."


@router.get("/oauth/callback/{platform}", response_class=HTMLResponse)
def oauth_callback(
    platform: Literal["x", "meta"],
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    state: Param = None,
    code: Param = None,
    error: Param = None,
    error_description: Param = None,
) -> Response:
    user: Principal | None = getattr(request.state, "user", None)
    try:
        with session_scope(engine) as session:
            claim = claimed(
                claim_callback(session=session, platform=platform, state=state, user=user),
                settings=settings,
            )
    except ConnectionRefused as exc:
        log.warning("oauth_callback_refused", platform=platform, reason=str(exc))
        return refused(request, str(exc))
    if error or not code:
        text = _declined(platform, error or "no_code", error_description)
        return _failed(request, engine, claim, text)
    try:
        results, choosing = _complete(settings, engine, claim, code)
    except DeliveryError as exc:
        return _failed(request, engine, claim, f"Nothing was connected: {exc}")
    except ConnectionRefused as exc:
        return _failed(request, engine, claim, str(exc))
    log.info(
        "oauth_connected",
        platform=platform,
        actor=claim.actor,
        channels=[str(r.channel.id) for r in results],
        choosing=choosing,
    )
    return _answer(request, claim, results, choosing, signed_in=user is not None)


def _complete(
    settings: Settings, engine: EngineDep, claim: Claimed, code: str
) -> tuple[list[LinkResult], bool]:
    with httpx.Client(timeout=http_timeout(settings)) as client:
        if claim.platform == "x":
            tokens, x_user = fetch_x(settings=settings, claim=claim, code=code, client=client)
        else:
            pages = fetch_meta(settings=settings, claim=claim, code=code, client=client)
    with session_scope(engine) as session:
        if claim.platform == "x":
            result = store_x(
                session=session, settings=settings, claim=claim, tokens=tokens, user=x_user
            )
            return [result], False
        results = store_meta(session=session, settings=settings, claim=claim, pages=pages)
        return results, not results


def _failed(request: Request, engine: EngineDep, claim: Claimed, text: str) -> HTMLResponse:
    with session_scope(engine) as session:
        fail(session=session, connection_id=claim.id, error=text)
    log.warning("oauth_callback_failed", platform=claim.platform, reason=text)
    return refused(request, text)


def _answer(
    request: Request,
    claim: Claimed,
    results: list[LinkResult],
    choosing: bool,
    *,
    signed_in: bool,
) -> Response:
    choice_url = f"/channels/connect/meta/{claim.id}"
    if signed_in:
        if choosing:
            return redirect(choice_url)
        flash(request, describe(results))
        return redirect("/channels")
    return render(
        request,
        "connect_done.html",
        platform=claim.platform,
        text=describe(results),
        choosing=choosing,
        choice_url=choice_url,
        connection_id=str(claim.id),
    )
