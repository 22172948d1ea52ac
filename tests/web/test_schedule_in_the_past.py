"""Scheduling in the past in the browser: the article page refuses a time already gone with the
sentence and offers Post now; approving a post whose time has passed says it goes out now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from tests.web.service import RunningService, variant

pytestmark = pytest.mark.browser


def test_a_past_time_is_refused_with_the_sentence_and_post_now_offered(
    editor_page: Page, service: RunningService
) -> None:
    # Published five minutes ago: the X post (waiting for approval) is due already.
    article = variant(
        "past-time", published_at=(datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    )
    ext = service.add_article(article)
    posts = service.wait_posts(ext, {"x": {"pending_approval"}})
    before = posts["x"].scheduled_at
    page = editor_page
    page.goto(f"/articles/{posts['x'].article_id}")
    card = page.locator('.post-card[data-platform="x"]')

    zone = service.channel("x").timezone
    past = (datetime.now(UTC) - timedelta(hours=2)).astimezone(ZoneInfo(zone))
    card.get_by_label("Publish at").fill(past.strftime("%Y-%m-%dT%H:%M"))
    card.get_by_role("button", name="Schedule").click()
    expect(page.locator(".flash-error")).to_have_text(
        f"That time has passed ({past:%H:%M} {zone}). Choose a later time, or use Post now."
    )
    card = page.locator('.post-card[data-platform="x"]')
    expect(card.get_by_role("button", name="Post now")).to_be_visible()
    assert service.posts(ext)["x"].scheduled_at == before  # nothing changed

    card.get_by_role("button", name="Approve").click()
    expect(page.locator(".flash-ok")).to_have_text(
        "Approved; its scheduled time has passed, so it will go out now."
    )
    service.wait_posts(ext, {"x": {"published"}})
