"""The ops delivery log and channel health in words, in Chromium on ``newsrelay run``.

The log shows each article's title (any script, ``dir="auto"``) linking to its page, one
sentence per outcome (published, refused, outcome unknown then retried, rate-limited: the
exact sentences), and one entry per post whose attempts expand; an expanded list stays open
while the log refreshes itself.  Every channel health state reads in words, on the deliveries
page's strip and cards and on the Channels page.

The attempts are written into the service's database as the workers record them (the outcome
of each kind is not something the sandbox produces on demand at a fixed time); posts wait hours
ahead, so the running dispatcher leaves them alone.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session, select

from config import Settings
from scheduler.channels import create_channel
from scheduler.db.engine import session_scope
from scheduler.models import (
    AttemptStatus,
    Channel,
    ChannelStatus,
    DeliveryAttempt,
    PlatformName,
    Post,
    PostStatus,
    utcnow,
)
from scheduler.web.clock import fmt_time
from tests.utils.factories import by_platform, seed_article, set_post
from tests.web.conftest import login, new_context, shot
from tests.web.service import PASSWORD, RunningService, fixture_article

pytestmark = pytest.mark.browser

TZ = "Asia/Karachi"  # the newsroom's zone in the service's settings
URDU_TITLE = "اسلام آباد میں بارش سے سڑکیں بند"
X_503 = "X refused the post: Service Unavailable (HTTP 503). Try again later."
X_429 = "X refused the post: Too Many Requests (HTTP 429). Wait for the reset."
DROPPED = (
    "X did not answer after the request to publish the post was sent (ReadTimeout); it may "
    "have been published, so reconcile before any retry. — reconciliation: not published."
)
FB_REFUSED = (
    "Facebook refused the request to publish the post: The message is too long (code 100, "
    "HTTP 400, fbtrace_id AbC). Facebook cannot use this text; fix it and retry."
)
IG_LIMITED = (
    "Instagram refused the request to publish the post: Application request limit reached "
    "(code 4, HTTP 400). Instagram's rate limit is reached; retry after the reset."
)


@pytest.fixture(scope="module")
def ops_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    svc = RunningService(tmp_path_factory.mktemp("opswords"))
    for name in ("ops", "admin"):
        svc.cli("users", "create", "--role", name, "--username", name, "--password", PASSWORD)
    svc.start()
    yield svc
    svc.stop()


def _attempt(svc: RunningService, post: Post, *, minutes_ago: float, **fields: Any) -> None:
    """Record a finished attempt as a worker would (number: the post's next)."""
    at = utcnow() - timedelta(minutes=minutes_ago)
    with session_scope(svc.engine) as s:
        number = len(svc.attempts(post.id)) + 1
        s.add(
            DeliveryAttempt(
                post_id=post.id,
                channel_id=post.channel_id,
                number=number,
                created_at=at,
                started_at=at,
                finished_at=at + timedelta(milliseconds=300),
                worker="test-worker",
                **fields,
            )
        )


def _ops(browser: Browser, svc: RunningService, user: str = "ops") -> Page:
    page = new_context(browser, svc).new_page()
    login(page, user)
    return page


def _seed_outcomes(svc: RunningService) -> dict[str, Any]:
    """An Urdu article whose three posts ended differently, and a published post."""
    urdu = fixture_article(title=URDU_TITLE, language="ur")
    first = by_platform(seed_article(svc.engine, urdu, tag="words", hours=6))
    second = by_platform(seed_article(svc.engine, fixture_article(), tag="live", hours=6))
    x, ig, fb = first["x"], first["instagram"], first["facebook"]
    # X: a temporary error, a rate limit, then a dropped connection that reconciliation
    # found unpublished; the post waits for its next try.
    _attempt(svc, x, minutes_ago=9, status=AttemptStatus.RETRY, error_class="retry",
             http_status=503, message=X_503)  # fmt: skip
    _attempt(svc, x, minutes_ago=7, status=AttemptStatus.RETRY, error_class="rate_limited",
             http_status=429, message=X_429)  # fmt: skip
    _attempt(svc, x, minutes_ago=5, status=AttemptStatus.RETRY, error_class="ambiguous",
             message=DROPPED)  # fmt: skip
    x_retry = utcnow() + timedelta(hours=2)
    set_post(svc.engine, x.id, status=PostStatus.RETRY_WAIT, next_attempt_at=x_retry)
    _attempt(svc, fb, minutes_ago=4, status=AttemptStatus.FAILED, error_class="permanent",
             http_status=400, error_code="100", message=FB_REFUSED)  # fmt: skip
    set_post(svc.engine, fb.id, status=PostStatus.FAILED)
    _attempt(svc, ig, minutes_ago=3, status=AttemptStatus.RETRY, error_class="rate_limited",
             http_status=400, error_code="4", message=IG_LIMITED)  # fmt: skip
    ig_reset = utcnow() + timedelta(hours=3)
    set_post(svc.engine, ig.id, status=PostStatus.RETRY_WAIT, next_attempt_at=ig_reset)
    published = second["x"]
    _attempt(svc, published, minutes_ago=1, status=AttemptStatus.SUCCEEDED, http_status=201,
             external_id="1999", message="published")  # fmt: skip
    url = "https://x.com/sandbox_newsroom/status/1999"
    set_post(svc.engine, published.id, status=PostStatus.PUBLISHED, external_url=url)
    done_at = svc.attempts(published.id)[0].finished_at
    assert done_at is not None
    return dict(x=x, ig=ig, fb=fb, published=published, url=url, done_at=done_at,
                x_retry=x_retry, ig_reset=ig_reset)  # fmt: skip


def test_the_log_reads_one_sentence_per_outcome_with_titles_and_grouped_attempts(
    browser: Browser, ops_service: RunningService
) -> None:
    svc = ops_service
    seeded = _seed_outcomes(svc)
    x, ig, fb, published = seeded["x"], seeded["ig"], seeded["fb"], seeded["published"]
    done_at, url, x_retry, ig_reset = (seeded[k] for k in ("done_at", "url", "x_retry", "ig_reset"))
    page = _ops(browser, svc)
    page.goto("/deliveries")

    def row(post: Post) -> Any:
        return page.locator(f'#log-rows tr[data-post="{post.id}"]')

    # Titles, in their own direction, linking to the article.
    title = row(x).locator("a.article-title")
    expect(title).to_have_text(URDU_TITLE)
    expect(title).to_have_attribute("dir", "auto")
    expect(title).to_have_attribute("href", f"/articles/{x.article_id}")
    expect(page.locator("#log-rows")).not_to_contain_text("-words")  # no ID slug

    # One sentence per outcome, nothing said twice.
    expect(row(published).locator(".sentence")).to_have_text(
        f"Published on X at {fmt_time(done_at, TZ)} — view post"
    )
    expect(row(published).get_by_role("link", name="view post")).to_have_attribute("href", url)
    expect(row(fb).locator(".sentence")).to_have_text(
        "Facebook refused it: The message is too long (HTTP 400, code 100) — not retried."
    )
    expect(row(x).locator(".sentence")).to_have_text(
        "The connection dropped before X answered; we checked and the post was not there, so "
        f"it will be retried at {fmt_time(x_retry, TZ)}; 4 attempts left."
    )
    expect(row(ig).locator(".sentence")).to_have_text(
        f"Rate-limited by Instagram until {fmt_time(ig_reset, TZ)}; 6 attempts left."
    )
    expect(page.locator("#log-rows")).not_to_contain_text("outcome unknown")
    for post in (published, fb, ig):
        expect(row(post).locator("details")).to_have_count(0)  # one attempt: nothing to expand

    # One entry for the X post; its three attempts expand, newest first.
    expect(row(x)).to_have_count(1)
    attempts = row(x).locator("details")
    expect(attempts.locator("summary")).to_have_text("3 attempts")
    expect(attempts.locator("li")).to_have_count(3)
    expect(attempts.locator("li").first).not_to_be_visible()
    attempts.locator("summary").click()
    items = attempts.locator("li .attempt-sentence")
    expect(items).to_have_text(
        [
            re.compile(r"^The connection dropped before X answered; we checked"),
            "Rate-limited by X; it was retried after the reset.",
            "X had a temporary error: Service Unavailable (HTTP 503); it was retried.",
        ]
    )
    shot(page, "deliveries-grouped.png")

    # The log refreshes itself and keeps the list open.
    page.locator("h1").click()  # focus leaves the log, so refreshing resumes
    expect(page.locator("#log-updated")).to_contain_text("Updated", timeout=10_000)
    page.locator("#log-updated").evaluate("e => e.textContent = ''")
    expect(page.locator("#log-updated")).to_contain_text("Updated", timeout=10_000)
    expect(row(x).locator("details")).to_have_attribute("open", "")
    expect(items.first).to_be_visible()
    page.context.close()


def _channel(svc: RunningService, platform: PlatformName, name: str, **values: Any) -> Channel:
    settings = Settings(environment="test", data_dir=svc.tmp / "data")
    with session_scope(svc.engine) as s:
        channel = create_channel(
            session=s,
            settings=settings,
            platform=platform,
            name=name,
            account_id=str(17_000_000_000_000_000_000 + uuid.uuid4().int % 10**9),
            credentials={"access_token": "t"},
        )
        for key, value in values.items():
            setattr(channel, key, value)
        s.add(channel)
        s.flush()
        s.expunge(channel)
    return channel


def test_every_channel_health_state_reads_in_words_on_the_deliveries_and_channels_pages(
    browser: Browser, ops_service: RunningService
) -> None:
    svc = ops_service
    now = utcnow()
    limited_until = now + timedelta(hours=1)
    _channel(svc, PlatformName.X, "Desk failing")
    _channel(svc, PlatformName.INSTAGRAM, "Desk degraded")
    _channel(svc, PlatformName.FACEBOOK, "Desk limited", rate_limited_until=limited_until)
    _channel(svc, PlatformName.X, "Desk reconnect", status=ChannelStatus.NEEDS_REAUTH,
             status_reason="X refused the token (HTTP 401)")  # fmt: skip
    _channel(svc, PlatformName.FACEBOOK, "Desk paused", status=ChannelStatus.PAUSED)
    _channel(svc, PlatformName.FACEBOOK, "Desk token",
             token_expires_at=now + timedelta(days=5, hours=1))  # fmt: skip
    posts = {
        p.channel_id: p for p in seed_article(svc.engine, fixture_article(), tag="hp", hours=6)
    }
    names = _names(svc)

    def post(name: str) -> Post:
        return posts[names[name]]

    for minutes in (30, 20, 10):
        _attempt(svc, post("Desk failing"), minutes_ago=minutes, status=AttemptStatus.FAILED,
                 error_class="permanent", http_status=400)  # fmt: skip
    for minutes, status in ((20, AttemptStatus.FAILED), (10, AttemptStatus.SUCCEEDED)):
        _attempt(svc, post("Desk degraded"), minutes_ago=minutes, status=status,
                 error_class=None if status == AttemptStatus.SUCCEEDED else "retry")  # fmt: skip
    for minutes in (30, 20, 10, 5):  # only rate limits: rate-limited, never "failing"
        _attempt(svc, post("Desk limited"), minutes_ago=minutes, status=AttemptStatus.RETRY,
                 error_class="rate_limited", http_status=400, error_code="4")  # fmt: skip

    words = {
        "Desk failing": ("failing", "Failing"),
        "Desk degraded": ("degraded", "Degraded"),
        "Desk limited": ("rate_limited", f"Rate-limited until {fmt_time(limited_until, TZ)}"),
        "Desk reconnect": ("needs_reconnect", "Needs reconnect"),
        "Desk paused": ("paused", "Paused"),
        "Desk token": ("active", "Active"),
    }
    page = _ops(browser, svc)
    page.goto("/deliveries")
    for name, (state, text) in words.items():
        strip = page.locator(f'.health-strip li[data-channel="{name}"]')
        expect(strip.locator(".badge-health")).to_have_text(text)
        expect(strip).to_have_attribute("data-health", state)
        card = page.locator(f'.health-card[data-channel="{name}"]')
        expect(card.locator(".badge-health")).to_have_text(text)
    token = page.locator('.health-strip li[data-channel="Desk token"] .badge-token')
    expect(token).to_have_text("Token expires in 5 days")
    expect(page.locator('.health-card[data-channel="Desk token"]')).to_contain_text(
        "Facebook token for Desk token expires in 5 days — reconnect"
    )
    expect(page.locator('.health-card[data-channel="Desk limited"] .health-detail')).to_have_text(
        "The platform's rate limit is reached; deliveries wait for its reset."
    )
    # Colour is not the only signal: each state has its own icon before its words.
    icons = {
        state: page.locator(
            f'.health-strip li[data-health="{state}"] .badge-health'
        ).first.evaluate("e => getComputedStyle(e, '::before').content")
        for state, _ in words.values()
    }
    assert all(i not in ("none", "normal", "") for i in icons.values()), icons
    # Failing and needs-reconnect share the stop icon; every other state has its own.
    assert len(set(icons.values())) == len(icons) - 1, icons
    shot(page, "channel-health-states.png")
    page.context.close()

    admin = _ops(browser, svc, "admin")
    admin.goto("/channels")
    for name, (state, text) in words.items():
        cell = admin.locator(f'tr[data-channel="{name}"] .health-cell')
        expect(cell).to_have_attribute("data-health", state)
        expect(cell.locator(".badge-health")).to_have_text(text)
    expect(admin.locator('tr[data-channel="Desk token"] .badge-token')).to_have_text(
        "Token expires in 5 days"
    )
    admin.context.close()


def _names(svc: RunningService) -> dict[str, uuid.UUID]:
    with Session(svc.engine) as s:
        return {c.name: c.id for c in s.exec(select(Channel)).all()}
