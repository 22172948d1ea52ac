"""``POST /posts/bulk``: approve, schedule or cancel many posts, each on its own.

The body is validated whole first (unknown action, no or more than 200 ids, a bad id, a missing
or past time: 422 and nothing changes); then each post goes through its single-post service in
its own savepoint, and the answer says per post whether it changed and, if not, why.
"""

from __future__ import annotations

from fastapi import APIRouter

from scheduler.api.deps import EditorDep, SessionDep, SettingsDep
from scheduler.api.schemas.bulk import BulkIn, BulkOut, BulkPostOut
from scheduler.api.schemas.ops import PROBLEMS
from scheduler.editorial.bulk import bulk_post_action

router = APIRouter(tags=["editor"], responses=PROBLEMS)


@router.post("/posts/bulk", response_model=BulkOut)
def bulk_posts_route(
    body: BulkIn, session: SessionDep, settings: SettingsDep, principal: EditorDep
) -> BulkOut:
    """Apply one action to up to 200 posts; 200 with a per-post report (some may be skipped)."""
    result = bulk_post_action(
        session=session,
        action=body.action,
        post_ids=body.post_ids,
        actor=principal.actor,
        at=body.at,
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
