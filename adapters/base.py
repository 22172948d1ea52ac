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
    Answers "was this published?" for a post whose delivery outcome is unknown.  When the
    platform could not be asked (it failed, throttled us, refused the token or the question),
    raises the classified :mod:`adapters.errors` error instead of answering: "the platform is
    down" and "the platform cannot tell" call for different actions (wait, or ask a person).
``publish_followup`` / ``reconcile_followup``
    The same for a follow-up under a live post (Instagram's first comment, a Facebook comment,
    the X reply that makes a thread; :mod:`adapters.followups`).

Adapters never touch the database.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal, Protocol

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    field_validator,
)

from adapters.routing_rules import ChannelRouting as ChannelRouting  # re-exported
from adapters.routing_rules import SlotSpec
from adapters.slot_spec import parse_slot_spec

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
    priority: Literal["normal", "breaking"] = "normal"


def _json_integer(value: Any) -> Any:
    # JSON Schema's "integer" includes 5.0 but not "5" or true; pydantic's lax int takes all.
    if isinstance(value, str | bool):
        raise ValueError("must be a JSON integer")
    return value


#: Annotated metadata for an integer as JSON Schema means it (5 or 5.0; not "5", not true).
#: Put it after the bounds, so the schema keeps them as minimum/maximum.
JSON_INTEGER = BeforeValidator(_json_integer)


#: Settings that belong to one platform: set on another platform's channel, they are refused.
PLATFORM_SETTINGS: dict[str, Platform] = {
    "attach_image": "x",
    "include_link": "x",
    "post_type": "facebook",
}
PLATFORM_NAMES: dict[str, str] = {"x": "X", "instagram": "Instagram", "facebook": "Facebook"}
#: X refuses longer alt text (``POST /2/media/metadata``: ``alt_text.text`` ≤ 1,000).
ALT_TEXT_LIMIT = 1000


def wants_image(platform: str, settings: ChannelSettings) -> bool:
    """Whether a channel's posts carry an image by choice (Instagram's always do)."""
    if platform == "x":
        return bool(settings.attach_image)
    return platform == "facebook" and settings.post_type == "photo"


def image_alt_text(article: ArticleContent) -> str:
    """The image's description: the article JSON has no alt text, so the headline (which is
    also what a headline card shows), within X's limit."""
    title = " ".join(article.title.split())
    return title if len(title) <= ALT_TEXT_LIMIT else title[: ALT_TEXT_LIMIT - 1] + "…"


class ChannelSettings(BaseModel):
    """Per-channel rendering and scheduling settings (stored as JSON on the channel).

    Unknown keys are refused (a misspelt setting must not be silently dropped); settings read
    back from storage go through :meth:`from_stored`, which tolerates keys of older versions.
    """

    model_config = ConfigDict(extra="forbid")

    template: str | None = Field(
        default=None,
        description="Python format string; fields: prefix, title, summary, link, hashtags, "
        "section, author, link_in_bio. Default depends on the platform.",
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
    # --- channel policy, enforced by the dispatcher when it claims due posts ---
    min_interval_seconds: Annotated[int, Field(ge=0, le=24 * 3600), JSON_INTEGER] = Field(
        default=0, description="Least time between two posts; 0 for none"
    )
    daily_cap: Annotated[int, Field(ge=1, le=10_000), JSON_INTEGER] | None = Field(
        default=None, description="Posts per calendar day in the channel's zone"
    )
    slots: SlotSpec | None = Field(
        default=None,
        description='Fixed local posting times, e.g. {"mon-fri": ["08:00", "12:30"], '
        '"sat-sun": ["10:00"]}; a normal post takes the next free slot (one per slot)',
    )
    stale_after_minutes: Annotated[int, Field(ge=1, le=30 * 24 * 60), JSON_INTEGER] = Field(
        default=360,
        description="A post still unsent this long after it was due (and its article "
        "published) expires instead of publishing old news",
    )
    breaking_keeps_spacing: StrictBool = False
    breaking_skips_approval: StrictBool = False
    breaking_prefix: str = Field(default="BREAKING:", max_length=40)
    routing: ChannelRouting = Field(
        default_factory=ChannelRouting,
        description="Which articles the channel takes, by source, section and tags; "
        "empty: every article",
    )
    # --- per-platform post shape (null: the platform's default; see PLATFORM_SETTINGS) ---
    attach_image: StrictBool | None = Field(
        default=None,
        description="X only: attach the article's image (or a headline card when it has "
        "none) with its alt text; default false",
    )
    include_link: StrictBool | None = Field(
        default=None,
        description="X only: put the article link in the post; false posts carry no URL "
        "(X charges more for posts with a URL); default true",
    )
    post_type: Literal["link", "photo"] | None = Field(
        default=None,
        description='Facebook only: "link" (a /feed link post, the default) or "photo" (a '
        "/photos post of the article image, the link in the caption)",
    )

    first_comment: str | None = Field(
        default=None,
        max_length=2200,
        description="A follow-up sent once the post is live: Instagram's first comment, a "
        "Facebook comment, on X the reply that makes a thread. Python format string; fields: "
        "url, link (with UTM), title, summary, section, author, hashtags, prefix, link_in_bio. "
        "Null or blank: no follow-up",
    )

    @field_validator("first_comment")
    @classmethod
    def _valid_first_comment(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        from adapters.text import FOLLOWUP_FIELDS, template_problems  # text imports this module

        problems = template_problems(value, FOLLOWUP_FIELDS)
        if problems:
            raise ValueError(" ".join(problems))
        return value

    @field_validator("slots")
    @classmethod
    def _valid_slots(cls, value: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
        if value is not None:
            if not value:
                return None  # {} says "no slots", as null does
            parse_slot_spec(value)  # raises ValueError with a sentence naming the bad key/time
        return value

    def platform_problems(self, platform: str) -> list[str]:
        """Sentences naming each setting given that ``platform`` does not have."""
        return [
            f"settings.{name}: only {PLATFORM_NAMES[owner]} channels have this setting (this "
            f"channel is on {PLATFORM_NAMES.get(platform, platform)}); leave it out or null"
            for name, owner in PLATFORM_SETTINGS.items()
            if getattr(self, name) is not None and owner != platform
        ]

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
    #: What the image shows, for people who cannot see it (X: at most 1,000 characters).
    alt_text: str = ""

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "url": self.url,
            "path": self.path,
            "width": self.width,
            "height": self.height,
            "content_type": self.content_type,
        }
        if self.alt_text:
            data["alt_text"] = self.alt_text
        return data


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
    #: The platform accepted this post but said no further call will succeed before this
    #: time (X: ``x-rate-limit-remaining: 0`` on a success); the channel pauses until then.
    pause_until: datetime | None = None


@dataclass(frozen=True)
class ReconcileResult:
    """The platform's answer to "was this post published?".

    ``True``: found (with its id); ``False``: proven absent (the listing covers the time since
    the attempt); ``None``: the platform answered, but its answer cannot prove presence or
    absence (the listing does not reach back far enough, an unknown container state).  A
    platform that failed to answer is never ``None``: ``reconcile`` raises its error.
    """

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

    def publish_followup(
        self, payload: Payload, credentials: dict[str, str], *, account_id: str, parent_id: str
    ) -> PublishResult:
        """Send a follow-up (first comment, thread reply) under the live post ``parent_id``."""
        ...

    def reconcile_followup(
        self,
        payload: Payload,
        credentials: dict[str, str],
        *,
        account_id: str,
        parent_id: str,
        since: datetime | None = None,
    ) -> ReconcileResult:
        """Was this follow-up published under ``parent_id``?  As ``reconcile``."""
        ...
