"""Request and response models of the editor API (posts, articles, approval rules).

Responses are typed so the OpenAPI document states real shapes; requests forbid unknown fields.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StringConstraints
from pydantic_core import PydanticCustomError

from scheduler.api.schemas.fields import TEXT_PATTERN, Documented, IsoText
from scheduler.editorial.actions import MAX_TEXT_LENGTH
from scheduler.editorial.approvals import MAX_RULE_SOURCE_LENGTH
from scheduler.intake.schemas import ArticleIn

_STRICT = ConfigDict(extra="forbid")


def _no_control_characters(value: str) -> str:
    # PostgreSQL text cannot hold NUL; other control characters only hide things from readers.
    if any(ord(ch) < 32 and ch not in "\t\n\r" for ch in value):
        raise PydanticCustomError("control_characters", "must not contain control characters")
    return value


def _aware_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise PydanticCustomError("timezone", "must include a time zone offset")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise PydanticCustomError("date_range", "is outside the supported date range") from None


PostText = Annotated[
    str,
    StringConstraints(max_length=MAX_TEXT_LENGTH),
    AfterValidator(_no_control_characters),
    Documented(pattern=TEXT_PATTERN),
]
AwareTime = Annotated[datetime, IsoText, AfterValidator(_aware_utc)]
Source = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f/]+$")
]
#: A source an approval rule can name (see scheduler.editorial.approvals.MAX_RULE_SOURCE_LENGTH).
RuleSource = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_RULE_SOURCE_LENGTH, pattern=r"^[^\x00-\x1f/]+$"),
]


# --- requests -------------------------------------------------------------------------------------


class PostTextUpdate(BaseModel):
    """The editor's copy for a post; it wins over re-rendering when the article changes."""

    model_config = _STRICT
    text: PostText


class ScheduleIn(BaseModel):
    """When the post should go out; must carry its offset (e.g. 2026-11-25T18:00:00+05:00)."""

    model_config = _STRICT
    at: AwareTime = Field(description="ISO 8601 with an offset; a past time means now")


class ApprovalIn(BaseModel):
    """Whether posts need an editor's approval before they go out."""

    model_config = _STRICT
    required: StrictBool


#: The article JSON (README "Article JSON"), documented from the model intake validates with.
ARTICLE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": ArticleIn.model_json_schema()}},
    }
}


# --- responses ------------------------------------------------------------------------------------


class PostSummary(BaseModel):
    """A post in a list: where it goes, what it says, its state."""

    id: str
    article_id: str
    article_external_id: str
    article_title: str
    channel: str = Field(description="The platform: x, instagram or facebook")
    channel_id: str
    channel_name: str
    status: str
    scheduled_at: str | None
    external_id: str | None
    external_url: str | None
    last_error: str | None
    attempt_count: int
    text: str = Field(description="What would be sent: the editor's text, else the rendered one")
    edited: bool
    problems: list[str]
    approved_by: str | None
    approved_at: str | None
    version: int
    created_at: str
    updated_at: str


class PostPage(BaseModel):
    """A page of posts, soonest first; pass next_cursor back for the next page."""

    posts: list[PostSummary]
    next_cursor: str | None


class AttemptSummary(BaseModel):
    """One delivery attempt of the post."""

    id: str
    number: int
    status: str
    created_at: str
    started_at: str | None
    finished_at: str | None
    http_status: int | None
    error_class: str | None
    message: str | None
    latency_ms: int | None


class Attempts(BaseModel):
    """The post's delivery attempts, newest first (the most recent 20)."""

    count: int
    last_status: str | None
    items: list[AttemptSummary]


class PostDetail(PostSummary):
    """One post in full, as the editor previews it."""

    rendered_text: str
    text_override: str | None
    edited_by: str | None
    link: str | None
    media: list[dict[str, Any]]
    warnings: list[str]
    weighted_length: int | None
    requires_approval: bool
    scheduled_at_local: str | None = Field(description="scheduled_at in the channel's time zone")
    next_attempt_at: str | None
    published_at: str | None
    article_url: str
    article_source: str
    article_revision: int
    rendered_revision: int
    channel_timezone: str
    channel_status: str
    attempts: Attempts


class ArticleSummary(BaseModel):
    """An article in a list."""

    id: str
    source: str
    external_id: str
    url: str
    title: str
    section: str | None
    author: str | None
    language: str
    priority: str
    state: str
    revision: int
    published_at: str | None
    created_at: str
    updated_at: str


class ArticlePage(BaseModel):
    """A page of articles, newest first; pass next_cursor back for the next page."""

    articles: list[ArticleSummary]
    next_cursor: str | None


class ArticleDetail(ArticleSummary):
    """One article with its posts (one per channel)."""

    summary: str
    image_url: str | None
    tags: list[str]
    posts: list[PostSummary]


class ArticleSubmitted(ArticleDetail):
    """What intake did with a submitted article."""

    created: bool = Field(description="A new article (201) rather than an update of a known one")
    changed: bool


class ChannelApproval(BaseModel):
    """A channel's approval rule and the waiting posts it moved."""

    channel_id: str
    required: bool
    posts_held: int = Field(description="Unapproved waiting posts sent back to approval")
    posts_released: int = Field(description="Posts waiting for approval released to the schedule")


class SourceApproval(BaseModel):
    """An article source's approval rule and the waiting posts it moved."""

    source: str
    required: bool = Field(description="Effective rule (a feed of this source may also ask)")
    posts_held: int
    posts_released: int
