"""The article page (one preview per channel) and the editor's post post_services.

Every action is a POST form carrying the CSRF token; each redirects back with a flash message:
what happened, or the service's refusal sentence.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from config import Settings
from scheduler.api.deps import SessionDep, SettingsDep
from scheduler.editorial import actions as post_services
from scheduler.editorial.lifecycle import (
    APPROVABLE,
    CANCELLABLE,
    EDITABLE,
    RETRYABLE,
    SCHEDULABLE,
)
from scheduler.editorial.newsdesk import ArticleNotFound
from scheduler.editorial.queries import current_notes, effective_text
from scheduler.editorial.recovery import cancel_records
from scheduler.intake.schemas import InvalidInput
from scheduler.models import Channel, Post, PostStatus, utcnow
from scheduler.web import clock
from scheduler.web.card_flash import card_flash, tag_flash
from scheduler.web.counters import Count, meta_counts, over_note
from scheduler.web.deps import ActionUser, CsrfDep, EditorUser, UserDep, flash, redirect, render
from scheduler.web.queries import article_with_posts, post_article_id, post_channel_zone
from scheduler.web.xcount import x_tlds
from scheduler.web.xlinks import PreviewPart, x_preview_parts

router = APIRouter()

TEXT_MAX = 10_000


@dataclass(frozen=True)
class PostView:
    """A post as its preview card shows it."""

    post: Post
    channel: Channel
    text: str
    image_url: str | None
    link_domain: str | None
    edited: bool
    notes: list[str]  # the render's notes that still apply (current_notes)
    counts: list[Count]  # Instagram and Facebook: what the live counter starts from
    count_note: str  # what is over the limit, in sentences
    x_parts: list[PreviewPart]  # X: the text with its links as X shows them

    @property
    def hashtags(self) -> int:
        return next((c.value for c in self.counts if c.key == "hashtags"), 0)

    @property
    def status(self) -> str:
        return str(self.post.status)

    def can(self, allowed: frozenset[PostStatus]) -> bool:
        return self.post.status in allowed


def _media_url(post: Post, settings: Settings) -> str | None:
    if not post.media:
        return None
    url = str(post.media[0].get("url") or "")
    # Same-origin path for the browser: the stored URL is the public one platforms fetch.
    base = settings.resolved_media_base_url
    return "/media/" + url[len(base) :].lstrip("/") if url.startswith(base) else url or None


def _view(post: Post, channel: Channel, settings: Settings) -> PostView:
    text = effective_text(post)
    platform = str(post.platform)
    counts = meta_counts(platform, text)
    return PostView(
        post=post,
        channel=channel,
        text=text,
        image_url=_media_url(post, settings),
        link_domain=urlsplit(post.link).hostname if post.link else None,
        edited=post.text_override is not None,
        notes=current_notes(post),
        counts=counts,
        count_note=over_note(platform, counts),
        x_parts=x_preview_parts(text) if platform == "x" else [],
    )


@router.get("/x-tlds.json")
def x_tld_list() -> JSONResponse:
    """The TLDs twitter-text links, for the live counter (public data, cached a day)."""
    return JSONResponse(x_tlds(), headers={"Cache-Control": "public, max-age=86400"})


@router.get("/articles/{article_id}", response_class=HTMLResponse)
def article_page(
    article_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: UserDep,
) -> HTMLResponse:
    found = article_with_posts(session=session, article_id=article_id)
    if found is None:
        raise ArticleNotFound(f"There is no article with id {article_id}.")
    article, posts = found
    # A follow-up (first comment, thread reply) shows small under its parent's card.
    followups: dict[uuid.UUID, list[PostView]] = {}
    views = []
    for p, c in posts:
        if p.parent_id is not None:
            followups.setdefault(p.parent_id, []).append(_view(p, c, settings))
        else:
            views.append(_view(p, c, settings))
    page_flash, in_card = card_flash(request, {str(v.post.id) for v in views})
    return render(
        request,
        "article.html",
        session=session,
        flash=page_flash,
        card_flash=in_card,
        cancels=cancel_records(session=session, posts=[v.post for v in views]),
        article=article,
        article_domain=urlsplit(article.url).hostname,
        posts=views,
        followups=followups,
        editable=EDITABLE,
        cancellable=CANCELLABLE,
        schedulable=SCHEDULABLE,
        retryable=RETRYABLE,
        approvable=APPROVABLE,
        zone_abbr=lambda tz: clock.zone_abbr(datetime.now(clock.zone(tz))),
    )


def back_to_post(
    request: Request, session: SessionDep, post_id: uuid.UUID, target: str | None = None
) -> RedirectResponse:
    """Back where the action was taken: the page named by ``target``, else the post's card on
    its article page, which shows the flash (:func:`card_flash`).  The fragment names the
    result: the browser scrolls to it and focuses the message, so a screen reader reads it."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return redirect(target)
    article_id = post_article_id(session=session, post_id=post_id)
    if article_id is None:
        return redirect("/")
    tag_flash(request, post_id)
    return redirect(f"/articles/{article_id}#result-{post_id}")


def _approved_words(post: Post) -> str:
    """The flash after an approval: a post whose time has passed goes out now, and says so."""
    due = post.scheduled_at
    if post.status == PostStatus.SCHEDULED and due is not None and due <= utcnow():
        return "Approved; its scheduled time has passed, so it will go out now."
    return f"Approved; the post is now {str(post.status).replace('_', ' ')}."


def flash_refusal(request: Request, exc: Exception) -> None:
    flash(request, str(exc), kind="error")


Refusals = (post_services.PostNotFound, post_services.PostActionRefused, InvalidInput)
#: A confirmation checkbox: "yes" when ticked, absent otherwise.
Confirmation = Annotated[str | None, Form(max_length=10)]


@router.post("/posts/{post_id}/edit", dependencies=[CsrfDep])
def edit_text(
    post_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: EditorUser,
    text: Annotated[str, Form(max_length=TEXT_MAX)] = "",
) -> RedirectResponse:
    try:
        problems = post_services.edit_post_text(
            session=session, post_id=post_id, text=text, actor=user.actor, settings=settings
        )
    except Refusals as exc:
        flash_refusal(request, exc)
    else:
        if problems:
            flash(
                request,
                "The text was saved as a draft, but the platform would refuse it: "
                + " ".join(problems),
                kind="error",
            )
        else:
            flash(request, "The text was saved.")
    return back_to_post(request, session, post_id)


@router.post("/posts/{post_id}/approve", dependencies=[CsrfDep])
def approve(
    post_id: uuid.UUID, request: Request, session: SessionDep, user: EditorUser
) -> RedirectResponse:
    try:
        post = post_services.approve_post(session=session, post_id=post_id, actor=user.actor)
    except Refusals as exc:
        flash_refusal(request, exc)
    else:
        flash(request, _approved_words(post))
    return back_to_post(request, session, post_id)


@router.post("/posts/{post_id}/schedule", dependencies=[CsrfDep])
def schedule(
    post_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    user: EditorUser,
    at: Annotated[str, Form(max_length=40)] = "",
) -> RedirectResponse:
    try:
        tz = post_channel_zone(session=session, post_id=post_id)
        if tz is None:
            raise post_services.PostNotFound(f"There is no post with id {post_id}.")
        when = clock.parse_picker(at, tz)
        post = post_services.schedule_post(
            session=session, post_id=post_id, at=when, actor=user.actor
        )
    except (*Refusals, ValueError) as exc:
        flash_refusal(request, exc)
    else:
        flash(request, f"Scheduled for {clock.fmt_datetime(post.scheduled_at, tz)} ({tz}).")
    return back_to_post(request, session, post_id)


@router.post("/posts/{post_id}/post-now", dependencies=[CsrfDep])
def post_now(
    post_id: uuid.UUID, request: Request, session: SessionDep, user: EditorUser
) -> RedirectResponse:
    try:
        post_services.post_now(session=session, post_id=post_id, actor=user.actor)
    except Refusals as exc:
        flash_refusal(request, exc)
    else:
        flash(request, "The post goes out at the next dispatch, within seconds.")
    return back_to_post(request, session, post_id)


@router.post("/posts/{post_id}/cancel", dependencies=[CsrfDep])
def cancel(
    post_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    user: EditorUser,
    confirm: Confirmation = None,
) -> RedirectResponse:
    if confirm != "yes":
        flash(
            request,
            "Tick \u201cYes, cancel this post\u201d to cancel it; nothing was changed.",
            kind="error",
        )
        return back_to_post(request, session, post_id)
    try:
        post_services.cancel_post(session=session, post_id=post_id, actor=user.actor)
    except Refusals as exc:
        flash_refusal(request, exc)
    else:
        flash(request, "The post was cancelled; it will not be sent. You can undo this below.")
    return back_to_post(request, session, post_id)


@router.post("/posts/{post_id}/retry", dependencies=[CsrfDep])
def retry(
    post_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    user: ActionUser,
    next: Annotated[str | None, Form(max_length=2000)] = None,
    checked: Confirmation = None,
) -> RedirectResponse:
    try:
        post_services.retry_post(
            session=session,
            post_id=post_id,
            actor=user.actor,
            checked_not_on_platform=checked == "yes",
        )
    except Refusals as exc:
        flash_refusal(request, exc)
    else:
        flash(request, "The post is back on the schedule and goes out within seconds.")
    return back_to_post(request, session, post_id, next)
