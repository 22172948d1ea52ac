"""An Urdu article reads right to left everywhere it appears: its title on the queue and the
article page, every preview, the text box an editor types in (``dir="auto"``), and the
Instagram headline card, drawn by adapters/cards.py with Noto Naskh and raqm and right-aligned.
The page is the README's screenshot of an Urdu article (docs/screenshots/urdu-article.png)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.web.conftest import shot
from tests.web.service import RunningService, variant

pytestmark = pytest.mark.browser

TITLE = "کراچی میں بارش کے بعد شہری سیلاب"
SUMMARY = "شہر کے کئی علاقوں میں پانی جمع ہو گیا اور ٹریفک گھنٹوں رکا رہا۔"  # noqa: RUF001  (Urdu full stop)
URDU = variant(
    "urdu",
    title=TITLE,
    summary=SUMMARY,
    body=SUMMARY,
    language="ur",
    section="کراچی",
    tags=["کراچی", "بارش", "سیلاب"],
)
del URDU["image_url"]  # no photo: Instagram gets the headline card

# The ink of each text line of the card's title area, measured in the browser on a canvas
# (the card is served by the service itself, so the canvas is readable).
CARD_LINES_JS = """img => {
    const c = document.createElement('canvas');
    c.width = img.naturalWidth; c.height = img.naturalHeight;
    const g = c.getContext('2d'); g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    const bg = [d[0], d[1], d[2]];
    const ink = (x, y) => { const i = (y * c.width + x) * 4;
        return Math.abs(d[i] - bg[0]) + Math.abs(d[i+1] - bg[1])
            + Math.abs(d[i+2] - bg[2]) > 200; };
    const lines = []; let cur = null;
    // The title starts 1.5 margins down; the source label sits in the last two margins.
    const margin = Math.floor(c.width / 12);
    for (let y = 0; y < c.height - 2 * margin; y += 2) {
        let left = -1, right = -1;
        for (let x = 0; x < c.width; x += 2) if (ink(x, y)) { if (left < 0) left = x; right = x; }
        if (left < 0) { if (cur && y - cur.bottom > 24) { lines.push(cur); cur = null; } continue; }
        if (!cur) cur = {top: y, bottom: y, left, right};
        cur.bottom = y; cur.left = Math.min(cur.left, left); cur.right = Math.max(cur.right, right);
    }
    if (cur) lines.push(cur);
    return {width: c.width, height: c.height, margin, lines};
}"""


@pytest.fixture(scope="module")
def urdu_article(service: RunningService) -> str:
    service.add_article(URDU)
    posts = service.wait_posts(
        URDU["external_id"],
        {"x": {"pending_approval"}, "instagram": {"published"}, "facebook": {"published"}},
    )
    return str(posts["x"].article_id)


def _direction(page: Page, selector: str) -> list[str]:
    found: list[str] = page.locator(selector).evaluate_all(
        "els => els.map(e => getComputedStyle(e).direction)"
    )
    assert found, f"nothing matches {selector}"
    return found


def test_an_urdu_article_reads_right_to_left_with_its_card(
    editor_page: Page, urdu_article: str
) -> None:
    page = editor_page
    page.goto("/")
    link = page.get_by_role("link", name=TITLE).first
    expect(link).to_have_attribute("dir", "auto")
    assert link.evaluate("e => getComputedStyle(e).direction") == "rtl"

    page.goto(f"/articles/{urdu_article}")
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    assert _direction(page, "h1") == ["rtl"]
    # Every preview (X, Instagram after the channel's name, Facebook) and the link cards.
    assert _direction(page, ".pv-text") == ["rtl"] * 3
    assert set(_direction(page, ".pv-fb-card strong, .pv-linkcard strong")) == {"rtl"}
    # The X post waits for approval, so its text box is there, and reads right to left.
    box = page.locator('.post-card[data-platform="x"]').get_by_label("Post text")
    expect(box).to_have_attribute("dir", "auto")
    assert box.evaluate("e => getComputedStyle(e).direction") == "rtl"
    box.fill(f"{TITLE} — تازہ ترین")
    assert box.evaluate("e => getComputedStyle(e).direction") == "rtl"
    box.fill(TITLE)

    card = page.locator(".pv-ig-img")
    expect(card).to_be_visible()
    assert card.evaluate("img => img.complete && img.naturalWidth > 0")
    measured: dict[str, Any] = card.evaluate(CARD_LINES_JS)
    _assert_right_aligned(measured)
    page.locator('.post-card[data-platform="instagram"]').scroll_into_view_if_needed()
    shot(page, "urdu-article.png")


def _assert_right_aligned(measured: dict[str, Any]) -> None:
    """The title wraps onto at least two lines that all end at the right margin and start at
    different places on the left: right-aligned, as Urdu is set (an LTR card would be the
    mirror image, every line starting at the left margin)."""
    lines, width, margin = measured["lines"], measured["width"], measured["margin"]
    assert (width, measured["height"]) == (1080, 1350), measured
    assert len(lines) >= 2, measured
    for line in lines:
        assert abs(line["right"] - (width - margin)) <= 12, measured
    assert max(line["left"] for line in lines) - min(line["left"] for line in lines) > 100
    assert all(line["left"] > margin + 20 for line in lines[1:]), measured
