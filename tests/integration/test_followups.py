"""Follow-ups end to end on PostgreSQL + Redis with real Celery worker processes against the
sandbox over HTTP: an Instagram post whose first comment carries the link and an X thread of
two, each created exactly once (counted in the sandbox's store), including when the worker is
SIGKILLed while the follow-up is being sent."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from scheduler.db.engine import session_scope
from scheduler.intake.articles import ingest_article
from scheduler.intake.schemas import parse_article
from scheduler.models import Channel, Post, PostStatus
from tests.integration.conftest import make_stack
from tests.utils.factories import article_variant
from tests.utils.stack import Stack, wait_until

IG_COMMENT = "Read the full story: {link}"
X_REPLY = "Thread 2/2 on {title}: {link}"


def enable_followups(stack: Stack) -> None:
    with session_scope(stack.engine) as s:
        for channel in s.exec(select(Channel)).all():
            template = {"instagram": IG_COMMENT, "x": X_REPLY}.get(str(channel.platform))
            if template:
                channel.settings = {**channel.settings, "first_comment": template}
                s.add(channel)


@pytest.fixture(scope="module")
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    tmp: Path = tmp_path_factory.mktemp("followups")
    # A publish lease longer than a slowed-down Instagram publish (see the kill test).
    st = make_stack(request, tmp, "postgres+redis", overrides={"publish_lease_seconds": "15"})
    enable_followups(st)
    st.start_worker()
    st.start_scheduler()
    yield st
    st.close()


def ingest(stack: Stack, tag: str) -> str:
    with session_scope(stack.engine) as s:
        return str(ingest_article(session=s, data=parse_article(article_variant(tag))).article.id)


def article_posts(stack: Stack, article_id: str) -> list[Post]:
    return [p for p in stack.posts() if str(p.article_id) == article_id]


def all_published(stack: Stack, article_id: str) -> list[Post] | None:
    posts = article_posts(stack, article_id)
    done = len(posts) == 5 and all(p.status == PostStatus.PUBLISHED for p in posts)
    return posts if done else None


def assert_each_created_once(stack: Stack, posts: list[Post]) -> None:
    """The sandbox holds exactly one of each: parent, first comment, thread reply."""
    by = {(str(p.platform), p.kind): p for p in posts}
    ig, comment = by[("instagram", "link")], by[("instagram", "comment")]
    x, reply = by[("x", "link")], by[("x", "reply")]
    assert comment.parent_id == ig.id and reply.parent_id == x.id
    live = stack.client.posts()
    assert [p["id"] for p in live if p["id"] == ig.external_id] == [ig.external_id]
    comments = stack.client.comments(parent=ig.external_id)
    assert len(comments) == 1, comments
    assert comments[0]["id"] == comment.external_id
    replies = [p for p in live if p["platform"] == "x" and p["reply_to"] == x.external_id]
    assert [r["id"] for r in replies] == [reply.external_id]
    assert len([p for p in live if p["id"] == x.external_id]) == 1
    assert stack.client.comments(platform="facebook") == []


def test_instagram_first_comment_carries_the_link_and_x_makes_a_thread_of_two(
    stack: Stack,
) -> None:
    article_id = ingest(stack, "fu-e2e")
    posts = wait_until(
        lambda: all_published(stack, article_id),
        timeout=90,
        message="parents and follow-ups published\n" + stack.worker_logs(),
    )
    assert_each_created_once(stack, posts)
    by = {(str(p.platform), p.kind): p for p in posts}
    comment = stack.client.comments(parent=by[("instagram", "link")].external_id)[0]
    assert comment["text"].startswith("Read the full story: https://")
    assert "utm_source=instagram" in comment["text"]
    reply = next(
        p for p in stack.client.posts(platform="x") if p["id"] == by[("x", "reply")].external_id
    )
    assert reply["text"].startswith("Thread 2/2 on ") and "(fu-e2e)" in reply["text"]
    for parent, follow in (("instagram", "comment"), ("x", "reply")):
        first, second = by[(parent, "link")], by[(parent, follow)]
        assert first.published_at and second.published_at
        assert second.published_at >= first.published_at  # after its parent was live


def test_worker_killed_while_sending_the_followups_creates_each_once(stack: Stack) -> None:
    # Every platform call takes 1.2 s, so each follow-up spends that long in `publishing`:
    # the worker is SIGKILLed there, after the platform received the call (which completes).
    stack.client.set_fault(None, latency_ms=1200)
    article_id = ingest(stack, "fu-kill")
    killed: set[object] = set()
    deadline = time.monotonic() + 120
    while len(killed) < 2 and time.monotonic() < deadline:
        follow = [p for p in article_posts(stack, article_id) if p.parent_id is not None]
        sending = [p.id for p in follow if p.status == PostStatus.PUBLISHING and p.id not in killed]
        if sending:
            stack.kill_worker(stack.workers[-1])
            killed.update(sending)
            stack.start_worker()
        elif follow and all(p.status == PostStatus.PUBLISHED for p in follow):
            break
        time.sleep(0.05)
    stack.client.clear_faults()
    assert killed, "no follow-up was caught in flight\n" + stack.worker_logs()
    posts = wait_until(
        lambda: all_published(stack, article_id),
        timeout=120,
        message="every post published after the kills\n" + stack.worker_logs(),
    )
    assert_each_created_once(stack, posts)
    follow_ups = [p for p in posts if p.parent_id is not None]
    assert all(p.id in killed or p.attempt_count == 1 for p in follow_ups)
