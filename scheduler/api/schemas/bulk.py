"""Bodies of ``POST /posts/bulk``: one action on many posts, and the per-post report."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from scheduler.api.schemas.posts import AwareTime
from scheduler.editorial.bulk import MAX_BULK_POSTS

PostIds = Annotated[
    list[uuid.UUID],
    Field(
        min_length=1,
        max_length=MAX_BULK_POSTS,
        description=f"1 to {MAX_BULK_POSTS} post ids; a repeated id counts once",
    ),
]


class BulkApproveIn(BaseModel):
    """Approve each of these posts."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["approve"]
    post_ids: PostIds


class BulkCancelIn(BaseModel):
    """Cancel each of these posts."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["cancel"]
    post_ids: PostIds


class BulkScheduleIn(BaseModel):
    """Schedule each of these posts for ``at``."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["schedule"]
    post_ids: PostIds
    at: AwareTime = Field(description="ISO 8601 with an offset, not in the past")


#: The body, told apart by ``action`` (the schedule action alone takes, and needs, ``at``).
BulkIn = Annotated[BulkApproveIn | BulkCancelIn | BulkScheduleIn, Field(discriminator="action")]


class BulkPostOut(BaseModel):
    post_id: uuid.UUID
    applied: bool = Field(description="Whether the action changed this post")
    status: str | None = Field(description="The post's status now (null for an unknown id)")
    reason: str | None = Field(description="Why the action did not apply, e.g. already published")


class BulkOut(BaseModel):
    action: str
    applied: int
    skipped: int
    summary: str = Field(description="e.g. '3 approved; 1 skipped: already published'")
    results: list[BulkPostOut]
