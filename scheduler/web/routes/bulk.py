"""Bulk approve, schedule and cancel from the queue: one form, the posts ticked on their chips.

The result is shown beside the form that was used (announced by its ``aria-live`` region), not
as the page-top flash: the queue reloads at the form.  It says per post what did not apply.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from scheduler.api.deps import SessionDep, SettingsDep
from scheduler.editorial.bulk import BULK_ACTIONS, BulkResult, bulk_post_action
from scheduler.intake.schemas import InvalidInput
from scheduler.web import clock
from scheduler.web.deps import CsrfDep, EditorUser, redirect, session_data
from scheduler.web.queue_groups import post_labels

router = APIRouter()

SESSION_KEY = "bulk"
#: The report lists this many skipped posts by name (it lives in the session cookie).
DETAILS_SHOWN = 5


def pop_bulk_result(request: Request) -> dict[str, Any] | None:
    """The last bulk action's report, shown once beside the bulk form."""
    value = session_data(request).pop(SESSION_KEY, None)
    return value if isinstance(value, dict) else None


def _report(
    request: Request, text: str, *, kind: str = "ok", details: list[str] | None = None
) -> None:
    session_data(request)[SESSION_KEY] = {"kind": kind, "text": text[:400], "details": details}


def _post_ids(values: list[str]) -> list[uuid.UUID]:
    ids, bad = [], []
    for v in values:
        try:
            ids.append(uuid.UUID(v))
        except ValueError:
            bad.append(v[:40])
    if bad:
        raise InvalidInput([f"post_id: {', '.join(map(repr, bad[:3]))} is not a post id"])
    return ids


def _details(session: SessionDep, result: BulkResult) -> list[str]:
    skipped = result.skipped
    labels = post_labels(session=session, post_ids=[o.post_id for o in skipped[:DETAILS_SHOWN]])
    lines = [
        f"{labels.get(o.post_id, str(o.post_id))[:120]}: {o.reason}"
        for o in skipped[:DETAILS_SHOWN]
    ]
    if len(skipped) > DETAILS_SHOWN:
        lines.append(f"… and {len(skipped) - DETAILS_SHOWN} more skipped.")
    return lines


def _back(target: str | None) -> RedirectResponse:
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        target = "/"
    return redirect(target.split("#", 1)[0] + "#bulk")


@router.post("/posts/bulk", dependencies=[CsrfDep])
def bulk(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: EditorUser,
    action: Annotated[str, Form(max_length=20)] = "",
    post_id: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies defaults
    at: Annotated[str, Form(max_length=40)] = "",
    next: Annotated[str | None, Form(max_length=2000)] = None,
) -> RedirectResponse:
    tz = settings.newsroom_timezone
    try:
        if action not in BULK_ACTIONS:
            raise InvalidInput(["Choose what to do with the selected posts."])
        if not post_id:
            raise InvalidInput(["Tick at least one post on its chip, then apply."])
        when = clock.parse_picker(at, tz) if action == "schedule" else None
        result = bulk_post_action(
            session=session,
            action=action,
            post_ids=_post_ids(post_id),
            actor=user.actor,
            at=when,
            zone=tz,
        )
    except (InvalidInput, ValueError) as exc:
        words = "; ".join(exc.errors) if isinstance(exc, InvalidInput) else str(exc)
        _report(request, words.removeprefix("at: ").removeprefix("post_ids: "), kind="error")
    else:
        text = result.summary + "."
        if when is not None and result.applied:
            text = text.replace(" scheduled", f" scheduled for {clock.fmt_datetime(when, tz)}", 1)
        _report(request, text, details=_details(session, result))
    return _back(next)
