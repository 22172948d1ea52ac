"""The article page's counters for an Instagram caption and a Facebook message.

They count exactly as the adapters do when they refuse a text (``instagram_caption_problems``,
``facebook_message_problems``): characters are code points after NFC (``nfc_length``, not UTF-16
units), hashtags and @mentions are the adapter's ``HASHTAG_MARK`` / ``MENTION_MARK`` matches.
``static/meta-counter.js`` repeats these rules while the editor types; these give the numbers
the page shows first (and all it shows without JavaScript).
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.facebook import FB_MESSAGE_LIMIT
from adapters.instagram import IG_CAPTION_LIMIT, IG_HASHTAG_LIMIT, IG_MENTION_LIMIT
from adapters.text import HASHTAG_MARK, MENTION_MARK, count_marks, nfc_length

PLATFORM_NAMES = {"instagram": "Instagram", "facebook": "Facebook"}


@dataclass(frozen=True)
class Count:
    """One counted thing of a text against the platform's limit."""

    key: str  # what meta-counter.js counts: characters, hashtags or mentions
    noun: str  # singular, as the sentence needs it
    value: int
    limit: int
    #: Shown only once over the limit (a caption seldom has @mentions; the line stays short).
    only_when_over: bool = False

    @property
    def over(self) -> int:
        return max(0, self.value - self.limit)

    @property
    def hidden(self) -> bool:
        return self.only_when_over and not self.over


def meta_counts(platform: str, text: str) -> list[Count]:
    """The counts the platform refuses a text on; empty for a platform without such a counter."""
    if platform == "instagram":
        return [
            Count("characters", "character", nfc_length(text), IG_CAPTION_LIMIT),
            Count("hashtags", "hashtag", count_marks(text, HASHTAG_MARK), IG_HASHTAG_LIMIT),
            Count(
                "mentions",
                "@mention",
                count_marks(text, MENTION_MARK),
                IG_MENTION_LIMIT,
                only_when_over=True,
            ),
        ]
    if platform == "facebook":
        return [Count("characters", "character", nfc_length(text), FB_MESSAGE_LIMIT)]
    return []


def over_note(platform: str, counts: list[Count]) -> str:
    """What is over the limit and by how much, in sentences; empty when everything fits.

    meta-counter.js writes the same sentences (its ``note`` function) while the editor types.
    """
    name = PLATFORM_NAMES.get(platform, platform)
    return " ".join(
        f"Over by {c.over:,} {c.noun}{'' if c.over == 1 else 's'}; {name} allows {c.limit:,}."
        for c in counts
        if c.over
    )
