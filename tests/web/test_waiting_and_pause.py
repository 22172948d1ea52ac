"""The queue's "Waiting for you" in Chromium: what needs a person, most urgent first, with
counts, "see all" links and the reconnect wording per role; an editor pauses and resumes one
channel (its posts are held meanwhile) and pulls the kill switch; people's names show, never
``user:<login>``."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session, col, select

from scheduler.channels import set_channel_status
from scheduler.db.engine import session_scope
from scheduler.models import Channel, ChannelStatus, Post, PostStatus, utcnow
from scheduler.ops.state import global_pause, lift_global_pause
from tests.web.conftest import ARTIFACTS, new_context
from tests.web.service import PASSWORD, RunningService, variant, wait_seconds

pytestmark = pytest.mark.browser

PUBLISHED = {"published"}
ORDER = [
    "needs_review",
    "needs_reauth",
    "failed",
    "tokens",
    "breaking",
    "pending_approval",
    "draft",
]
WAITING_STATUSES = {"needs_review", "failed", "needs_reauth", "draft", "pending_approval"}
ARTICLES = {
    "review": variant("wait-review"),
    "failed": variant("wait-failed"),
    "reauth": variant("wait-reauth"),
    "draft": variant("wait-draft"),
    "breaking": variant("wait-breaking", priority="breaking"),
}


def set_status(service: RunningService, post_id: uuid.UUID, status: PostStatus) -> None:
    """Leave a post as a worker would have (a lost answer, a refusal, a revoked login)."""
    with session_scope(service.engine) as s:
        post = s.get(Post, post_id)
        assert post is not None
        post.status = status
        post.last_error = f"seeded as {status.value}"
        s.add(post)


def set_channel(service: RunningService, platform: str, **values: Any) -> None:
    with session_scope(service.engine) as s:
        channel = s.exec(select(Channel).where(col(Channel.platform) == platform)).one()
        for k, v in values.items():
            setattr(channel, k, v)
        s.add(channel)


def waiting_count(service: RunningService, *statuses: str, breaking: bool | None = None) -> int:
    """What the group should count: every such post of the session, not only this module's."""
    sql = "SELECT count(*) FROM post p JOIN article a ON a.id = p.article_id WHERE p.status IN ({})"
    sql = sql.format(", ".join(f"'{s}'" for s in statuses)) + " AND p.scheduled_at IS NOT NULL"
    if breaking is not None:
        sql += " AND a.priority " + ("=" if breaking else "!=") + " 'breaking'"
    with Session(service.engine) as s:
        return int(s.execute(sa.text(sql)).scalar_one())


@pytest.fixture
def seeded(service: RunningService) -> Iterator[dict[str, dict[str, Post]]]:
    """An article per kind of waiting: Instagram's post needs review, Facebook's failed, one
    Instagram post waits for its channel's new login, an X post is a draft, a breaking X post
    waits for approval; Facebook's token expires in three days."""
    for data in ARTICLES.values():
        service.add_article(data)
    want = {"x": {"pending_approval"}, "instagram": PUBLISHED, "facebook": PUBLISHED}
    posts = {k: service.wait_posts(v["external_id"], want) for k, v in ARTICLES.items()}
    set_status(service, posts["review"]["instagram"].id, PostStatus.NEEDS_REVIEW)
    set_status(service, posts["failed"]["facebook"].id, PostStatus.FAILED)
    set_status(service, posts["reauth"]["instagram"].id, PostStatus.NEEDS_REAUTH)
    set_status(service, posts["draft"]["x"].id, PostStatus.DRAFT)
    set_channel(service, "instagram", status=ChannelStatus.NEEDS_REAUTH, status_reason="revoked")
    set_channel(service, "facebook", token_expires_at=utcnow() + timedelta(days=3))
    yield posts
    # Leave the session's service as found: the seeded posts cancelled, the channels healthy.
    with session_scope(service.engine) as s:
        for group in posts.values():
            for seeded_post in group.values():
                post = s.get(Post, seeded_post.id)
                if post is not None and str(post.status) in WAITING_STATUSES:
                    post.status = PostStatus.CANCELLED
                    s.add(post)
    with session_scope(service.engine) as s:
        ig = s.exec(select(Channel).where(col(Channel.platform) == "instagram")).one()
        set_channel_status(
            session=s, channel=ig, status=ChannelStatus.ACTIVE, reason=None, actor="test"
        )
    set_channel(service, "facebook", token_expires_at=None)


def signed_in(browser: Browser, service: RunningService, username: str) -> Page:
    """A page signed in as ``username`` (whose header shows their name, not the login)."""
    page = new_context(browser, service).new_page()
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".who")).to_be_visible()
    return page


def test_waiting_shows_what_needs_a_person_most_urgent_first_with_counts_and_links(
    editor_page: Page, browser: Browser, service: RunningService, seeded: Any
) -> None:
    page = editor_page
    page.goto("/")
    waiting = page.get_by_role("region", name="Waiting for you")
    groups = waiting.locator(".waiting-group")
    keys = groups.evaluate_all("els => els.map(e => e.dataset.group)")
    # Every seeded kind is there, in urgency order (earlier tests may add to the same groups).
    assert [k for k in ORDER if k in keys] == keys and set(ORDER) <= set(keys)

    expected = {
        "needs_review": waiting_count(service, "needs_review"),
        "needs_reauth": waiting_count(service, "needs_reauth"),
        "failed": waiting_count(service, "failed"),
        "breaking": waiting_count(service, "pending_approval", "draft", breaking=True),
        "pending_approval": waiting_count(service, "pending_approval", breaking=False),
        "draft": waiting_count(service, "draft", breaking=False),
    }
    for key, n in expected.items():
        group = waiting.locator(f'.waiting-group[data-group="{key}"]')
        expect(group.locator(".group-count")).to_have_text(str(n))
        expect(group.locator("li[data-post]")).to_have_count(min(n, 5))
        status = "pending_approval" if key == "breaking" else key
        expect(group.get_by_role("link", name=f"See all {n}")).to_have_attribute(
            "href", re.compile(rf"^/\?status={status}&from=\d{{4}}-\d\d-\d\d$")
        )
    review = waiting.locator('.waiting-group[data-group="needs_review"]')
    expect(review).to_contain_text(ARTICLES["review"]["title"])
    breaking = waiting.locator('.waiting-group[data-group="breaking"]')
    expect(breaking.locator(".badge-breaking").first).to_have_text("BREAKING")
    expect(breaking).to_contain_text(ARTICLES["breaking"]["title"])

    # An editor is told to ask an admin; the expiring Facebook login is its own group.
    reauth = waiting.locator('.waiting-group[data-group="needs_reauth"]')
    expect(reauth).to_contain_text("Sandbox Instagram needs a new login (revoked).")
    expect(reauth).to_contain_text("Ask an admin to reconnect Sandbox Instagram.")
    expect(reauth.locator('a[href="/channels"]')).to_have_count(0)
    tokens = waiting.locator('.waiting-group[data-group="tokens"]')
    expect(tokens.locator("li")).to_have_text(
        "Facebook token for Sandbox Facebook expires in 2 days. "
        "Ask an admin to reconnect Sandbox Facebook."
    )

    # "See all" opens the queue filtered by the status, from the day of the oldest such post.
    failed = waiting.locator('.waiting-group[data-group="failed"]')
    href = failed.locator(".see-all").get_attribute("href")
    assert href is not None and href.startswith("/?status=failed&from=")
    failed.locator(".see-all").click()
    expect(page).to_have_url(service.url + href)
    expect(page.get_by_role("region", name="Waiting for you")).to_have_count(0)
    expect(page.locator("main")).to_contain_text(ARTICLES["failed"]["title"])
    expect(page.locator("main")).not_to_contain_text(ARTICLES["review"]["title"])

    page.goto("/")
    page.screenshot(path=str(ARTIFACTS / "waiting-for-you.png"), full_page=True)
    # An admin gets the link to the Channels page instead.
    admin = signed_in(browser, service, "admin")
    admin.goto("/")
    reauth = admin.locator('.waiting-group[data-group="needs_reauth"]')
    link = reauth.get_by_role("link", name="Reconnect Sandbox Instagram on the Channels page")
    expect(link).to_have_attribute("href", "/channels")
    expect(reauth).not_to_contain_text("Ask an admin")
    admin.context.close()


@pytest.fixture(scope="module")
def aisha(service: RunningService) -> str:
    """An editor with a display name, made with the CLI's ``--name``."""
    service.cli(
        "users",
        "create",
        "--role",
        "editor",
        "--username",
        "aisha",
        "--name",
        "Aisha Khan",
        "--password",
        PASSWORD,
    )
    return "aisha"


def channel_row(page: Page, name: str) -> Any:
    return page.locator(f'#channel-pause .channel-state[data-channel="{name}"]')


def test_an_editor_pauses_one_channel_its_posts_are_held_then_resumes_it(
    browser: Browser, service: RunningService, aisha: str
) -> None:
    page = signed_in(browser, service, aisha)
    expect(page.locator(".who")).to_contain_text("Aisha Khan")
    page.goto("/")
    fb = channel_row(page, "Sandbox Facebook")
    expect(fb.locator(".badge")).to_have_text("active")

    # A reason of blanks is refused with a sentence; nothing changes.
    fb.locator("summary").click()
    fb.get_by_label("Reason for pausing Sandbox Facebook").fill("   ")
    fb.get_by_role("button", name="Pause Sandbox Facebook").click()
    expect(page.locator(".flash-error")).to_have_text(
        "Sandbox Facebook was not paused: give a reason; everyone sees it on the queue."
    )
    assert str(service.channel("facebook").status) == "active"

    reason = "The Page is posting the wrong edition"
    fb = channel_row(page, "Sandbox Facebook")
    fb.locator("summary").click()
    fb.get_by_label("Reason for pausing Sandbox Facebook").fill(reason)
    fb.get_by_role("button", name="Pause Sandbox Facebook").click()
    expect(page.locator(".flash-ok")).to_have_text(
        "Sandbox Facebook is paused; its posts are held until you resume it."
    )
    fb = channel_row(page, "Sandbox Facebook")
    expect(fb.locator(".badge")).to_have_text("paused")
    expect(fb.locator(".paused-by")).to_contain_text("Paused by Aisha Khan on ")
    expect(fb.locator(".paused-by")).to_contain_text(reason)
    expect(page.locator("main")).not_to_contain_text("user:")
    try:
        tag = variant("one-channel-paused")
        service.add_article(tag)
        posts = service.wait_posts(
            tag["external_id"], {"facebook": {"held"}, "instagram": PUBLISHED}
        )
        wait_seconds(2)
        fb_post = service.posts(tag["external_id"])["facebook"]
        assert str(fb_post.status) == "held" and service.attempts(fb_post.id) == []
        assert posts["instagram"].external_url  # the other channels went on publishing

        page.goto("/")
        channel_row(page, "Sandbox Facebook").get_by_role(
            "button", name="Resume Sandbox Facebook"
        ).click()
        expect(page.locator(".flash-ok")).to_have_text(
            "Sandbox Facebook is publishing again; its held posts are back on schedule."
        )
        expect(channel_row(page, "Sandbox Facebook").locator(".badge")).to_have_text("active")
        service.wait_posts(tag["external_id"], {"facebook": PUBLISHED})
    finally:
        with session_scope(service.engine) as s:
            channel = s.get(Channel, service.channel("facebook").id)
            assert channel is not None
            if channel.status == ChannelStatus.PAUSED:
                set_channel_status(
                    session=s, channel=channel, status=ChannelStatus.ACTIVE, reason=None, actor="t"
                )

    # An unknown channel is answered with a sentence on the queue (the redirect is followed).
    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content") or ""
    for path, form in (
        (f"/channels/{uuid.uuid4()}/pause", {"reason": "x", "csrf_token": csrf}),
        ("/channels/not-a-channel/resume", {"csrf_token": csrf}),
    ):
        response = page.request.post(path, form=form)
        assert response.status == 200 and response.url.startswith(service.url + "/")
        assert "No such channel: it may have been removed." in response.text()
    page.context.close()


def test_names_show_instead_of_actor_strings_and_editors_use_the_kill_switch(
    browser: Browser, service: RunningService, aisha: str
) -> None:
    page = signed_in(browser, service, aisha)
    tag = variant("names")
    service.add_article(tag)
    x_post = service.wait_posts(tag["external_id"], {"x": {"pending_approval"}})["x"]
    page.goto(f"/articles/{x_post.article_id}")
    card = page.locator('.post-card[data-platform="x"]')
    card.get_by_role("button", name="Approve").click()
    expect(page.locator(".flash-ok")).to_contain_text("Approved")
    assert service.posts(tag["external_id"])["x"].approved_by == "user:aisha"
    card = page.locator('.post-card[data-platform="x"]')
    expect(card.locator(".facts")).to_contain_text("by Aisha Khan")
    expect(card).not_to_contain_text("user:aisha")

    # The kill switch: editors see "Pause all" on the queue, and the banner names them.
    page.goto("/")
    page.get_by_text("Pause all publishing").click()
    page.get_by_label("Reason (shown to everyone until publishing resumes)").fill("Names test")
    page.get_by_role("button", name="Pause all").click()
    try:
        banner = page.locator(".banner-pause")
        expect(banner.locator(".pause-by")).to_have_text("Aisha Khan")
        expect(banner).not_to_contain_text("user:")
        banner.get_by_role("button", name="Resume publishing").click()
        expect(page.locator(".flash-ok")).to_contain_text("Publishing resumed")
        expect(page.locator(".banner-pause")).to_have_count(0)
    finally:
        with session_scope(service.engine) as s:
            if global_pause(session=s) is not None:
                lift_global_pause(session=s, actor="test")
    page.context.close()
