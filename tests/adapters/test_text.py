"""adapters.text: hashtags, UTM links, templates and grapheme-safe truncation."""

from __future__ import annotations

import pytest

from adapters.text import (
    build_hashtags,
    clean_text,
    hashtag_from_tag,
    template_problems,
    truncate_to_fit,
    with_utm,
)


@pytest.mark.parametrize(
    ("tag", "hashtag"),
    [
        ("Ishaq Dar", "#IshaqDar"),
        ("OIC", "#OIC"),
        ("#Gaza", "#Gaza"),
        ("Arab-Islamic huddle 2025", "#ArabIslamicHuddle2025"),
        ("پاکستان", "#پاکستان"),
        ("भारत सरकार", "#भारतसरकार"),  # vowel signs (marks) stay inside the word
        ("2025", None),
        ("\U0001f1f5\U0001f1f0", None),
        ("  ", None),
    ],
)
def test_hashtag_from_tag(tag: str, hashtag: str | None) -> None:
    assert hashtag_from_tag(tag) == hashtag


def test_build_hashtags_dedupes_case_insensitively_and_skips_those_in_the_title() -> None:
    tags = build_hashtags(
        ["Gaza", "gaza", "Ishaq Dar", "OIC"], ["#News", "news"], limit=3, already_in="On #oic"
    )
    assert tags == ["#News", "#Gaza", "#IshaqDar"]
    assert build_hashtags(["Gaza"], ["News"], use_tags=False) == ["#News"]


def test_with_utm_preserves_other_parameters_and_fragment() -> None:
    assert with_utm(
        "https://a.example.com/p?a=1&b=x%2By&utm_medium=rss#c", source="x", campaign="gaza talks"
    ) == (
        "https://a.example.com/p?a=1&b=x%2By&utm_source=x&utm_medium=social"
        "&utm_campaign=gaza+talks#c"
    )
    assert with_utm("https://ur.example.com/خبر", source="x", campaign="c") == (
        "https://ur.example.com/%D8%AE%D8%A8%D8%B1?utm_source=x&utm_medium=social&utm_campaign=c"
    )
    for bad in ("", "not a url", "javascript:alert(1)", "http://[::1", "ftp://a.example/x"):
        assert with_utm(bad, source="x", campaign="c") is None


def test_clean_text_normalises_line_endings_nfc_and_drops_invisible_junk() -> None:
    assert clean_text("a\r\nb\rc\u2028d") == "a\nb\nc\nd"
    assert clean_text("e\u0301\ufeff\x00\ud800") == "\u00e9\ufffd"


@pytest.mark.parametrize(
    ("template", "needle"),
    [
        ("{title", "not valid"),
        ("{headline}", "{headline}"),
        ("{title.upper}", "{title.upper}"),
        ("{}", "{}"),
        ("{title:d}", "cannot be filled in"),
    ],
)
def test_template_problems_name_the_bad_field(template: str, needle: str) -> None:
    problems = template_problems(template)
    assert len(problems) == 1 and needle in problems[0]
    assert template_problems("{title}\n{link} {hashtags} {{literal}}") == []


def test_truncate_to_fit_prefers_words_then_graphemes() -> None:
    def fits(t: str) -> bool:
        return len(t) <= 12

    assert truncate_to_fit("Dar meets Fidan in Istanbul", fits) == "Dar meets\u2026"
    assert truncate_to_fit("Dar, Fidan, Faisal", fits) == "Dar, Fidan\u2026"  # no dangling comma
    assert truncate_to_fit("x" * 500, fits) == "x" * 11 + "\u2026"
    conjunct = "\u0915\u094d\u0937"  # क्ष: three code points, one grapheme
    assert truncate_to_fit(conjunct * 10, fits) == conjunct * 3 + "\u2026"
    assert truncate_to_fit("short", fits) == "short"
    assert truncate_to_fit("https://example.com/very/long/path", fits) == ""
