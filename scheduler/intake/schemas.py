"""Input schemas: the article JSON that the CLI, the webhook and feeds hand to intake."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)
from pydantic_core import PydanticCustomError

from adapters.base import ArticleContent


def _http_url(value: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an absolute http(s) URL")
    return value


HttpUrl = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=2000),
    AfterValidator(_http_url),
]
Text = Annotated[str, StringConstraints(max_length=200_000)]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


def refuse_nul(value: Any) -> Any:
    """Refuse a string (or a list's string) holding NUL, which PostgreSQL text cannot store.

    NUL is the only character a database refuses: PostgreSQL stores every other control
    character, and unpaired surrogates are already refused by pydantic's ``str``.
    """
    items = value if isinstance(value, list) else [value]
    if any(isinstance(item, str) and "\x00" in item for item in items):
        raise PydanticCustomError("nul_character", "must not contain NUL characters")
    return value


class StorableInput(BaseModel):
    """Input that will be stored: no string field may hold NUL (one rule for every intake path:
    webhook, API, CLI and feeds all validate through :class:`ArticleIn`)."""

    _no_nul = field_validator("*", mode="before")(refuse_nul)


class ArticleIn(StorableInput):
    """One published article, as the CMS describes it (see README, "Article JSON")."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    source: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    external_id: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)
    ]
    url: HttpUrl
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    summary: Annotated[str, StringConstraints(max_length=5000)] = ""
    body: Text = ""
    image_url: HttpUrl | None = None
    image_credit: Annotated[str, StringConstraints(max_length=300)] | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=50)
    section: Annotated[str, StringConstraints(max_length=200)] | None = None
    author: Annotated[str, StringConstraints(max_length=300)] | None = None
    language: Annotated[str, StringConstraints(min_length=2, max_length=20)] = "en"
    reading_minutes: Annotated[int, Field(ge=0, le=1000)] | None = None
    published_at: AwareDatetime
    priority: Literal["normal", "breaking"] = "normal"
    #: The CMS's revision number; when given, intake is idempotent on (source, external_id,
    #: revision).  Not part of the content (see ``content()`` and ``content_hash``).
    revision: Annotated[int, Field(ge=1)] | None = None

    def content(self, *, revision: int = 1) -> ArticleContent:
        """The adapter-facing view of this article."""
        return ArticleContent(
            source=self.source,
            external_id=self.external_id,
            url=self.url,
            title=self.title,
            summary=self.summary,
            body=self.body,
            image_url=self.image_url,
            tags=tuple(self.tags),
            section=self.section,
            author=self.author,
            language=self.language,
            published_at=self.published_at,
            revision=revision,
        )


class InvalidInput(ValueError):
    """Input failed validation; ``errors`` holds one sentence per field."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def field_errors(exc: ValidationError) -> list[str]:
    """One readable line per invalid field, e.g. ``published_at: must include a time zone``."""
    lines: list[str] = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(body)"
        kind = err["type"]
        if kind == "extra_forbidden":
            msg = "unknown field"
        elif kind == "missing":
            msg = "required field is missing"
        elif kind == "timezone_aware":
            msg = "must include a time zone offset, e.g. 2025-11-03T16:35:00+05:00"
        else:
            msg = err["msg"]
            if msg.startswith("Value error, "):
                msg = msg[len("Value error, ") :]
        lines.append(f"{loc}: {msg}")
    return lines


def parse_article(data: Any) -> ArticleIn:
    """Validate article JSON, raising :class:`InvalidInput` with one error per field."""
    if not isinstance(data, dict):
        raise InvalidInput(["(body): expected a JSON object with the article's fields"])
    try:
        return ArticleIn.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(field_errors(exc)) from None


def ensure_aware(value: datetime) -> datetime:
    """Refuse naive datetimes: every time newsrelay takes must carry its zone."""
    if value.tzinfo is None:
        raise InvalidInput(["time: must include a time zone offset"])
    return value
