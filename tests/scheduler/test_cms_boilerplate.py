"""CMS boilerplate (WordPress footers, excerpt "[…]", more links) is cut; the text stays."""

from __future__ import annotations

import pytest

from scheduler.intake.htmltext import html_to_text, strip_cms_boilerplate


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        (
            "<p>Dar reached Istanbul on Monday for talks [&hellip;]</p>",
            "Dar reached Istanbul on Monday for talks…",
        ),
        ("<p>Dar reached Istanbul. [&#8230;]</p>", "Dar reached Istanbul."),
        ("<p>Dar reached Istanbul [...]</p>", "Dar reached Istanbul…"),
        (
            '<p>Dar reached Istanbul on Monday &hellip; <a class="more-link" href="/dar/">Continue '
            'reading<span class="screen-reader-text"> "Dar in Istanbul"</span> &rarr;</a></p>',
            "Dar reached Istanbul on Monday…",
        ),
        (
            '<p>Dar reached Istanbul. <a href="/dar/">Read More &raquo;</a></p>',
            "Dar reached Istanbul.",
        ),
        (
            "<p>Talks in Istanbul [&hellip;]</p><p>The post <a href='/d/'>Dar</a> appeared "
            "first on <a href='/'>South Asian Desk</a>.</p>",
            "Talks in Istanbul…",
        ),
        ("<p>Dar talks.</p><p>This post Dar first appeared on Desk.</p>", "Dar talks."),
    ],
)
def test_boilerplate_is_stripped(markup: str, expected: str) -> None:
    assert strip_cms_boilerplate(html_to_text(markup, paragraphs=False)) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Readers who read more news are better informed.",
        "Read more about the ceasefire in our explainer, published on Monday.\n\nThe talks go on.",
        "Continue reading",  # nothing else: it is the item's own text
        "The post office appeared first on the list of closures.",
        "The post appeared first on Monday; it was later removed.\n\nDar spoke in Istanbul.",
    ],
)
def test_the_articles_own_words_are_kept(text: str) -> None:
    assert strip_cms_boilerplate(text) == text
