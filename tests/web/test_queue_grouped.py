"""The queue grouped by article in headless Chromium: one entry per article with its posts as
chips (status and time), text search, day/section/source filters, bulk approve and cancel with
a per-post report, and a phone viewport where no label wraps away from its field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.web.conftest import login
from tests.web.service import RunningService, variant

pytestmark = pytest.mark.browser

NEWSROOM = ZoneInfo("Asia/Karachi")
WORD = "Grpq"  # in every title here, and in no other test's
ARTICLES = {
    # tag: (title, section, source, hours from now)
    "lahore": (f"{WORD} Lahore flood relief reaches Ravi villages", "Pakistan", None, 5),
    "karachi": (f"{WORD} Karachi port strike ends", "Business", "wiredesk", 6),
    "quetta": (f"{WORD} Quetta snowfall closes highway", "Weather", None, 72),
    "gone": (f"{WORD} Gwadar ferry sails (already out)", "Pakistan", None, -0.02),
}


@pytest.fixture(scope="module", autouse=True)
def articles(service: RunningService) -> dict[str, str]:
    """Four articles: three upcoming (X waits for approval), one already sent to Instagram."""
    now = datetime.now(UTC)
    ids = {}
    for tag, (title, section, source, hours) in ARTICLES.items():
        changes: dict[str, Any] = {
            "title": title,
            "section": section,
            "published_at": (now + timedelta(hours=hours)).isoformat(),
        }
        if source:
            changes["source"] = source
        ids[tag] = service.add_article(variant(f"grp-{tag}", **changes))
    for tag, ext in ids.items():
        upcoming = {"instagram": {"scheduled"}, "facebook": {"scheduled"}}
        want = {"instagram": {"published"}} if tag == "gone" else upcoming
        service.wait_posts(ext, {"x": {"pending_approval"}, **want})
    return ids


def entries(page: Page) -> Locator:
    return page.locator("li.entry")


def chip(page: Page, tag: str, platform: str) -> Locator:
    title = ARTICLES[tag][0]
    return page.locator("li.entry", has=page.get_by_role("link", name=title, exact=True)).locator(
        f'li.chip[data-platform="{platform}"]'
    )


def test_one_entry_per_article_with_chips_carrying_status_and_time(
    editor_page: Page, service: RunningService, articles: dict[str, str]
) -> None:
    page = editor_page
    page.goto("/?q=Lahore+flood")
    expect(entries(page)).to_have_count(1)
    entry = entries(page).first
    expect(entry.locator("a.title")).to_have_text(ARTICLES["lahore"][0])
    expect(entry.locator("a.title")).to_have_attribute("dir", "auto")
    expect(entry.locator(".section")).to_have_text("Pakistan")
    expect(entry.locator(".chip")).to_have_count(3)
    posts = service.posts(articles["lahore"])
    for platform, status in (
        ("x", "pending approval"),
        ("instagram", "scheduled"),
        ("facebook", "scheduled"),
    ):
        c = chip(page, "lahore", platform)
        expect(c.locator(".badge")).to_have_text(status)
        at = posts[platform].scheduled_at
        assert at is not None
        expect(c.locator("time")).to_have_text(at.astimezone(NEWSROOM).strftime("%H:%M PKT"))
    # Facebook posts in London time: its chip shows that time beside the newsroom's.
    expect(chip(page, "lahore", "facebook").locator(".other-tz")).to_contain_text("Europe/London")


def test_search_finds_an_article_by_a_word_of_its_title(editor_page: Page) -> None:
    page = editor_page
    page.goto("/")
    page.get_by_label("Search titles and text").fill("snowfall")
    page.get_by_role("button", name="Filter").click()
    expect(entries(page)).to_have_count(1)
    expect(entries(page).locator("a.title")).to_have_text(ARTICLES["quetta"][0])
    expect(page.get_by_label("Search titles and text")).to_have_value("snowfall")


def test_day_section_and_source_filters_narrow_the_list(editor_page: Page) -> None:
    page = editor_page
    page.goto(f"/?q={WORD}")
    expect(entries(page)).to_have_count(4)
    page.get_by_label("Section").fill("business")
    page.get_by_role("button", name="Filter").click()
    expect(entries(page).locator("a.title")).to_have_text([ARTICLES["karachi"][0]])

    page.goto(f"/?q={WORD}")
    page.get_by_label("Source").fill("wiredesk")
    page.get_by_role("button", name="Filter").click()
    expect(entries(page).locator("a.title")).to_have_text([ARTICLES["karachi"][0]])

    # Up to the day the Karachi posts go out: Quetta (three days on) is left out.
    last = (datetime.now(UTC) + timedelta(hours=7)).astimezone(NEWSROOM).date()
    page.goto(f"/?q={WORD}")
    page.get_by_label("To day").fill(last.isoformat())
    page.get_by_role("button", name="Filter").click()
    expect(entries(page)).to_have_count(3)
    expect(entries(page).locator("a.title", has_text="Quetta")).to_have_count(0)


def test_bulk_approve_of_two_pending_posts_approves_both_and_says_so(
    editor_page: Page, service: RunningService, articles: dict[str, str]
) -> None:
    page = editor_page
    page.goto(f"/?q={WORD}")
    for tag in ("lahore", "karachi"):
        chip(page, tag, "x").get_by_role("checkbox").check()
    page.get_by_label("Action").select_option("approve")
    page.get_by_role("button", name="Apply to ticked posts").click()
    result = page.locator(".bulk-result")
    expect(result).to_have_text("2 approved.")
    expect(result).to_have_attribute("aria-live", "polite")
    expect(result).to_be_focused()  # read out after the reload, where the form is
    for tag in ("lahore", "karachi"):
        assert str(service.posts(articles[tag])["x"].status) == "scheduled"
        expect(chip(page, tag, "x").locator(".badge")).to_have_text("scheduled")
    assert page.url.endswith(f"/?q={WORD}#bulk")  # back on the same filtered page


def test_bulk_cancel_with_a_published_post_reports_the_skip(
    editor_page: Page, service: RunningService, articles: dict[str, str]
) -> None:
    page = editor_page
    page.goto(f"/?q={WORD}")
    chip(page, "gone", "x").get_by_role("checkbox").check()
    chip(page, "gone", "instagram").get_by_role("checkbox").check()
    page.get_by_label("Action").select_option("cancel")
    page.get_by_role("button", name="Apply to ticked posts").click()
    result = page.locator(".bulk-result")
    expect(result.locator(".flash")).to_have_text("1 cancelled; 1 skipped: already published.")
    expect(result.locator(".bulk-details li")).to_have_text(
        [f"{ARTICLES['gone'][0]} (Sandbox Instagram): already published"]
    )
    posts = service.posts(articles["gone"])
    assert (str(posts["x"].status), str(posts["instagram"].status)) == ("cancelled", "published")


def test_bulk_needs_the_csrf_token_and_the_editor_role(
    editor_page: Page, ops_page: Page, service: RunningService, articles: dict[str, str]
) -> None:
    x = service.posts(articles["quetta"])["x"]
    form = {"action": "cancel", "post_id": str(x.id)}
    editor_page.goto("/")
    assert editor_page.request.post("/posts/bulk", form=form).status == 403  # no token
    ops_page.goto("/")
    expect(ops_page.locator("#bulk-form")).to_have_count(0)
    token = ops_page.locator('meta[name="csrf-token"]').get_attribute("content") or ""
    response = ops_page.request.post("/posts/bulk", form={**form, "csrf_token": token})
    assert response.status == 403
    assert str(service.posts(articles["quetta"])["x"].status) == "pending_approval"


def test_one_box_ticks_every_post_of_an_article(editor_page: Page) -> None:
    page = editor_page
    page.goto("/?q=snowfall")
    boxes = entries(page).locator('.chips input[type="checkbox"]')
    expect(boxes).to_have_count(3)
    page.get_by_label(f"Tick every post of {ARTICLES['quetta'][0]}").check()
    for i in range(3):
        expect(boxes.nth(i)).to_be_checked()
    boxes.nth(0).uncheck()
    expect(page.locator(".pick-article")).not_to_be_checked()


def _beside_or_above(label: dict[str, float], field: dict[str, float]) -> bool:
    """The label sits directly above its field (little gap, overlapping columns) or on the
    same line right next to it."""
    gap_below = field["y"] - (label["y"] + label["height"])
    overlaps = label["x"] < field["x"] + field["width"] and field["x"] < label["x"] + label["width"]
    above = -2 <= gap_below <= 12 and overlaps
    mid_l, mid_f = label["y"] + label["height"] / 2, field["y"] + field["height"] / 2
    gap_side = min(
        abs(field["x"] - (label["x"] + label["width"])),
        abs(label["x"] - (field["x"] + field["width"])),
    )
    beside = abs(mid_l - mid_f) <= max(label["height"], field["height"]) / 2 and gap_side <= 24
    return above or beside


def test_on_a_phone_every_label_sits_by_its_field(
    browser: Browser, service: RunningService
) -> None:
    ctx = browser.new_context(
        base_url=service.url, viewport={"width": 390, "height": 844}, is_mobile=True
    )
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()
    try:
        login(page, "editor")
        page.goto(f"/?q={WORD}")
        expect(entries(page)).to_have_count(4)
        pairs = page.locator("form.filters label, form.bulk-form label, li.chip label")
        assert pairs.count() >= 7 + 2 + 9
        for i in range(pairs.count()):
            label = pairs.nth(i)
            field = page.locator(f"#{label.get_attribute('for')}")
            box_l, box_f = label.bounding_box(), field.bounding_box()
            assert box_l and box_f, label.inner_text()
            assert _beside_or_above(box_l, box_f), (label.inner_text(), box_l, box_f)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
    finally:
        ctx.close()
