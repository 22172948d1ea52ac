"""The adapter protocol shared by the X, Instagram and Facebook adapters.

An adapter turns an article into a platform payload and delivers it:

``render(article, settings, *, media=None) -> Payload``
    Pure and deterministic.  Enforces the platform's rules and returns the problems an editor
    must fix as sentences in ``Payload.problems`` (a payload with problems is never sent).
``validate(payload, settings) -> list[str]``
    Re-checks an edited payload with the same rules.
``publish(payload, credentials, *, account_id, state, on_progress) -> PublishResult``
    The only I/O.  Uses the injected ``httpx.Client``; never sleeps for back-off or retries;
    raises one of :mod:`adapters.errors`.  ``state``/``on_progress`` carry resumable platform
    state (the Instagram container id) that the caller persists the moment it is known.
``reconcile(payload, credentials, *, account_id, state, since) -> ReconcileResult``
    Answers "was this published?" for a post whose delivery outcome is unknown.

Adapters never touch the database.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool

Platform = Literal["x", "instagram", "facebook"]
PLATFORMS: tuple[Platform, ...] = ("x", "instagram", "facebook")


@dataclass(frozen=True)
class ArticleContent:
    """What an adapter may know of an article (no database object)."""

    source: str
    external_id: str
    url: str
    title: str
    summary: str = ""
    body: str = ""
    image_url: str | None = None
    tags: tuple[str, ...] = ()
    section: str | None = None
    author: str | None = None
    language: str = "en"
    published_at: datetime | None = None
    revision: int = 1


def _json_integer(value: Any) -> Any:
    # JSON Schema's "integer" includes 5.0 but not "5" or true; pydantic's lax int takes all.
    if isinstance(value, str | bool):
        raise ValueError("must be a JSON integer")
    return value


#: Annotated metadata for an integer as JSON Schema means it (5 or 5.0; not "5", not true).
#: Put it after the bounds, so the schema keeps them as minimum/maximum.
JSON_INTEGER = BeforeValidator(_json_integer)


class ChannelSettings(BaseModel):
    """Per-channel rendering and scheduling settings (stored as JSON on the channel).

    Unknown keys are refused (a misspelt setting must not be silently dropped); settings read
    back from storage go through :meth:`from_stored`, which tolerates keys of older versions.
    """

    model_config = ConfigDict(extra="forbid")

    template: str | None = Field(
        default=None,
        description="Python format string; fields: title, summary, link, hashtags, section, "
        "author, link_in_bio. Default depends on the platform.",
    )
    hashtags: list[str] = Field(default_factory=list, description="Always-added hashtags")
    # StrictBool and JSON_INTEGER: 0 is not false and "5" is not 5 (as the schema says).
    tags_as_hashtags: StrictBool = True
    max_hashtags: Annotated[int, Field(ge=0, le=30), JSON_INTEGER] | None = None
    utm_campaign: str = "newsrelay"
    link_in_bio: str = "Link in bio."
    delay_minutes: Annotated[int, Field(ge=0, le=7 * 24 * 60), JSON_INTEGER] = 0
    requires_approval: StrictBool = False
    image_fit: Literal["pad", "crop"] = "pad"
    brand_color: str = "#0b3d91"

    @classmethod
    def from_stored(cls, data: dict[str, Any] | None) -> ChannelSettings:
        """The settings stored on a channel; keys this version does not know are ignored."""
        return cls.model_validate(data or {}, extra="ignore", strict=False)


@dataclass(frozen=True)
class MediaItem:
    """An image stored in the media store, ready for a platform to fetch."""

    url: str
    path: str
    width: int
    height: int
    content_type: str = "image/jpeg"

    def as_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "path": self.path,
            "width": self.width,
            "height": self.height,
            "content_type": self.content_type,
        }


@dataclass
class Payload:
    """A rendered post for one platform."""

    channel: Platform
    text: str
    link: str | None = None
    media: list[MediaItem] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    weighted_length: int | None = None

    @property
    def fingerprint(self) -> str:
        """A stable digest of what is sent, to recognise the post on the platform later."""
        return text_fingerprint(self.text)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "channel": self.channel,
            "text": self.text,
            "link": self.link,
            "media": [m.as_dict() for m in self.media],
            "problems": list(self.problems),
            "warnings": list(self.warnings),
        }
        if self.weighted_length is not None:
            data["weighted_length"] = self.weighted_length
        return data


def text_fingerprint(text: str) -> str:
    """sha256 of the NFC-normalised, whitespace-collapsed text."""
    normal = " ".join(unicodedata.normalize("NFC", text).split())
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class PublishResult:
    """A post the platform accepted."""

    external_id: str
    external_url: str | None
    http_status: int | None = None
    rate_limit: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ReconcileResult:
    """The answer to "was this post published?"; ``published=None`` means it cannot be proven."""

    published: bool | None
    external_id: str | None = None
    external_url: str | None = None
    detail: str = ""


ProgressCallback = Callable[[dict[str, Any]], None]


class Adapter(Protocol):
    """What the scheduler needs of a channel adapter."""

    platform: Platform
    needs_image: bool

    def render(
        self, article: ArticleContent, settings: ChannelSettings, *, media: MediaItem | None = None
    ) -> Payload: ...

    def validate(self, payload: Payload, settings: ChannelSettings) -> list[str]: ...

    def publish(
        self,
        payload: Payload,
        credentials: dict[str, str],
        *,
        account_id: str,
        state: dict[str, Any] | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> PublishResult: ...

    def reconcile(
        self,
        payload: Payload,
        credentials: dict[str, str],
        *,
        account_id: str,
        state: dict[str, Any] | None = None,
        since: datetime | None = None,
    ) -> ReconcileResult: ...
