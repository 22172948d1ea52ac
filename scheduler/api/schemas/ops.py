"""Request and response models of the ops and admin API (so OpenAPI documents real shapes).

The read models (deliveries, channels and their health, audit events, keys) are the services'
own, re-exported here, so the API, the web UI and the CLI show one shape.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from adapters.base import ChannelSettings
from scheduler.access.keys import KeyOut
from scheduler.api.schemas.fields import LINE_PATTERN, NAME_PATTERN, Documented, IsoText
from scheduler.intake.schemas import stripped_not_blank
from scheduler.models import PlatformName, Role
from scheduler.ops.audit import AuditEventOut
from scheduler.ops.channel_health import ChannelHealth
from scheduler.ops.delivery_log import Delivery
from scheduler.ops.health import HealthSummary


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

__all__ = [
    "PROBLEMS",
    "AuditEventOut",
    "AuditPage",
    "ChannelCreate",
    "ChannelHealth",
    "ChannelList",
    "ChannelUpdate",
    "CredentialsIn",
    "Delivery",
    "DeliveryPage",
    "HealthSummary",
    "KeyCreate",
    "KeyCreated",
    "KeyList",
    "KeyOut",
    "PauseIn",
    "PauseState",
    "Problem",
    "ReasonIn",
    "UtcDatetime",
]

_STRICT = ConfigDict(extra="forbid")


class Problem(BaseModel):
    """An error (RFC 9457 problem+json)."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[str] | None = None


class DeliveryPage(BaseModel):
    deliveries: list[Delivery]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next (older) page")


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
