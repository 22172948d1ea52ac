"""The editor API: the post queue and its actions, articles, and the approval rules.

Routes only translate HTTP to the services in :mod:`scheduler.editorial.actions`,
:mod:`scheduler.editorial.newsdesk` and :mod:`scheduler.editorial.approvals`, and their domain
errors to problem+json: 404 for unknown ids, 409 for an action the post's state refuses, 422 for
invalid input (nothing is written then).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Response

from scheduler.api.deps import EditorDep, SessionDep, SettingsDep
from scheduler.api.errors import ApiError
from scheduler.api.paging import CHANNEL_FILTER_PATTERN, Cursor
from scheduler.api.schemas.ops import PROBLEMS, Problem
from scheduler.api.schemas.posts import (
    ARTICLE_BODY,
    ApprovalIn,
    ArticleDetail,
    ArticlePage,
    ArticleSubmitted,
    AwareTime,
    ChannelApproval,
    MarkPublishedIn,
    PostDetail,
    PostPage,
    PostTextUpdate,
    RetryIn,
    RuleSource,
    ScheduleIn,
    Source,
    SourceApproval,
)
from scheduler.editorial.actions import (
    PostActionRefused,
    approve_post,
    cancel_post,
    edit_post_text,
    get_post,
    list_posts,
    post_now,
    retry_post,
    schedule_post,
    set_approval_required,
    set_source_approval,
)
from scheduler.editorial.newsdesk import (
    get_article_detail,
    list_articles,
    submit_article,
)
from scheduler.editorial.recovery import mark_post_published, restore_post
from scheduler.models import PostStatus

router = APIRouter(tags=["editor"], responses=PROBLEMS)

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": Problem, "description": "Not found"}}
REFUSED: dict[int | str, dict[str, Any]] = {
    409: {"model": Problem, "description": "The post's state does not allow this action"}
}
ACTION = {**NOT_FOUND, **REFUSED}

Limit = Annotated[int, Query(ge=1, le=200, description="Page size (at most 200)")]
ChannelFilter = Annotated[
    str | None,
    Query(
        description="Platform (x, instagram, facebook) or a channel id",
        pattern=CHANNEL_FILTER_PATTERN,
    ),
]


@contextmanager
def _domain_errors() -> Iterator[None]:
    """Turn a refused post action into a 409 problem+json (not-found errors are answered by
    the app's NotFound handler)."""
    try:
        yield
    except PostActionRefused as exc:
        raise ApiError(409, "Not possible now", str(exc)) from None


# --- posts ----------------------------------------------------------------------------------------


@router.get("/posts", response_model=PostPage)
def list_posts_route(
    session: SessionDep,
    _: EditorDep,
    status: PostStatus | None = None,
    channel: ChannelFilter = None,
    article_id: uuid.UUID | None = None,
    scheduled_from: Annotated[
        AwareTime | None, Query(alias="from", description="Scheduled at or after (with offset)")
    ] = None,
    scheduled_to: Annotated[
        AwareTime | None, Query(alias="to", description="Scheduled before (with offset)")
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """The post queue, soonest first, one keyset page at a time."""
    rows, next_cursor = list_posts(
        session=session,
        status=status,
        channel=channel,
        article_id=article_id,
        scheduled_from=scheduled_from,
        scheduled_to=scheduled_to,
        limit=limit,
        cursor=cursor,
    )
    return {"posts": rows, "next_cursor": next_cursor}


@router.get("/posts/{post_id}", response_model=PostDetail, responses=NOT_FOUND)
def get_post_route(post_id: uuid.UUID, session: SessionDep, _: EditorDep) -> PostDetail:
    """One post: its texts, link, media, problems, approval, attempts, article and channel."""
    with _domain_errors():
        return get_post(session=session, post_id=post_id)


@router.patch("/posts/{post_id}", response_model=PostDetail, responses=ACTION)
def edit_post_route(
    post_id: uuid.UUID,
    body: PostTextUpdate,
    session: SessionDep,
    settings: SettingsDep,
    principal: EditorDep,
) -> PostDetail:
    """Replace the post's text; the answer lists the platform's problems with it (if any, the
    post becomes a draft until they are fixed)."""
    with _domain_errors():
        edit_post_text(
            session=session,
            post_id=post_id,
            text=body.text,
            actor=principal.actor,
            settings=settings,
        )
        return get_post(session=session, post_id=post_id)


@router.post("/posts/{post_id}/approve", response_model=PostDetail, responses=ACTION)
def approve_post_route(post_id: uuid.UUID, session: SessionDep, principal: EditorDep) -> PostDetail:
    """Approve a post waiting for approval; refused with the reasons if it has problems."""
    with _domain_errors():
        approve_post(session=session, post_id=post_id, actor=principal.actor)
        return get_post(session=session, post_id=post_id)


@router.post("/posts/{post_id}/schedule", response_model=PostDetail, responses=ACTION)
def schedule_post_route(
    post_id: uuid.UUID, body: ScheduleIn, session: SessionDep, principal: EditorDep
) -> PostDetail:
    """Schedule or reschedule the post (a time with its offset).  A time already past is refused
    (422) with a sentence naming it in the channel's zone: choose a later time, or post now."""
    with _domain_errors():
        schedule_post(session=session, post_id=post_id, at=body.at, actor=principal.actor)
        return get_post(session=session, post_id=post_id)


@router.post("/posts/{post_id}/post-now", response_model=PostDetail, responses=ACTION)
def post_now_route(post_id: uuid.UUID, session: SessionDep, principal: EditorDep) -> PostDetail:
    """Send the post at the dispatcher's next tick."""
    with _domain_errors():
        post_now(session=session, post_id=post_id, actor=principal.actor)
        return get_post(session=session, post_id=post_id)


@router.post("/posts/{post_id}/cancel", response_model=PostDetail, responses=ACTION)
def cancel_post_route(post_id: uuid.UUID, session: SessionDep, principal: EditorDep) -> PostDetail:
    """Cancel a post no worker has started sending."""
    with _domain_errors():
        cancel_post(session=session, post_id=post_id, actor=principal.actor)
        return get_post(session=session, post_id=post_id)


@router.post("/posts/{post_id}/retry", response_model=PostDetail, responses=ACTION)
def retry_post_route(
    post_id: uuid.UUID,
    session: SessionDep,
    principal: EditorDep,
    body: Annotated[RetryIn | None, Body()] = None,
) -> PostDetail:
    """Send this post again now (only this post, never its article's other posts).  A
    needs_review post may already be live: it is retried only with
    ``{"checked_not_on_platform": true}`` (409 otherwise)."""
    checked = body.checked_not_on_platform if body is not None else False
    with _domain_errors():
        retry_post(
            session=session, post_id=post_id, actor=principal.actor, checked_not_on_platform=checked
        )
        return get_post(session=session, post_id=post_id)


@router.post("/posts/{post_id}/restore", response_model=PostDetail, responses=ACTION)
def restore_post_route(post_id: uuid.UUID, session: SessionDep, principal: EditorDep) -> PostDetail:
    """Undo an editor's cancel (within 10 minutes of it): the post returns to its state before;
    one that was waiting to go out keeps its time if still ahead, else it becomes a draft
    waiting for a new time."""
    with _domain_errors():
        restore_post(session=session, post_id=post_id, actor=principal.actor)
        return get_post(session=session, post_id=post_id)


@router.post("/posts/{post_id}/mark-published", response_model=PostDetail, responses=ACTION)
def mark_published_route(
    post_id: uuid.UUID,
    body: MarkPublishedIn,
    session: SessionDep,
    settings: SettingsDep,
    principal: EditorDep,
) -> PostDetail:
    """A person found a needs_review post live: record it published at its address (422 for an
    address that is not the post's https page on its platform's host)."""
    with _domain_errors():
        mark_post_published(
            session=session,
            post_id=post_id,
            url=body.url,
            actor=principal.actor,
            settings=settings,
        )
        return get_post(session=session, post_id=post_id)


# --- articles -------------------------------------------------------------------------------------


@router.get("/articles", response_model=ArticlePage)
def list_articles_route(
    session: SessionDep,
    _: EditorDep,
    source: Annotated[Source | None, Query(description="Only articles from this source")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Articles, newest first, one keyset page at a time."""
    rows, next_cursor = list_articles(session=session, source=source, limit=limit, cursor=cursor)
    return {"articles": rows, "next_cursor": next_cursor}


@router.get("/articles/{article_id}", response_model=ArticleDetail, responses=NOT_FOUND)
def get_article_route(article_id: uuid.UUID, session: SessionDep, _: EditorDep) -> ArticleDetail:
    """One article with its posts."""
    with _domain_errors():
        return get_article_detail(session=session, article_id=article_id)


@router.post(
    "/articles",
    status_code=201,
    response_model=ArticleSubmitted,
    responses={200: {"model": ArticleSubmitted, "description": "A known article, updated"}},
    openapi_extra=ARTICLE_BODY,
)
def submit_article_route(
    data: Annotated[dict[str, Any], Body()],
    response: Response,
    session: SessionDep,
    principal: EditorDep,
) -> ArticleSubmitted:
    """Add an article by hand (the article JSON the CMS sends): 201 with one post per channel,
    200 for an article already known; invalid input is refused field by field."""
    result, detail = submit_article(session=session, data=data, actor=principal.actor)
    if not result.created:
        response.status_code = 200
    return ArticleSubmitted(
        **detail.model_dump(),
        created=result.created,
        changed=result.changed,
        posts_created=len(result.posts_created),
        posts_cancelled=result.posts_cancelled,
        note=result.note,
    )


# --- approval rules -------------------------------------------------------------------------------


@router.put("/channels/{channel_id}/approval", response_model=ChannelApproval, responses=NOT_FOUND)
def channel_approval_route(
    channel_id: uuid.UUID, body: ApprovalIn, session: SessionDep, principal: EditorDep
) -> dict[str, Any]:
    """Require (or stop requiring) an editor's approval for the channel's posts."""
    with _domain_errors():
        return set_approval_required(
            session=session, channel_id=channel_id, required=body.required, actor=principal.actor
        )


@router.put("/sources/{source}/approval", response_model=SourceApproval)
def source_approval_route(
    source: Annotated[RuleSource, Path(description="The article source, e.g. southasiandesk")],
    body: ApprovalIn,
    session: SessionDep,
    principal: EditorDep,
) -> dict[str, Any]:
    """Require (or stop requiring) approval for every post of articles from this source."""
    return set_source_approval(
        session=session, source=source, required=body.required, actor=principal.actor
    )
