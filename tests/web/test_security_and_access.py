"""CSRF refusals, role checks, the phone layout and keyboard use of the web UI, in Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session

from adapters.x import x_weighted_length
from scheduler.ops.state import global_pause
from scheduler.web.xcount import x_tlds
from tests.web.conftest import login, new_context, shot
from tests.web.service import RunningService, variant

pytestmark = pytest.mark.browser

TAG = variant("access")


@pytest.fixture(scope="module", autouse=True)
def article(service: RunningService) -> None:
    service.add_article(TAG)
    service.wait_posts(TAG["external_id"], {"x": {"pending_approval"}})


def token(page: Page) -> str:
    value = page.locator('meta[name="csrf-token"]').get_attribute("content")
    assert value
    return value


def paused(service: RunningService) -> bool:
    with Session(service.engine) as s:
        return global_pause(session=s) is not None


def test_unauthenticated_pages_redirect_to_login(browser: Browser, service: RunningService) -> None:
    ctx = new_context(browser, service)
    page = ctx.new_page()
    page.goto("/deliveries?status=failed")
    expect(page).to_have_url(service.url + "/login?next=%2Fdeliveries%3Fstatus%3Dfailed")
    page.get_by_label("Username").fill("ops")
    page.get_by_label("Password").fill("wrong password!")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".flash-error")).to_contain_text("username or password is wrong")
    login(page, "ops")
    cookie = next(c for c in ctx.cookies() if c["name"] == "newsrelay_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    ctx.close()


def test_signing_out_ends_the_session_for_a_copied_cookie_too(
    browser: Browser, service: RunningService
) -> None:
    ctx = new_context(browser, service)
    page = ctx.new_page()
    login(page, "editor")
    # Another browser holding a copy of the cookie (what a thief or a shared machine keeps).
    copy = new_context(browser, service)
    copy.add_cookies(ctx.cookies())  # type: ignore[arg-type]
    other = copy.new_page()
    other.goto("/calendar")
    expect(other.locator(".who")).to_contain_text("editor")
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator(".flash")).to_contain_text("You are signed out.")
    other.goto("/calendar")
    expect(other).to_have_url(service.url + "/login?next=%2Fcalendar")
    ctx.close()
    copy.close()


def test_forms_without_the_csrf_token_are_refused_and_change_nothing(
    ops_page: Page, editor_page: Page, service: RunningService
) -> None:
    ops_page.goto("/deliveries")
    for form in ({"reason": "forged"}, {"reason": "forged", "csrf_token": "not-the-token"}):
        response = ops_page.request.post("/pause", form=form)
        assert response.status == 403
        assert "security token" in response.text()
    assert not paused(service)

    x_post = service.posts(TAG["external_id"])["x"]
    editor_page.goto(f"/articles/{x_post.article_id}")
    response = editor_page.request.post(f"/posts/{x_post.id}/cancel", form={})
    assert response.status == 403
    assert str(service.posts(TAG["external_id"])["x"].status) == "pending_approval"

    # The session cookie alone never changes anything through the API either.
    response = ops_page.request.post("/api/v1/pause", data={"reason": "forged"})
    assert response.status == 401
    assert not paused(service)


def test_roles_decide_what_each_user_can_do(
    ops_page: Page, editor_page: Page, service: RunningService
) -> None:
    editor_page.goto("/")
    expect(editor_page.get_by_role("link", name="Deliveries")).to_have_count(0)
    response = editor_page.goto("/deliveries")
    assert response is not None and response.status == 403
    expect(editor_page.locator("main")).to_contain_text("This page is for the admin or ops role")
    # Editors may pause everything or one channel, but not mark a channel reconnected.
    x_channel = service.channel("x")
    response = editor_page.request.post(
        f"/channels/{x_channel.id}/reconnected", form={"csrf_token": token(editor_page)}
    )
    assert response.status == 403
    assert not paused(service)

    x_post = service.posts(TAG["external_id"])["x"]
    ops_page.goto(f"/articles/{x_post.article_id}")
    expect(ops_page.get_by_role("button", name="Approve")).to_have_count(0)
    response = ops_page.request.post(
        f"/posts/{x_post.id}/approve", form={"csrf_token": token(ops_page)}
    )
    assert response.status == 403
    assert str(service.posts(TAG["external_id"])["x"].status) == "pending_approval"


def test_error_pages_do_not_leak_internals(editor_page: Page) -> None:
    response = editor_page.goto("/articles/00000000-0000-0000-0000-000000000000")
    assert response is not None and response.status == 404
    expect(editor_page.get_by_role("heading", level=1)).to_have_text("Not found")
    response = editor_page.goto("/articles/not-a-uuid")
    assert response is not None and response.status in (404, 422)
    assert "Traceback" not in editor_page.content()


def test_live_counter_matches_twitter_text_on_hard_cases(
    editor_page: Page, service: RunningService
) -> None:
    x_post = service.posts(TAG["external_id"])["x"]
    editor_page.goto(f"/articles/{x_post.article_id}")
    expect(editor_page.locator("html")).to_have_attribute("data-x-counter", "ready")
    samples = [
        "Plain ASCII with a link https://www.dawn.com/news/1234567?utm_source=x #Pakistan",
        "اسحاق ڈار استنبول میں غزہ مذاکرات کے لیے پہنچ گئے",
        "डार इस्तांबुल पहुंचे, गाज़ा वार्ता",
        "达尔抵达伊斯坦布尔 参加加沙会谈",
        "Family 👨‍👩‍👧‍👦 flag 🇵🇰 skin 👍🏽 keycap 1️⃣",
        "Curly “quotes” — dashes… and a bare link dawn.com/news/1",
        "Not a link on a reserved TLD: https://southasiandesk.example/2025/11/03/x",
        "Line one\nline two\r\nline three",
    ]
    counts = editor_page.evaluate("texts => texts.map(t => window.xWeightedLength(t))", samples)
    assert counts == [x_weighted_length(t) for t in samples]
    assert "pk" in x_tlds() and "example" not in x_tlds()


def test_phone_width_layout_has_no_sideways_scrolling(
    browser: Browser, service: RunningService
) -> None:
    ctx = browser.new_context(
        base_url=service.url,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    page = ctx.new_page()
    login(page, "editor")
    x_post = service.posts(TAG["external_id"])["x"]
    for path in ("/", "/calendar", f"/articles/{x_post.article_id}"):
        page.goto(path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
    shot(page, "phone-article.png")
    ctx.close()


def test_keyboard_reaches_every_control_with_a_visible_focus(
    browser: Browser, service: RunningService
) -> None:
    ctx = new_context(browser, service)
    page = ctx.new_page()
    page.goto("/login")
    expect(page.locator(":focus")).to_have_attribute("id", "username")  # autofocus
    page.keyboard.type("editor")
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_attribute("id", "password")
    page.keyboard.type("correct-horse-battery")
    page.keyboard.press("Enter")
    expect(page.locator(".who")).to_contain_text("editor")

    x_post = service.posts(TAG["external_id"])["x"]
    page.goto(f"/articles/{x_post.article_id}")
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Skip to content")
    reached: set[str] = set()
    for _ in range(60):
        page.keyboard.press("Tab")
        info = page.evaluate(
            """() => {
              const el = document.activeElement;
              const label = el.labels && el.labels[0] ? el.labels[0] : el;
              return {tag: el.tagName, label: label.textContent.trim(),
                      outline: getComputedStyle(el).outlineStyle};
            }"""
        )
        if info["tag"] == "BODY":
            break
        assert info["outline"] != "none", info
        reached.add(info["label"])
    for name in ("Save text", "Approve", "Schedule", "Post now", "Cancel post", "Sign out"):
        assert name in reached, (name, reached)
    assert any(label.startswith("Post text") for label in reached)
    assert any(label.startswith("Publish at") for label in reached)
    ctx.close()
