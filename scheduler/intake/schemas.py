"""Input schemas: the article JSON that the CLI, the webhook and feeds hand to intake."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)
from pydantic_core import PydanticCustomError

from adapters.base import JSON_INTEGER, ArticleContent


def stripped_not_blank(value: str) -> str:
    """Strip surrounding whitespace after the length checks (so the documented maxLength holds
    for the text as sent) and refuse text that was only whitespace."""
    value = value.strip()
    if not value:
        raise PydanticCustomError("blank", "must not be blank")
    return value


def _http_url(value: str) -> str:
    from urllib.parse import urlsplit

    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an absolute http(s) URL")
    return value


class Documented:
    """Annotated metadata adding keywords to a type's JSON schema, so the OpenAPI document
    states a rule that a validator enforces (validators alone are invisible there)."""

    def __init__(self, **keywords: Any) -> None:
        self.keywords = keywords

    def __get_pydantic_json_schema__(self, schema: Any, handler: Any) -> dict[str, Any]:
        json_schema: dict[str, Any] = handler(schema)
        json_schema.update(self.keywords)
        return json_schema


def _iso_text(value: Any) -> Any:
    # pydantic would read 0 or "0.5" as Unix time; the schema says ISO 8601 text, so only that.
    if isinstance(value, str) and re.match(r"^\d{4}-\d{2}-\d{2}", value):
        return value
    if isinstance(value, str) or not isinstance(value, datetime):
        raise PydanticCustomError("datetime_format", "must be an ISO 8601 time with an offset")
    return value


#: A time given as ISO 8601 text (or a datetime, from our own code).
IsoText = BeforeValidator(_iso_text)
#: Any text without NUL (see :func:`refuse_nul`).
NO_NUL = Documented(pattern=r"^[^\x00]*$")
#: Stripped text that must not end up empty, without NUL.
NOT_BLANK = Documented(pattern=r"^[^\x00]*[^\s\x00][^\x00]*$")

HttpUrl = Annotated[
    str,
    StringConstraints(min_length=1, max_length=2000),
    AfterValidator(_http_url),
    # What _http_url takes: an http(s) scheme and a non-empty host (no brackets: urlsplit
    # refuses a malformed IPv6 host).
    Documented(
        pattern=r"^\s*[Hh][Tt][Tt][Pp][Ss]?://[^/?#\s\[\]\x00][^/?#\[\]\x00]*([/?#][^\x00]*)?$"
    ),
]
Text = Annotated[str, StringConstraints(max_length=200_000), NO_NUL]
Tag = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100),
    AfterValidator(stripped_not_blank),
    NOT_BLANK,
]
#: A one-line field: stripped, not blank; give its maxLength where it is used.
#: Tags an article may carry: CMSs attach far more than any post uses (the adapters pick the
#: most relevant, see adapters/text.py ``build_hashtags``), but the input stays bounded.
MAX_TAGS = 500
Line = Annotated[str, StringConstraints(min_length=1), NOT_BLANK]


def refuse_nul(value: Any) -> Any:
    """Refuse a string (or a list's string) holding NUL, which PostgreSQL text cannot store.

    NUL is the only character a database refuses: PostgreSQL stores every other control
    character, and unpaired surrogates are already refused by pydantic's ``str``.
    """
    items = value if isinstance(value, list) else [value]
    if any(isinstance(item, str) and "\x00" in item for item in items):
        raise PydanticCustomError("nul_character", "must not contain NUL characters")
    return value


#: The largest revision the database stores (an SQL INTEGER); a CMS never comes near it.
MAX_REVISION = 2**31 - 1


class StorableInput(BaseModel):
    """Input that will be stored: no string field may hold NUL (one rule for every intake path:
    webhook, API, CLI and feeds all validate through :class:`ArticleIn`)."""

    _no_nul = field_validator("*", mode="before")(refuse_nul)


class ArticleIn(StorableInput):
    """One published article, as the CMS describes it (see README, "Article JSON")."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    source: Annotated[Line, StringConstraints(max_length=100), AfterValidator(stripped_not_blank)]
    external_id: Annotated[
        Line, StringConstraints(max_length=300), AfterValidator(stripped_not_blank)
    ]
    url: HttpUrl
    title: Annotated[Line, StringConstraints(max_length=500), AfterValidator(stripped_not_blank)]
    summary: Annotated[Text, StringConstraints(max_length=5000)] = ""
    body: Text = ""
    image_url: HttpUrl | None = None
    image_credit: Annotated[Text, StringConstraints(max_length=300)] | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS)
    section: Annotated[Text, StringConstraints(max_length=200)] | None = None
    author: Annotated[Text, StringConstraints(max_length=300)] | None = None
    language: Annotated[Text, StringConstraints(min_length=2, max_length=20)] = "en"
    reading_minutes: Annotated[int, Field(ge=0, le=1000), JSON_INTEGER] | None = None
    published_at: Annotated[AwareDatetime, IsoText]
    priority: Literal["normal", "breaking"] = "normal"
    #: The CMS's revision number; when given, intake is idempotent on (source, external_id,
    #: revision).  Not part of the content (see ``content()`` and ``content_hash``).
    revision: Annotated[int, Field(ge=1, le=MAX_REVISION), JSON_INTEGER] | None = None

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
