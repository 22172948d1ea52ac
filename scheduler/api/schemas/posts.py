"""Request and response models of the editor API (posts, articles, approval rules).

Responses are typed so the OpenAPI document states real shapes; requests forbid unknown fields.
The read models (posts, attempts, articles) are the services' own, re-exported here, so the API,
the web UI and the CLI show one shape.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StringConstraints
from pydantic_core import PydanticCustomError

from scheduler.api.schemas.fields import TEXT_PATTERN, Documented, IsoText
from scheduler.editorial.actions import MAX_TEXT_LENGTH
from scheduler.editorial.approvals import MAX_RULE_SOURCE_LENGTH
from scheduler.editorial.newsdesk import ArticleDetail, ArticleSummary
from scheduler.editorial.post_urls import MAX_URL_LENGTH
from scheduler.editorial.queries import Attempts, AttemptSummary, PostDetail, PostSummary
from scheduler.intake.schemas import ArticleIn

__all__ = [
    "ARTICLE_BODY",
    "ApprovalIn",
    "ArticleDetail",
    "ArticlePage",
    "ArticleSubmitted",
    "ArticleSummary",
    "AttemptSummary",
    "Attempts",
    "AwareTime",
    "ChannelApproval",
    "MarkPublishedIn",
    "PostDetail",
    "PostPage",
    "PostSummary",
    "PostText",
    "PostTextUpdate",
    "RetryIn",
    "RuleSource",
    "ScheduleIn",
    "Source",
    "SourceApproval",
]

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


class RetryIn(BaseModel):
    """For a ``needs_review`` post: a person checked the account and the post is not there."""

    model_config = _STRICT
    checked_not_on_platform: StrictBool = Field(
        default=False,
        description="Required (true) to retry a needs_review post: it may already be live",
    )


class MarkPublishedIn(BaseModel):
    """The address of the post a person found live on its platform."""

    model_config = _STRICT
    url: Annotated[
        str,
        StringConstraints(min_length=1, max_length=MAX_URL_LENGTH),
        AfterValidator(_no_control_characters),
    ] = Field(
        description="The post's https address on its platform (x.com / twitter.com, "
        "instagram.com, facebook.com; the sandbox outside production)"
    )


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


class PostPage(BaseModel):
    """A page of posts, soonest first; pass next_cursor back for the next page."""

    posts: list[PostSummary]
    next_cursor: str | None


class ArticlePage(BaseModel):
    """A page of articles, newest first; pass next_cursor back for the next page."""

    articles: list[ArticleSummary]
    next_cursor: str | None


class ArticleSubmitted(ArticleDetail):
    """What intake did with a submitted article."""

    created: bool = Field(description="A new article (201) rather than an update of a known one")
    changed: bool
    posts_created: int = Field(description="Posts this intake created (0: see note)")
    posts_cancelled: int = Field(
        default=0, description="Pending posts cancelled: their channel no longer takes the article"
    )
    note: str | None = Field(
        default=None, description='e.g. "No channel takes this article (routing)"'
    )


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
