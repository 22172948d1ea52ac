"""The result of a post action shown where it was taken, cancel with confirmation and undo, and a
needs_review post retried only once checked or marked as published, in headless Chromium
against ``newsrelay run`` (a phone-sized window, so the page scrolls down to the card)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from scheduler.models import AttemptStatus, Post, PostStatus
from tests.utils.factories import add_attempt, set_post
from tests.web.conftest import login
from tests.web.service import RunningService, variant

pytestmark = pytest.mark.browser

UPCOMING = {"x": {"pending_approval"}, "instagram": {"scheduled"}, "facebook": {"scheduled"}}


@pytest.fixture
def phone_page(browser: Browser, service: RunningService) -> Iterator[Page]:
    ctx = browser.new_context(base_url=service.url, viewport={"width": 390, "height": 844})
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()
    login(page, "editor")
    yield page
    ctx.close()


def upcoming_article(service: RunningService, tag: str) -> tuple[str, dict[str, Post]]:
    """A variant article published three hours ahead (its posts wait on the schedule): its
    external id and its posts by platform."""
    ahead = (datetime.now(UTC) + timedelta(hours=3)).isoformat()
    ext = service.add_article(variant(tag, published_at=ahead))
    posts: dict[str, Post] = service.wait_posts(ext, UPCOMING)
    return ext, posts


def card(page: Page, platform: str) -> Locator:
    return page.locator(f'.post-card[data-platform="{platform}"]')


def test_the_result_appears_in_the_acted_on_card_announced_focused_and_in_view(
    phone_page: Page, service: RunningService
) -> None:
    _, posts = upcoming_article(service, "card-flash")
    page = phone_page
    page.goto(f"/articles/{posts['facebook'].article_id}")
    fb = card(page, "facebook")
    zone = ZoneInfo(service.channel("facebook").timezone)
    at = (datetime.now(UTC) + timedelta(hours=5)).astimezone(zone).replace(second=0, microsecond=0)
    fb.get_by_label(re.compile("Publish at")).fill(at.strftime("%Y-%m-%dT%H:%M"))
    fb.get_by_role("button", name="Schedule").click()

    result = card(page, "facebook").locator(".card-flash")
    expect(result).to_have_text(re.compile(r"^Scheduled for .*\(Europe/London\)\.$"))
    expect(result).to_have_attribute("role", "status")
    expect(result).to_have_attribute("aria-live", "polite")
    expect(result).to_be_in_viewport()
    expect(result).to_be_focused()  # a screen reader reads it after the reload
    # The page came back scrolled down to the card, past the article's heading.
    expect(page.get_by_role("heading", level=1)).not_to_be_in_viewport()
    expect(page.locator(".flash")).to_have_count(1)  # not repeated at the top of the page
    expect(card(page, "x").locator(".card-flash")).to_have_count(0)

    # A refusal is an alert in the card it concerns.
    past = (datetime.now(UTC) - timedelta(hours=2)).astimezone(zone)
    fb = card(page, "facebook")
    fb.get_by_label(re.compile("Publish at")).fill(past.strftime("%Y-%m-%dT%H:%M"))
    fb.get_by_role("button", name="Schedule").click()
    refusal = card(page, "facebook").locator(".card-flash")
    expect(refusal).to_have_attribute("role", "alert")
    expect(refusal).to_have_class(re.compile(r"\bflash-error\b"))
    expect(refusal).to_contain_text("That time has passed")
    expect(refusal).to_be_in_viewport()
    expect(refusal).to_be_focused()

    # A page-level message stays at the top: the card shows nothing once the page is reloaded.
    page.reload()
    expect(page.locator(".flash")).to_have_count(0)


def test_cancel_asks_for_confirmation_shows_who_and_when_and_undo_restores_it(
    phone_page: Page, service: RunningService
) -> None:
    ext, posts = upcoming_article(service, "cancel-undo")
    due = service.posts(ext)["facebook"].scheduled_at
    page = phone_page
    page.goto(f"/articles/{posts['facebook'].article_id}")
    fb = card(page, "facebook")

    # Not ticked: the browser asks for the confirmation and nothing is sent.
    fb.get_by_role("button", name="Cancel post").click()
    confirm = fb.get_by_label("Yes, cancel this post")
    assert confirm.evaluate("el => el.validationMessage") != ""
    assert str(service.posts(ext)["facebook"].status) == "scheduled"
    # Without the browser's check (no validation, or a crafted form) the server refuses too.
    confirm.evaluate("el => el.removeAttribute('required')")
    fb.get_by_role("button", name="Cancel post").click()
    expect(card(page, "facebook").locator(".card-flash")).to_have_text(
        "Tick \u201cYes, cancel this post\u201d to cancel it; nothing was changed."
    )
    assert str(service.posts(ext)["facebook"].status) == "scheduled"

    fb = card(page, "facebook")
    fb.get_by_label("Yes, cancel this post").check()
    fb.get_by_role("button", name="Cancel post").click()
    fb = card(page, "facebook")
    expect(fb.locator(".card-flash")).to_contain_text("The post was cancelled")
    expect(fb.locator(".badge").first).to_have_text("cancelled")
    note = fb.locator(".cancelled-note")
    expect(note).to_contain_text(re.compile(r"Cancelled by editor at .*\d\d:\d\d PKT"))
    expect(note.locator("time")).to_have_attribute("datetime", re.compile(r"^\d{4}-\d\d-\d\dT"))
    expect(note.get_by_role("button", name="Undo")).to_be_in_viewport()
    assert str(service.posts(ext)["facebook"].status) == "cancelled"

    note.get_by_role("button", name="Undo").click()
    fb = card(page, "facebook")
    expect(fb.locator(".card-flash")).to_have_text(
        "The cancel was undone; the post is scheduled again."
    )
    expect(fb.locator(".card-flash")).to_be_focused()
    expect(fb.locator(".badge").first).to_have_text("scheduled")
    expect(fb.locator(".cancelled-note")).to_have_count(0)
    restored = service.posts(ext)["facebook"]
    assert str(restored.status) == "scheduled" and restored.scheduled_at == due


def _needs_review(service: RunningService, tag: str) -> tuple[str, dict[str, Post]]:
    """An article whose Instagram and Facebook posts could not be proven sent either way (as
    reconciliation leaves them)."""
    ext, posts = upcoming_article(service, tag)
    for platform in ("instagram", "facebook"):
        post = posts[platform]
        add_attempt(service.engine, post, status=AttemptStatus.UNKNOWN)
        set_post(
            service.engine,
            post.id,
            status=PostStatus.NEEDS_REVIEW,
            last_error="Could not prove whether the post was published; a person must check.",
        )
    return ext, posts


def test_retry_on_needs_review_requires_the_person_to_confirm_they_checked(
    phone_page: Page, service: RunningService
) -> None:
    ext, posts = _needs_review(service, "review-retry")
    page = phone_page
    page.goto(f"/articles/{posts['instagram'].article_id}")
    ig = card(page, "instagram")
    review = ig.get_by_role("region", name="Is this post on Instagram?")
    expect(review).to_be_visible()
    expect(ig.locator(".actions").get_by_role("button", name="Retry")).to_have_count(0)

    review.get_by_role("button", name="Retry").click()
    checked = review.get_by_label("I checked the account and the post is not there")
    assert checked.evaluate("el => el.validationMessage") != ""
    assert str(service.posts(ext)["instagram"].status) == "needs_review"

    checked.check()
    review.get_by_role("button", name="Retry").click()
    expect(card(page, "instagram").locator(".card-flash")).to_contain_text("back on the schedule")
    assert str(service.posts(ext)["instagram"].status) != "needs_review"


def test_mark_as_published_refuses_a_wrong_address_then_publishes_with_the_link(
    phone_page: Page, service: RunningService
) -> None:
    ext, posts = _needs_review(service, "review-mark")
    page = phone_page
    page.goto(f"/articles/{posts['facebook'].article_id}")
    review = card(page, "facebook").get_by_role("region", name="Is this post on Facebook?")
    review.get_by_label("The post's address on Facebook").fill("https://example.com/news/1")
    review.get_by_role("button", name="Mark as published").click()
    refusal = card(page, "facebook").locator(".card-flash")
    expect(refusal).to_have_text(
        "example.com is not Facebook: a Facebook post's address is on facebook.com"
    )
    expect(refusal).to_have_attribute("role", "alert")
    expect(refusal).to_be_in_viewport()
    assert str(service.posts(ext)["facebook"].status) == "needs_review"
    # The address is kept to fix, marked invalid and described by the refusal.
    field = card(page, "facebook").get_by_label("The post's address on Facebook")
    expect(field).to_have_value("https://example.com/news/1")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_accessible_description(re.compile("^example.com is not Facebook"))

    url = "https://www.facebook.com/sandboxnewsroom/posts/1234567890"
    review = card(page, "facebook").get_by_role("region", name="Is this post on Facebook?")
    review.get_by_label("The post's address on Facebook").fill(url)
    review.get_by_role("button", name="Mark as published").click()
    fb = card(page, "facebook")
    expect(fb.locator(".card-flash")).to_have_text(
        "Marked as published; the card links to the post."
    )
    expect(fb.locator(".badge").first).to_have_text("published")
    expect(fb.get_by_role("link", name="view on facebook")).to_have_attribute("href", url)
    expect(fb.get_by_role("region", name="Is this post on Facebook?")).to_have_count(0)
    post = service.posts(ext)["facebook"]
    assert str(post.status) == "published" and post.external_url == url
    attempts = service.attempts(post.id)
    assert [str(a.status) for a in attempts] == ["succeeded"]
    assert "confirmed by user:editor" in (attempts[0].message or "")


def test_ops_retry_a_needs_review_post_from_its_card_after_the_check_not_from_the_log(
    ops_page: Page, service: RunningService
) -> None:
    ext, posts = _needs_review(service, "review-ops")
    fb = posts["facebook"]
    (attempt,) = service.attempts(fb.id)
    page = ops_page
    page.goto("/deliveries")
    row = page.locator(f'tr[data-attempt="{attempt.id}"]')
    expect(row).to_be_visible()
    expect(row.get_by_role("button", name="Retry")).to_have_count(0)  # no blind retry here

    page.goto(f"/articles/{fb.article_id}")
    review = card(page, "facebook").get_by_role("region", name="Is this post on Facebook?")
    expect(review.get_by_role("button", name="Mark as published")).to_have_count(0)  # editors'
    review.get_by_label("I checked the account and the post is not there").check()
    review.get_by_role("button", name="Retry").click()
    expect(card(page, "facebook").locator(".card-flash")).to_contain_text("back on the schedule")
    assert str(service.posts(ext)["facebook"].status) != "needs_review"
