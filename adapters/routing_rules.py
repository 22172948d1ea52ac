"""What a channel takes and when: routing rules and posting slots, as channel settings state them
(re-exported by :mod:`adapters.base`, where ``ChannelSettings`` uses them)."""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)

#: A source, section or tag name in routing rules (blank names are refused by the validator).
RoutingName = Annotated[str, StringConstraints(min_length=1, max_length=200)]

_DAY = "(mon|tue|wed|thu|fri|sat|sun)"
#: Posting slots by days.  Validated by ``parse_slot_spec`` (whose refusals name the bad key or
#: time); the schema states the same rule: day keys (mon, mon-fri, mon,wed) and 24-hour times.
SlotSpec = Annotated[
    dict[str, list[str]],
    WithJsonSchema(
        {
            "type": "object",
            "propertyNames": {"pattern": rf"^{_DAY}(-{_DAY})?(,{_DAY}(-{_DAY})?)*$"},
            "additionalProperties": {
                "type": "array",
                "minItems": 1,
                "maxItems": 48,
                "items": {"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d$"},
            },
        }
    ),
]


class ChannelRouting(BaseModel):
    """Which articles a channel takes (empty lists: every article).

    An article matches when its source is in ``sources`` (if any), its section in ``sections``
    (if any), it carries one of ``tags_any`` (if any), and neither its section nor any of its tags
    is excluded.  Sections and tags compare case-insensitively; sources exactly.
    """

    model_config = ConfigDict(extra="forbid")

    sources: list[RoutingName] = Field(default_factory=list, max_length=200)
    sections: list[RoutingName] = Field(default_factory=list, max_length=200)
    tags_any: list[RoutingName] = Field(default_factory=list, max_length=200)
    exclude_sections: list[RoutingName] = Field(default_factory=list, max_length=200)
    exclude_tags: list[RoutingName] = Field(default_factory=list, max_length=200)

    @field_validator("sources", "sections", "tags_any", "exclude_sections", "exclude_tags")
    @classmethod
    def _words(cls, value: list[str]) -> list[str]:
        cleaned = [word.strip() for word in value]
        for word in cleaned:
            if not word:
                raise ValueError("must not contain an empty name")
            if len(word) > 200:
                raise ValueError(f"names are at most 200 characters ({word[:20]!r}…)")
        return cleaned
