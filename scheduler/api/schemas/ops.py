"""Request and response models of the ops and admin API (so OpenAPI documents real shapes)."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from adapters.base import ChannelSettings
from scheduler.api.schemas.fields import LINE_PATTERN, NAME_PATTERN, Documented, IsoText
from scheduler.intake.schemas import stripped_not_blank
from scheduler.models import PlatformName, Role


def _printable(value: str) -> str:
    # PostgreSQL text cannot hold NUL, and control characters in names and reasons only hide
    # things from the people reading the log.
    if any(ord(ch) < 32 and ch not in "\t\n" for ch in value):
        raise ValueError("must not contain control characters")
    return value


def _utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is outside the supported date range") from None


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _zone(value: str) -> str:
    if value not in _zones():
        raise ValueError("must be an IANA time zone such as Asia/Karachi or Europe/London")
    return value


Reason = Annotated[
    str,
    StringConstraints(min_length=1, max_length=500),
    AfterValidator(stripped_not_blank),
    AfterValidator(_printable),
    Documented(pattern=NAME_PATTERN),
]
Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200),
    AfterValidator(stripped_not_blank),
    AfterValidator(_printable),
    Documented(pattern=NAME_PATTERN),
]
UtcDatetime = Annotated[AwareDatetime, IsoText, AfterValidator(_utc)]
TimeZone = Annotated[
    str,
    StringConstraints(max_length=64),
    AfterValidator(_zone),
    Documented(enum=sorted(_zones())),
]
CredentialName = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")
]
CredentialValue = Annotated[
    str,
    StringConstraints(min_length=1, max_length=4000),
    AfterValidator(_printable),
    Documented(pattern=LINE_PATTERN),
]
Credentials = Annotated[
    dict[CredentialName, CredentialValue],
    Field(min_length=1, max_length=20),
    Documented(additionalProperties=False),
]

_STRICT = ConfigDict(extra="forbid")


class Problem(BaseModel):
    """An error (RFC 9457 problem+json)."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[str] | None = None


class Delivery(BaseModel):
    """One delivery attempt and its outcome (messages are redacted when recorded)."""

    id: str
    post_id: str
    article_external_id: str
    channel: str
    channel_name: str
    number: int
    status: str
    created_at: str
    scheduled_for: str | None
    started_at: str | None
    finished_at: str | None
    http_status: int | None
    error_code: str | None
    error_subcode: str | None
    error_class: str | None
    message: str | None
    latency_ms: int | None
    worker: str | None
    external_id: str | None
    rate_limit: dict[str, Any]


class DeliveryPage(BaseModel):
    deliveries: list[Delivery]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next (older) page")


class ChannelHealth(BaseModel):
    """A channel's state for ops; credentials are never included."""

    id: str
    platform: str
    name: str
    account_id: str
    timezone: str
    status: str
    status_reason: str | None
    settings: dict[str, Any]
    last_success_at: str | None
    last_error_at: str | None
    last_error: str | None
    rate_limit: dict[str, Any]
    rate_limited_until: str | None
    token_expires_at: str | None
    has_credentials: bool
    posts: dict[str, int] = Field(description="Number of posts by status")
    created_at: str


class ChannelList(BaseModel):
    channels: list[ChannelHealth]


class ReasonIn(BaseModel):
    model_config = _STRICT
    reason: Reason


class PauseIn(BaseModel):
    model_config = _STRICT
    reason: Reason
    until: UtcDatetime | None = Field(
        default=None, description="Lift the pause automatically at this time (with an offset)"
    )


class PauseState(BaseModel):
    """The global kill switch: while active nothing is dispatched."""

    active: bool
    reason: str | None = None
    by: str | None = None
    since: str | None = None
    until: str | None = None


class AuditEventOut(BaseModel):
    id: str
    at: str
    actor: str
    action: str
    article_id: str | None
    post_id: str | None
    channel_id: str | None
    detail: str | None
    before: dict[str, Any]
    after: dict[str, Any]


class AuditPage(BaseModel):
    events: list[AuditEventOut]
    next_cursor: str | None


class ChannelCreate(BaseModel):
    model_config = _STRICT
    platform: PlatformName
    name: Name
    account_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,100}$")]
    credentials: Credentials = Field(description="Write-only; stored encrypted, never returned")
    timezone: TimeZone | None = None
    settings: ChannelSettings = Field(default_factory=ChannelSettings)


class ChannelUpdate(BaseModel):
    model_config = _STRICT
    name: Name | None = None
    timezone: TimeZone | None = None
    settings: ChannelSettings | None = None


class CredentialsIn(BaseModel):
    model_config = _STRICT
    credentials: Credentials = Field(description="Write-only; stored encrypted, never returned")


class KeyCreate(BaseModel):
    model_config = _STRICT
    name: Name
    role: Role


class KeyOut(BaseModel):
    """An API key as listed: never the key itself or its hash."""

    id: str
    name: str
    role: str
    prefix: str
    created_at: str
    last_used_at: str | None
    revoked_at: str | None


class KeyCreated(KeyOut):
    key: str = Field(description="The key itself: shown this once, store it now")


class KeyList(BaseModel):
    keys: list[KeyOut]


#: Error responses every protected route documents.
PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "description": desc}
    for code, desc in (
        (401, "No valid API key"),
        (403, "The key's role may not do this"),
        (422, "Invalid input"),
    )
}
