"""Channel policy made visible in the browser: the queue shows per channel what goes out next
and why it waits (slot, approval); breaking posts carry a BREAKING badge on the queue, the article
page and the calendar; the calendar shows the channels' posting slots in their own zones."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from tests.utils.stack import wait_until
from tests.web.service import RunningService, configure_channel, variant

pytestmark = pytest.mark.browser


@pytest.fixture
def facebook_slot(service: RunningService) -> Iterator[datetime]:
    """Facebook posts only at one local time, three hours ahead (restored afterwards)."""
    zone = ZoneInfo(service.channel("facebook").timezone)
    slot = (
        (datetime.now(UTC) + timedelta(hours=3)).astimezone(zone).replace(second=0, microsecond=0)
    )
    configure_channel(service, "facebook", settings={"slots": {"mon-sun": [f"{slot:%H:%M}"]}})
    try:
        yield slot
    finally:
        configure_channel(service, "facebook", settings={"slots": None})


def test_queue_article_and_calendar_show_next_out_waits_breaking_and_slots(
    editor_page: Page, service: RunningService, facebook_slot: datetime
) -> None:
    now = datetime.now(UTC).isoformat()
    normal = service.add_article(variant("visible-normal", published_at=now))
    urgent = service.add_article(variant("visible-breaking", published_at=now, priority="breaking"))
    # The dispatcher holds the normal Facebook post for the slot and says why.
    wait_until(
        lambda: service.posts(normal)["facebook"].wait_code == "slot",
        timeout=60,
        message="the Facebook post waits for its slot",
    )
    service.wait_posts(urgent, {"x": {"pending_approval"}, "facebook": {"published"}})

    page = editor_page
    page.goto("/")
    nxt = page.get_by_role("region", name="Next out, per channel")
    fb = nxt.locator('.next-post[data-platform="facebook"]')
    expect(fb).to_contain_text("visible-normal")
    expect(fb.locator(".wait-reason")).to_contain_text("next free posting slot")
    x = nxt.locator('.next-post[data-platform="x"]')
    expect(x).to_contain_text("visible-breaking")  # breaking goes first
    expect(x.locator(".badge-breaking")).to_have_text("BREAKING")
    expect(x.locator(".wait-reason")).to_have_text("Waiting for approval")
    urgent_row = page.locator("li.entry").filter(has_text="visible-breaking").first
    expect(urgent_row.locator(".badge-breaking")).to_have_text("BREAKING")

    page.goto(f"/articles/{service.posts(urgent)['x'].article_id}")
    expect(page.locator(".page-head .badge-breaking")).to_have_text("BREAKING")
    expect(page.locator('.post-card[data-platform="x"] .wait-reason')).to_have_text(
        "Waiting for approval"
    )

    page.goto("/calendar")
    slot_mark = page.locator('.cal-slot[data-platform="facebook"]').first
    zone = service.channel("facebook").timezone
    expect(slot_mark).to_contain_text(f"{facebook_slot:%H:%M} {zone}")
    # A day shows its first few posts: narrow to X's posts waiting for approval.
    page.goto(f"/calendar?channel={service.channel('x').id}&status=pending_approval")
    cal_urgent = page.locator(".cal-post").filter(has_text="visible-breaking").first
    expect(cal_urgent.locator(".badge-breaking")).to_have_text("BREAKING")
