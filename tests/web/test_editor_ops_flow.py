"""The web UI end to end in headless Chromium against ``newsrelay run`` with the sandbox:
an editor reviews, fixes, schedules and approves the fixture article's X post; ops watch it
arrive in the live delivery log, see a failing channel's reason, and use the kill switch."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect

from scheduler.channels import SANDBOX_ACCOUNTS
from scheduler.models import PlatformName
from tests.web.conftest import login, new_context, shot
from tests.web.service import RunningService, fixture_article, variant, wait_seconds

pytestmark = pytest.mark.browser

FIXTURE = fixture_article()
RED = "rgb(180, 35, 24)"  # --bad in app.css
PUBLISHED = {"published"}


@pytest.fixture(scope="module", autouse=True)
def articles(service: RunningService) -> None:
    """The fixture article (its X post waits for approval) and two upcoming ones for the queue."""
    service.add_article(FIXTURE)
    now = datetime.now(UTC)
    for tag, delta in (("evening", timedelta(hours=3)), ("tomorrow", timedelta(days=1))):
        service.add_article(variant(tag, published_at=(now + delta).isoformat()))
    service.wait_posts(
        FIXTURE["external_id"],
        {"x": {"pending_approval"}, "instagram": PUBLISHED, "facebook": PUBLISHED},
    )


def x_card(page: Page):  # type: ignore[no-untyped-def]
    return page.locator('.post-card[data-platform="x"]')


def open_fixture_from_queue(page: Page) -> None:
    # Other tests add articles to the shared service: find this one with the queue's search.
    page.goto("/?q=Istanbul")
    page.locator("#main").get_by_role("link", name=FIXTURE["title"], exact=True).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(FIXTURE["title"])
    expect(page.locator("html")).to_have_attribute("data-x-counter", "ready")


def test_editor_logs_in_and_sees_the_three_previews(editor_page: Page) -> None:
    page = editor_page
    page.goto("/")
    expect(page.get_by_role("heading", name="Queue")).to_be_visible()
    # Upcoming posts grouped by newsroom day; Facebook's London time shown beside Karachi's.
    expect(page.locator("section.day").first).to_be_visible()
    expect(page.locator(".other-tz").first).to_contain_text("Europe/London")
    shot(page, "queue.png")

    open_fixture_from_queue(page)
    for platform in ("x", "instagram", "facebook"):
        expect(page.locator(f'.post-card[data-platform="{platform}"]')).to_be_visible()
    expect(x_card(page).locator(".badge")).to_have_text("pending approval")
    image = page.locator(".pv-ig-img")
    expect(image).to_be_visible()
    assert image.evaluate("img => img.naturalWidth > 0 && img.complete")
    expect(page.locator(".hashtag-count")).to_contain_text(re.compile(r"\d+ hashtags?"))
    expect(page.locator(".pv-fb-card")).to_contain_text("southasiandesk.example")
    shot(page, "article-previews.png")


def test_editor_fixes_an_over_long_x_post_then_schedules_and_approves_it(
    editor_page: Page, service: RunningService
) -> None:
    page = editor_page
    open_fixture_from_queue(page)
    card = x_card(page)
    text = card.get_by_label("Post text")
    counter = card.locator(".counter")

    long_text = "Dar in Istanbul: " + "ceasefire talks continue " * 12 + FIXTURE["url"]
    text.fill(long_text)
    expect(counter).to_have_class(re.compile(r"\bover\b"))
    assert counter.evaluate("el => getComputedStyle(el).color") == RED
    live_count = int(counter.locator(".count-value").inner_text())
    assert live_count > 280
    card.get_by_role("button", name="Save text").click()
    # The server's twitter-text count is authoritative; the live counter agrees with it.
    expect(page.locator(".flash-error")).to_contain_text(
        f"The post is {live_count} characters by X's count; the limit is 280."
    )
    x_card(page).get_by_role("button", name="Approve").click()
    expect(page.locator(".flash-error")).to_contain_text("This post cannot be approved:")
    expect(page.locator(".flash-error")).to_contain_text(f"Shorten it by {live_count - 280}.")
    assert str(service.posts(FIXTURE["external_id"])["x"].status) == "draft"

    card = x_card(page)
    card.get_by_label("Post text").fill(
        f"Pakistan FM Dar in Istanbul for Gaza ceasefire talks 🇵🇰 {FIXTURE['url']} #Pakistan"
    )
    expect(card.locator(".counter")).not_to_have_class(re.compile(r"\bover\b"))
    card.get_by_role("button", name="Save text").click()
    expect(page.locator(".flash-ok")).to_have_text("The text was saved.")

    # A minute ahead on the channel's wall clock (the picker is read in the channel's zone).
    channel_tz = ZoneInfo(service.channel("x").timezone)
    at = (
        (datetime.now(UTC) + timedelta(minutes=2))
        .astimezone(channel_tz)
        .replace(second=0, microsecond=0)
    )
    card = x_card(page)
    expect(card.locator(".schedule-form label")).to_contain_text("Asia/Karachi")
    card.get_by_label(re.compile("Publish at")).fill(at.strftime("%Y-%m-%dT%H:%M"))
    card.get_by_role("button", name="Schedule").click()
    expect(page.locator(".flash-ok")).to_contain_text("Scheduled for ")
    x_card(page).get_by_role("button", name="Approve").click()
    expect(page.locator(".flash-ok")).to_have_text("Approved; the post is now scheduled.")
    card = x_card(page)
    expect(card.locator(".badge")).to_have_text("scheduled")
    expect(card.locator(".scheduled-at")).to_contain_text(f"{at:%H:%M} PKT")
    post = service.posts(FIXTURE["external_id"])["x"]
    assert post.scheduled_at == at.astimezone(UTC)
    assert post.approved_by == "user:editor"
    assert not service.attempts(post.id)  # not yet due


def test_posted_x_post_appears_live_in_the_ops_delivery_log(
    editor_page: Page, browser: Browser, service: RunningService
) -> None:
    ctx = new_context(browser, service)
    ops = ctx.new_page()
    login(ops, "ops")
    ops.goto("/deliveries")
    x_rows = ops.locator(f'#log-rows tr[data-article="{FIXTURE["external_id"]}"]').filter(
        has=ops.locator('.platform-tag:text-is("x")')
    )
    expect(x_rows).to_have_count(0)

    open_fixture_from_queue_or_article(editor_page, service)
    x_card(editor_page).get_by_role("button", name="Post now").click()
    expect(editor_page.locator(".flash-ok")).to_contain_text("goes out at the next dispatch")
    service.wait_posts(FIXTURE["external_id"], {"x": PUBLISHED})

    # No reload: the log refreshes itself.
    expect(x_rows.first.locator(".sentence")).to_have_text(
        re.compile(r"^Published on X at \d\d:\d\d PKT — view post$"), timeout=20_000
    )
    expect(x_rows.first.locator("a.article-title")).to_have_text(FIXTURE["title"])
    shot(ops, "deliveries.png")
    ctx.close()

    editor_page.reload()
    expect(x_card(editor_page).locator(".badge")).to_have_text("published")
    expect(x_card(editor_page).get_by_role("link", name="view on x")).to_be_visible()


def open_fixture_from_queue_or_article(page: Page, service: RunningService) -> None:
    post = service.posts(FIXTURE["external_id"])["x"]
    page.goto(f"/articles/{post.article_id}")
    expect(page.locator("html")).to_have_attribute("data-x-counter", "ready")


def test_failing_channels_show_their_reason_in_words_and_the_platform_code(
    ops_page: Page, service: RunningService
) -> None:
    fb = SANDBOX_ACCOUNTS[PlatformName.FACEBOOK]
    ig = SANDBOX_ACCOUNTS[PlatformName.INSTAGRAM]
    service.cli("sandbox", "fault", fb, "--expired-token", "--url", service.sandbox_url)
    service.cli("sandbox", "fault", ig, "--permanent", "--url", service.sandbox_url)
    tag = variant("faults")
    service.add_article(tag)
    service.wait_posts(tag["external_id"], {"facebook": {"needs_reauth"}, "instagram": {"failed"}})

    page = ops_page
    page.goto("/deliveries")
    banner = page.locator(".banner-reauth")
    expect(banner).to_contain_text("Sandbox Facebook needs reconnecting.")
    rows = page.locator(f'#log-rows tr[data-article="{tag["external_id"]}"]')
    fb_row = rows.filter(has=page.locator('.platform-tag:text-is("facebook")')).first
    # One sentence each: what the platform said, its codes once, and what happens next.
    expect(fb_row.locator(".sentence")).to_have_text(
        re.compile(
            r"^Facebook no longer accepts the channel's login: .+ \(HTTP \d+, code \d+[/\d]*\) "
            r"— reconnect the channel; its posts wait until then\.$"
        )
    )
    ig_row = rows.filter(has=page.locator('.platform-tag:text-is("instagram")')).first
    expect(ig_row.locator(".sentence")).to_have_text(
        re.compile(r"^Instagram refused it: .+ \(HTTP \d+, code \d+[/\d]*\) — not retried\.$")
    )
    fb_card = page.locator('.health-card[data-channel="Sandbox Facebook"]')
    expect(fb_card).to_contain_text("needs reauth")
    expect(fb_card.locator(".badge-health")).to_have_text("Needs reconnect")
    shot(page, "failing-channel.png")

    # Once the accounts work again: mark Facebook reconnected, retry the Instagram post.
    service.cli("sandbox", "fault", fb, "--clear", "--url", service.sandbox_url)
    service.cli("sandbox", "fault", ig, "--clear", "--url", service.sandbox_url)
    page.get_by_role("button", name="Mark Sandbox Facebook reconnected").click()
    expect(page.locator(".flash-ok")).to_contain_text("Sandbox Facebook is active again")
    expect(page.locator(".banner-reauth")).to_have_count(0)
    ig_row = (
        page.locator(f'#log-rows tr[data-article="{tag["external_id"]}"]')
        .filter(has=page.locator('.platform-tag:text-is("instagram")'))
        .first
    )
    ig_row.get_by_role("button", name="Retry").click()
    expect(page.locator(".flash-ok")).to_contain_text("back on the schedule")
    service.wait_posts(tag["external_id"], {"facebook": PUBLISHED, "instagram": PUBLISHED})


def test_pause_all_holds_due_posts_until_resumed_with_a_banner_on_every_page(
    ops_page: Page, editor_page: Page, service: RunningService
) -> None:
    reason = "Breaking news: hold everything for the PM's address"
    ops_page.goto("/deliveries")
    ops_page.get_by_text("Pause all publishing").click()
    ops_page.get_by_label(re.compile("Reason")).fill(reason)
    ops_page.get_by_role("button", name="Pause all").click()
    expect(ops_page.locator(".banner-pause")).to_contain_text(reason)
    # The person's name (the ops user has none but the login), never the actor "user:ops".
    expect(ops_page.locator(".banner-pause .pause-by")).to_have_text("ops")
    expect(ops_page.locator(".banner-pause")).to_contain_text("PKT")

    tag = variant("paused")
    service.add_article(tag)
    posts = service.wait_posts(tag["external_id"], {"facebook": {"scheduled"}})
    fb = posts["facebook"]
    assert fb.scheduled_at is not None and fb.scheduled_at <= datetime.now(UTC)  # due now
    wait_seconds(3)
    assert str(service.posts(tag["external_id"])["facebook"].status) == "scheduled"
    assert service.attempts(fb.id) == []

    for path in ("/", "/calendar", f"/articles/{fb.article_id}"):
        editor_page.goto(path)
        banner = editor_page.locator(".banner-pause")
        expect(banner).to_contain_text("All publishing is paused.")
        expect(banner).to_contain_text(reason)
        # Editors may pull the kill switch (README), so they may also lift it.
        expect(banner.get_by_role("button", name="Resume publishing")).to_have_count(1)
    shot(editor_page, "paused.png")

    ops_page.goto("/")
    ops_page.locator(".banner-pause").get_by_role("button", name="Resume publishing").click()
    expect(ops_page.locator(".flash-ok")).to_contain_text("Publishing resumed")
    expect(ops_page.locator(".banner-pause")).to_have_count(0)
    service.wait_posts(tag["external_id"], {"facebook": PUBLISHED, "instagram": PUBLISHED})
