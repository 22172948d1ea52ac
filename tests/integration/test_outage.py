"""A Facebook outage through real worker processes, PostgreSQL and Redis: every Facebook call
fails (creates answer 500 or are accepted and then dropped; every read answers 500), and no
post is handed to a person.  The posts wait ``unknown`` with the reason in words; once Facebook
is back, every post is published exactly once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from scheduler.channels import SANDBOX_ACCOUNTS
from scheduler.db.engine import session_scope
from scheduler.intake.articles import ingest_article
from scheduler.intake.schemas import parse_article
from scheduler.models import AttemptStatus, DeliveryAttempt, PlatformName, Post, PostStatus
from tests.integration.conftest import make_stack
from tests.utils.factories import article_variant
from tests.utils.gateway import Gateway
from tests.utils.stack import Stack, wait_until

FB = SANDBOX_ACCOUNTS[PlatformName.FACEBOOK]
ARTICLES = 8
#: Where a post may be while Facebook is down: never needs_review, failed or published.
WAITING = {
    PostStatus.RENDERING,
    PostStatus.SCHEDULED,
    PostStatus.QUEUED,
    PostStatus.PUBLISHING,
    PostStatus.UNKNOWN,
    PostStatus.RETRY_WAIT,
}


@pytest.fixture(scope="module")
def gateway() -> Iterator[Gateway]:
    gw = Gateway()
    yield gw
    gw.close()


@pytest.fixture(scope="module")
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, gateway: Gateway
) -> Iterator[Stack]:
    tmp: Path = tmp_path_factory.mktemp("outage")
    # Graph calls (Instagram's and Facebook's) go through the gateway to the sandbox.
    st = make_stack(request, tmp, "postgres+redis", {"meta__base_url": gateway.url})
    gateway.upstream = st.sandbox.url
    st.start_worker()
    st.start_scheduler()
    yield st
    st.close()


def facebook_posts(stack: Stack) -> list[Post]:
    return [p for p in stack.posts() if p.platform == "facebook"]


def creates(stack: Stack) -> Counter[str]:
    """Posts live on the Facebook Page, by article tag."""
    live = stack.client.posts(platform="facebook")
    return Counter(
        f"outage-{i:02d}"
        for p in live
        for i in range(ARTICLES)
        if f"[outage-{i:02d}]" in (p.get("text") or "")
    )


def test_a_facebook_outage_waits_then_publishes_every_post_once(
    stack: Stack, gateway: Gateway
) -> None:
    # Every create fails: half answer 500 (nothing created), the others are created and the
    # connection dropped (ambiguous); every read (the reconciliation's listing) answers 500.
    stack.client.set_fault(FB, platform="facebook", error_rate=0.5, drop_rate=1.0, seed=11)
    gateway.failing_account = FB
    for i in range(ARTICLES):
        with session_scope(stack.engine) as s:
            ingest_article(session=s, data=parse_article(article_variant(f"outage-{i:02d}")))

    def checked_repeatedly() -> bool:
        posts = facebook_posts(stack)
        bad = [(p.status, p.last_error) for p in posts if p.status not in WAITING]
        assert not bad, f"{bad}\n{stack.worker_logs()}"
        return len(posts) == ARTICLES and all(
            (p.platform_state or {}).get("reconcile_outages", 0) >= 3 for p in posts
        )

    # Each post is checked (and fails) three times or more: the old code escalated at once.
    wait_until(checked_repeatedly, timeout=90, interval=0.2, message="repeated failed checks")
    posts = facebook_posts(stack)
    assert {p.status for p in posts} == {PostStatus.UNKNOWN}
    for post in posts:
        assert post.last_error is not None
        assert post.last_error.startswith("Facebook is failing (HTTP 500); checking again at ")
        assert "It is not sent again until Facebook answers." in post.last_error
    dropped = creates(stack)
    assert 0 < len(dropped) < ARTICLES, dropped  # both kinds of failed create happened
    assert gateway.failed_reads >= 3 * ARTICLES

    # Facebook is back.
    gateway.failing_account = None
    stack.client.clear_faults(FB)

    def all_published() -> bool:
        return all(p.status == PostStatus.PUBLISHED for p in facebook_posts(stack))

    wait_until(
        all_published,
        timeout=90,
        message="every Facebook post to be published: "
        + str(Counter(p.status for p in facebook_posts(stack))),
    )
    assert creates(stack) == Counter({f"outage-{i:02d}": 1 for i in range(ARTICLES)})
    with Session(stack.engine) as s:
        succeeded = Counter(
            a.post_id
            for a in s.exec(
                select(DeliveryAttempt).where(
                    col(DeliveryAttempt.status) == AttemptStatus.SUCCEEDED
                )
            ).all()
        )
    assert all(succeeded[p.id] == 1 for p in facebook_posts(stack))
    live = {p["id"] for p in stack.client.posts(platform="facebook")}
    assert all(p.external_id in live for p in facebook_posts(stack))
    # The other channels never waited for Facebook.
    assert all(p.status == PostStatus.PUBLISHED for p in stack.posts())
