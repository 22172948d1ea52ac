"""With no webhook or SMTP configured, alerts are still recorded and the Alerts page shows them
(sent nowhere), as the page says."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from tests.web.conftest import login, new_context
from tests.web.service import PASSWORD, RunningService

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def quiet_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    """A service of its own (its kill switch must not hold up the other browser tests)."""
    svc = RunningService(tmp_path_factory.mktemp("no-alert-destination"))
    svc.env["NEWSRELAY_ALERTS__INTERVAL_SECONDS"] = "1"
    svc.cli("users", "create", "--role", "ops", "--username", "ops", "--password", PASSWORD)
    svc.start()
    yield svc
    svc.stop()


def test_the_alerts_page_lists_an_alert_sent_nowhere(
    browser: Browser, quiet_service: RunningService
) -> None:
    ctx = new_context(browser, quiet_service)
    page = ctx.new_page()
    login(page, "ops")
    page.goto("/alerts")
    expect(page.locator(".page-head")).to_contain_text("No destination is configured")
    expect(page.locator("#open-title")).to_have_text("Open (0)")

    page.goto("/deliveries")
    page.get_by_text("Pause all publishing").click()
    page.get_by_label("Reason (shown to everyone until publishing resumes)").fill("Drill")
    page.get_by_role("button", name="Pause all").click()
    expect(page.locator("#pause-title")).to_be_visible()

    row = page.locator('tr[data-condition="kill_switch"]')
    page.goto("/alerts")
    for _ in range(20):  # the alert job runs every second here
        if row.count():
            break
        page.wait_for_timeout(500)
        page.reload()
    expect(row).to_contain_text("Kill switch on")
    expect(row).to_contain_text("(by user:ops: Drill)")
    expect(row).to_contain_text("nowhere")
    expect(page.locator("#open-title")).to_have_text("Open (1)")
    ctx.close()
