"""``POST /posts/bulk``: approve, schedule or cancel many posts, each on its own.

The body is validated whole first (unknown action, no or more than 200 ids, a bad id, a missing
or past time: 422 and nothing changes); then each post goes through its single-post service in
its own savepoint, and the answer says per post whether it changed and, if not, why.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse

from scheduler.api.deps import EditorDep, SessionDep, SettingsDep
from scheduler.api.errors import problem
from scheduler.api.schemas.bulk import BulkIn, BulkOut, BulkPostOut, BulkScheduleIn
from scheduler.api.schemas.ops import PROBLEMS
from scheduler.editorial.bulk import bulk_post_action

router = APIRouter(tags=["editor"], responses=PROBLEMS)


@router.post("/posts/bulk", response_model=BulkOut)
def bulk_posts_route(
    body: Annotated[BulkIn, Body()],
    session: SessionDep,
    settings: SettingsDep,
    principal: EditorDep,
) -> BulkOut:
    """Apply one action to up to 200 posts; 200 with a per-post report (some may be skipped)."""
    result = bulk_post_action(
        session=session,
        action=body.action,
        post_ids=body.post_ids,
        actor=principal.actor,
        at=body.at if isinstance(body, BulkScheduleIn) else None,
        zone=settings.newsroom_timezone,
    )
    return BulkOut(
        action=result.action,
        applied=result.applied,
        skipped=len(result.skipped),
        summary=result.summary,
        results=[
            BulkPostOut(post_id=o.post_id, applied=o.applied, status=o.status, reason=o.reason)
            for o in result.outcomes
        ],
    )


@router.api_route(
    "/posts/bulk",
    methods=["GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"],
    include_in_schema=False,
)
def bulk_other_methods() -> JSONResponse:
    """405 for the other methods: without this, ``/posts/{post_id}`` would take ``GET`` and
    ``PATCH`` of this path and answer that "bulk" is not a post id (422)."""
    return problem(
        405, "Method not allowed", "Only POST is allowed here.", headers={"Allow": "POST"}
    )
