"""The ops page's channel cards tell a failing channel from a working one in words: a channel
whose deliveries all fail reads "Failing" (its status is still "active"), and after one success
it reads "Degraded", not a green "Active"."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from scheduler.channels import SANDBOX_ACCOUNTS
from scheduler.models import PlatformName
from tests.web.conftest import shot
from tests.web.service import RunningService, variant

pytestmark = pytest.mark.browser


def test_a_channel_whose_deliveries_all_fail_reads_failing_then_degraded_after_a_success(
    ops_page: Page, service: RunningService
) -> None:
    ig = SANDBOX_ACCOUNTS[PlatformName.INSTAGRAM]
    service.cli("sandbox", "fault", ig, "--permanent", "--url", service.sandbox_url)
    try:
        for i in range(3):
            tag = variant(f"health-{i}")
            service.add_article(tag)
            service.wait_posts(tag["external_id"], {"instagram": {"failed"}})
    finally:
        service.cli("sandbox", "fault", ig, "--clear", "--url", service.sandbox_url)

    page = ops_page
    page.goto("/deliveries")
    card = page.locator('.health-card[data-channel="Sandbox Instagram"]')
    expect(card).to_have_attribute("data-health", "failing")
    expect(card.locator(".badge-health")).to_have_text("Failing")
    # At least these three (earlier tests of the session may have failed there too).
    expect(card.locator(".health-detail")).to_have_text(
        re.compile(r"The last [3-9]\d* delivery attempts failed, with no success since\.")
    )
    expect(card).to_contain_text("status active")
    shot(page, "failing-channel-health.png")

    tag = variant("health-ok")
    service.add_article(tag)
    service.wait_posts(tag["external_id"], {"instagram": {"published"}})
    page.reload()
    expect(card).to_have_attribute("data-health", "degraded")
    expect(card.locator(".badge-health")).to_have_text("Degraded")
    expect(card.locator(".health-detail")).to_have_text(
        re.compile(r"[3-9]\d* of the last \d+ delivery attempts failed\.")
    )
