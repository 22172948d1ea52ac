"""The counting rules behind the article page's live counters and X preview, in pure Python.

The counters must agree with what the adapters refuse: the same characters (code points after
NFC), the same hashtags and @mentions, the same numbers in the sentences.  The rows of
:mod:`tests.web.counting_cases` are run here and, in Chromium, against the JavaScript.
"""

from __future__ import annotations

import pytest

from adapters.base import MediaItem
from adapters.facebook import FB_MESSAGE_LIMIT, facebook_message_problems
from adapters.instagram import IG_CAPTION_LIMIT, instagram_caption_problems
from adapters.text import HASHTAG_MARK, MENTION_MARK, count_marks, nfc_length
from scheduler.web.counters import meta_counts, over_note
from scheduler.web.xlinks import PreviewPart, x_display_url, x_preview_parts
from tests.web.counting_cases import COUNT_CASES, DISPLAY_URL_CASES

IMAGE = MediaItem(url="https://media.example/a.jpg", path="a.jpg", width=1080, height=1080)
_ADAPTER_COUNT = {
    "characters": nfc_length,
    "hashtags": lambda text: count_marks(text, HASHTAG_MARK),
    "mentions": lambda text: count_marks(text, MENTION_MARK),
}


@pytest.mark.parametrize(("key", "text", "expected"), COUNT_CASES)
def test_the_counter_counts_as_the_instagram_adapter(key: str, text: str, expected: int) -> None:
    counts = {c.key: c.value for c in meta_counts("instagram", text)}
    assert counts[key] == expected
    assert _ADAPTER_COUNT[key](text) == expected


@pytest.mark.parametrize(("url", "shown"), DISPLAY_URL_CASES)
def test_x_display_url(url: str, shown: str) -> None:
    assert x_display_url(url) == shown


def test_an_over_long_caption_gets_the_same_numbers_as_the_refusal() -> None:
    caption = "é" * (IG_CAPTION_LIMIT - 40) + " " + " ".join(f"#t{i}" for i in range(32))
    counts = {c.key: c for c in meta_counts("instagram", caption)}
    chars, tags = counts["characters"], counts["hashtags"]
    assert (chars.value, chars.over) == (2_310, 110) and (tags.value, tags.over) == (32, 2)
    assert counts["mentions"].hidden and not chars.hidden
    assert instagram_caption_problems(caption, []) == [
        "The caption is 2,310 characters; Instagram allows 2,200. Shorten it by 110.",
        "The caption has 32 hashtags; Instagram allows 30. Remove 2.",
        instagram_caption_problems("", [])[0],  # no image: not the counter's business
    ]
    assert over_note("instagram", list(counts.values())) == (
        "Over by 110 characters; Instagram allows 2,200. Over by 2 hashtags; Instagram allows 30."
    )


def test_at_the_limit_nothing_is_over_and_one_more_is_over_by_one() -> None:
    caption = "a" * (IG_CAPTION_LIMIT - 1) + "e\u0301"  # NFC makes the last two one
    assert over_note("instagram", meta_counts("instagram", caption)) == ""
    assert instagram_caption_problems(caption, [IMAGE]) == []
    note = over_note("instagram", meta_counts("instagram", caption + "😷"))
    assert note == "Over by 1 character; Instagram allows 2,200."


def test_the_facebook_counter_counts_the_message_as_the_adapter() -> None:
    message = "🇵🇰" * (FB_MESSAGE_LIMIT // 2) + "ab"
    (count,) = meta_counts("facebook", message)
    assert (count.key, count.value, count.limit, count.over) == ("characters", 63_208, 63_206, 2)
    assert over_note("facebook", [count]) == "Over by 2 characters; Facebook allows 63,206."
    assert facebook_message_problems(message, "https://x.example/")[0].startswith(
        "The message is 63,208 characters; Facebook allows 63,206. Shorten it by 2."
    )
    assert meta_counts("x", message) == []  # X has its own weighted counter


def test_the_x_preview_shows_each_link_as_x_does_and_keeps_the_rest() -> None:
    url = "https://www.dawn.com/news/2026/11/03/dar-istanbul?utm_source=x&utm_medium=social"
    text = f"🇵🇰 Dar in Istanbul {url} #Pakistan; see news.example and example.com"
    assert x_preview_parts(text) == [
        PreviewPart("🇵🇰 Dar in Istanbul "),
        PreviewPart("dawn.com/news/2026/11/0…", href=url, full=url),
        # .example is no TLD twitter-text knows: plain text to X, as to the counter
        PreviewPart(" #Pakistan; see news.example and "),
        PreviewPart("example.com", href="http://example.com", full="example.com"),
    ]
    assert x_preview_parts("") == [PreviewPart("")]
    assert "".join(p.text for p in x_preview_parts("no links here")) == "no links here"
