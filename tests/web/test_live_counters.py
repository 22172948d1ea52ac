"""The article page's live counters and X preview in headless Chromium: the Instagram caption's
characters and hashtags and the Facebook message's characters are counted as the editor types,
exactly as the adapters count when they refuse a text; the X preview shows links as X does; and
the render's "Left out …" note goes once the editor's text wins."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Locator, Page, expect

from scheduler.web.xlinks import x_display_url
from tests.web.counting_cases import COUNT_CASES, DISPLAY_URL_CASES
from tests.web.service import RunningService, variant

pytestmark = pytest.mark.browser

ARTICLE_URL = "https://news.example.com/2026/11/03/dar-istanbul-gaza-talks-demand-ceasefire/"
# More tags than fit beside X's title and link: the render leaves some out and says so.
TAGS = [f"Ceasefire talks {i}" for i in range(30)]
OVER_CAPTION = ("Ceasefire talks continue in Istanbul. " * 60)[:2_205]
TOO_MANY_TAGS = "Dar in Istanbul " + " ".join(f"#tag{i}" for i in range(31))


@pytest.fixture(scope="module")
def article_id(service: RunningService) -> uuid.UUID:
    """An article out in four hours: every post stays editable (X's waits for approval)."""
    published = (datetime.now(UTC) + timedelta(hours=4)).isoformat()
    ext = service.add_article(
        variant("counters", url=ARTICLE_URL, tags=TAGS, published_at=published)
    )
    posts = service.wait_posts(
        ext, {"x": {"pending_approval"}, "instagram": {"scheduled"}, "facebook": {"scheduled"}}
    )
    return posts["x"].article_id  # type: ignore[no-any-return]


def open_article(page: Page, article_id: uuid.UUID) -> None:
    page.goto(f"/articles/{article_id}")
    expect(page.locator("html")).to_have_attribute("data-meta-counter", "ready")
    expect(page.locator("html")).to_have_attribute("data-x-counter", "ready")


def card(page: Page, platform: str) -> Locator:
    return page.locator(f'.post-card[data-platform="{platform}"]')


def test_the_instagram_counter_follows_typing_and_matches_the_refusal(
    editor_page: Page, article_id: uuid.UUID
) -> None:
    page = editor_page
    open_article(page, article_id)
    ig = card(page, "instagram")
    caption = ig.get_by_label("Caption")
    counter = ig.locator(".meta-counter")
    chars = counter.locator('[data-count="characters"] .count-value')
    tags = counter.locator('[data-count="hashtags"] .count-value')
    note = ig.locator(".count-note")
    expect(note).to_have_attribute("aria-live", "polite")
    assert caption.get_attribute("aria-describedby") == f"{counter.get_attribute('id')} " + str(
        note.get_attribute("id")
    )
    # The server's count of the rendered caption is what the page starts from.
    start = caption.input_value()
    expect(chars).to_have_text(f"{len(start):,}")

    caption.fill("Dar 🇵🇰 e\u0301 #Gaza ##OIC a#b")
    expect(chars).to_have_text("24")  # code points after NFC: 🇵🇰 is 2, e + accent is 1
    expect(tags).to_have_text("2")
    expect(ig.locator("[data-preview-text]")).to_have_text("Dar 🇵🇰 e\u0301 #Gaza ##OIC a#b")
    expect(note).to_have_text("")
    expect(caption).to_have_attribute("aria-invalid", "false")

    caption.fill(OVER_CAPTION)
    expect(chars).to_have_text("2,205")
    expect(counter).to_have_class("counter meta-counter over")
    expect(note).to_have_text("Over by 5 characters; Instagram allows 2,200.")
    expect(caption).to_have_attribute("aria-invalid", "true")

    caption.fill(TOO_MANY_TAGS)
    expect(tags).to_have_text("31")
    expect(ig.locator(".hashtag-count")).to_contain_text("31 hashtags (Instagram allows 30)")
    expect(note).to_have_text("Over by 1 hashtag; Instagram allows 30.")

    caption.fill(OVER_CAPTION[: 2_205 - len(TOO_MANY_TAGS) - 1] + " " + TOO_MANY_TAGS)
    live_note = (
        "Over by 5 characters; Instagram allows 2,200. Over by 1 hashtag; Instagram allows 30."
    )
    expect(note).to_have_text(live_note)
    ig.get_by_role("button", name="Save text").click()

    # The server refuses with the same numbers, and its counter (no JavaScript needed) agrees.
    refused = card(page, "instagram").locator(".problems")
    expect(refused).to_contain_text(
        "The caption is 2,205 characters; Instagram allows 2,200. Shorten it by 5."
    )
    expect(refused).to_contain_text("The caption has 31 hashtags; Instagram allows 30. Remove 1.")
    expect(card(page, "instagram").locator(".count-note")).to_have_text(live_note)
    served = page.request.get(f"/articles/{article_id}").text()  # as served, before any script
    assert f">{live_note}</p>" in served and 'aria-invalid="true"' in served


def test_the_facebook_counter_follows_typing(editor_page: Page, article_id: uuid.UUID) -> None:
    page = editor_page
    open_article(page, article_id)
    fb = card(page, "facebook")
    count = fb.locator('.meta-counter [data-count="characters"] .count-value')
    expect(fb.locator(".meta-counter")).to_contain_text("/ 63,206 characters")
    fb.get_by_label("Message").fill("Dar 😷 in Istanbul")
    expect(count).to_have_text("17")  # the emoji is one code point (two UTF-16 units)
    expect(fb.locator("[data-preview-text]")).to_have_text("Dar 😷 in Istanbul")
    expect(fb.locator(".count-note")).to_have_text("")


def test_the_x_preview_shows_the_link_as_x_does_and_counts_it_23(
    editor_page: Page, article_id: uuid.UUID, service: RunningService
) -> None:
    page = editor_page
    open_article(page, article_id)
    x = card(page, "x")
    link = str(service.posts(f"{variant('counters')['external_id']}")["x"].link)
    assert link.startswith(ARTICLE_URL + "?utm_source=x")
    # The page as served (before any JavaScript) already shows the link as X does.
    served = page.request.get(f"/articles/{article_id}").text()
    assert ">news.example.com/2026/11/03/dar…</a>" in served
    shown = x.locator("[data-preview-text] a")
    expect(shown).to_have_text("news.example.com/2026/11/03/dar…")
    expect(shown).to_have_attribute("href", link)
    assert link in x.get_by_label("Post text").input_value()  # the textarea keeps the real URL

    long_url = "https://www.dawn.com/news/1953321/dar-arrives-in-istanbul?utm_source=x&utm_medium=s"
    x.get_by_label("Post text").fill(f"Dar in Istanbul {long_url}")
    expect(x.locator(".counter .count-value")).to_have_text(str(len("Dar in Istanbul ") + 23))
    expect(shown).to_have_text(x_display_url(long_url))
    expect(shown).to_have_text("dawn.com/news/1953321/d…")
    expect(shown).to_have_attribute("href", long_url)


def test_an_edit_drops_the_left_out_note(editor_page: Page, article_id: uuid.UUID) -> None:
    page = editor_page
    open_article(page, article_id)
    notes = card(page, "x").locator(".warnings")
    expect(notes).to_contain_text("Left out #")
    expect(notes).to_contain_text("to fit X's 280-character limit.")
    card(page, "x").get_by_label("Post text").fill(f"Dar in Istanbul for Gaza talks {ARTICLE_URL}")
    card(page, "x").get_by_role("button", name="Save text").click()
    expect(page.locator(".flash-ok")).to_have_text("The text was saved.")
    expect(card(page, "x").locator(".facts")).to_contain_text("the edit wins over re-rendering")
    expect(card(page, "x").locator(".warnings")).to_have_count(0)


def test_the_javascript_counts_as_the_python_table(
    editor_page: Page, article_id: uuid.UUID
) -> None:
    page = editor_page
    open_article(page, article_id)
    counted = page.evaluate(
        "cases => cases.map(([key, text]) => window.metaCount[key](text))",
        [[key, text] for key, text, _ in COUNT_CASES],
    )
    assert counted == [expected for _, _, expected in COUNT_CASES]
    shown = page.evaluate(
        "urls => urls.map(u => window.xDisplayUrl(u))", [url for url, _ in DISPLAY_URL_CASES]
    )
    assert shown == [expected for _, expected in DISPLAY_URL_CASES]
