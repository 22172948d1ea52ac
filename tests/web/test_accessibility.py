"""axe-core (vendored, tests/web/axe.py) finds no serious or critical WCAG 2.x A/AA violation on
any page, signed in as an admin (who sees every page and every control). To check a new page,
add it to ``PAGES``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.web.axe import assert_no_serious_violations, axe_violations
from tests.web.conftest import login, new_context
from tests.web.service import RunningService, variant

pytestmark = pytest.mark.browser

ARTICLE = variant("axe")
PHONE = (390, 844)


@dataclass(frozen=True)
class Checked:
    """A page axe checks: its path (``{article}`` is the article with three cards) and what
    must be on it before axe runs, so a page that failed to render cannot pass."""

    name: str
    path: str
    ready: Callable[[Page], None]
    viewport: tuple[int, int] = (1280, 900)


def _heading(text: str) -> Callable[[Page], None]:
    return lambda page: expect(page.get_by_role("heading", level=1)).to_contain_text(text)


def _three_cards(page: Page) -> None:
    for platform in ("x", "instagram", "facebook"):
        expect(page.locator(f'.post-card[data-platform="{platform}"]')).to_be_visible()
    expect(page.locator("html")).to_have_attribute("data-x-counter", "ready")


def _not_found(page: Page) -> None:
    expect(page.locator(".error-page .status-code")).to_have_text("404")


PAGES = [
    Checked("queue", "/", _heading("Queue")),
    Checked("calendar", "/calendar", _heading("Week")),
    Checked("article", "/articles/{article}", _three_cards),
    Checked("deliveries", "/deliveries", _heading("Deliveries")),
    Checked("channels", "/channels", _heading("Channels")),
    Checked("alerts", "/alerts", _heading("Alerts")),
    Checked("not found", "/articles/00000000-0000-0000-0000-000000000000", _not_found),
    Checked("queue on a phone", "/", _heading("Queue"), PHONE),
    Checked("article on a phone", "/articles/{article}", _three_cards, PHONE),
]


@pytest.fixture(scope="module")
def article_id(service: RunningService) -> str:
    service.add_article(ARTICLE)
    posts = service.wait_posts(
        ARTICLE["external_id"],
        {"x": {"pending_approval"}, "instagram": {"published"}, "facebook": {"published"}},
    )
    return str(posts["x"].article_id)


@pytest.fixture(scope="module")
def admin_page(browser: Browser, service: RunningService) -> Iterator[Page]:
    ctx = new_context(browser, service)
    page = ctx.new_page()
    login(page, "admin")
    yield page
    ctx.close()


def test_the_login_page_has_no_serious_violation(browser: Browser, service: RunningService) -> None:
    ctx = new_context(browser, service)
    page = ctx.new_page()
    page.goto("/login")
    expect(page.get_by_label("Username")).to_be_visible()
    assert_no_serious_violations(page, "login")
    ctx.close()


@pytest.mark.parametrize("checked", PAGES, ids=[p.name for p in PAGES])
def test_every_page_has_no_serious_violation(
    admin_page: Page, article_id: str, checked: Checked
) -> None:
    width, height = checked.viewport
    admin_page.set_viewport_size({"width": width, "height": height})
    admin_page.goto(checked.path.format(article=article_id))
    checked.ready(admin_page)
    assert_no_serious_violations(admin_page, checked.name)


def test_axe_reports_a_contrast_failure_with_its_rule_and_target(admin_page: Page) -> None:
    """The check can fail: grey-on-white text below 4.5:1 is reported, with its selector."""
    admin_page.set_content(
        '<html lang="en"><title>t</title><main><p id="faint" style="color:#aaa;'
        'background:#fff">faint words</p></main></html>'
    )
    found = {v["id"]: v for v in axe_violations(admin_page)}
    assert found["color-contrast"]["impact"] == "serious"
    assert found["color-contrast"]["nodes"][0]["target"] == ["#faint"]
    with pytest.raises(AssertionError, match=r"color-contrast \(serious\).*\n\s+#faint: "):
        assert_no_serious_violations(admin_page, "a faint page")
