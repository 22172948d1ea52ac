"""The article page's recovery actions on a post: undo a cancel, and mark a ``needs_review``
post as published at the address a person found it at.  Like every post action they are POST
forms with the CSRF token, and the result is shown in the post's card."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from scheduler.api.deps import SessionDep, SettingsDep
from scheduler.editorial.post_urls import MAX_URL_LENGTH
from scheduler.editorial.recovery import mark_post_published, restore_post
from scheduler.web.card_flash import keep_input
from scheduler.web.deps import CsrfDep, EditorUser, flash
from scheduler.web.routes.article import Refusals, back_to_post, flash_refusal

router = APIRouter()


@router.post("/posts/{post_id}/restore", dependencies=[CsrfDep])
def restore(
    post_id: uuid.UUID, request: Request, session: SessionDep, user: EditorUser
) -> RedirectResponse:
    try:
        restored = restore_post(session=session, post_id=post_id, actor=user.actor)
    except Refusals as exc:
        flash_refusal(request, exc)
    else:
        flash(request, restored.sentence)
    return back_to_post(request, session, post_id)


@router.post("/posts/{post_id}/mark-published", dependencies=[CsrfDep])
def mark_published(
    post_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: EditorUser,
    url: Annotated[str, Form(max_length=MAX_URL_LENGTH + 100)] = "",
) -> RedirectResponse:
    try:
        mark_post_published(
            session=session, post_id=post_id, url=url, actor=user.actor, settings=settings
        )
    except Refusals as exc:
        flash_refusal(request, exc)
        keep_input(request, url)  # the editor fixes the address rather than pasting it again
    else:
        flash(request, "Marked as published; the card links to the post.")
    return back_to_post(request, session, post_id)
