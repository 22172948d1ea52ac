"""Chaos: 300 posts over 3 channels, and 200 follow-ups (Instagram's first comment, the X reply
that makes a thread), while the platforms fail 5 % of calls and drop 2 % of accepted creates, a
worker is SIGKILLed twice and Redis restarts once.  Every post ends published or with a recorded
reason (a follow-up may still wait for a parent that did not go out), and the platforms saw
exactly one create per published post and per published follow-up, under the right parent.
The X channel attaches images (with alt text) and the Facebook channel makes photo posts, so
uploads, photo creates and reconciling posts with media are all under the same faults.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlmodel import Session, col, select

from scheduler.channels import update_channel
from scheduler.db.engine import session_scope
from scheduler.intake.articles import ingest_article
from scheduler.intake.schemas import parse_article
from scheduler.models import AttemptStatus, Channel, DeliveryAttempt, Post, PostStatus
from tests.utils.factories import article_variant
from tests.utils.stack import Stack, free_port, wait_until

ARTICLES = 100  # x 3 channels = 300 posts, and 200 follow-ups (Instagram and X)
SETTLED = {PostStatus.PUBLISHED, PostStatus.FAILED, PostStatus.NEEDS_REVIEW, PostStatus.DRAFT}
FOLLOWUPS = {"instagram": "Read the full story: {link}", "x": "Thread 2/2 on {title}: {link}"}


class RedisServer:
    """A private redis-server (no persistence) that the test may kill and restart."""

    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.tmp = tmp
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.tmp),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        wait_until(lambda: _pings(client), timeout=20, message="redis-server to start")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=10)


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


@pytest.fixture
def chaos_stack(pg_url: str, tmp_path: Path) -> Iterator[tuple[Stack, RedisServer]]:
    broker = RedisServer(tmp_path)
    broker.start()
    stack = Stack(
        tmp_path,
        database_url=pg_url,
        broker_url=broker.url,
        overrides={
            "publish_lease_seconds": "6",
            "queued_lease_seconds": "4",
            "max_attempts": "10",
            "worker_stall_seconds": "10",
            # The Instagram adapter probes the media store (served by this test process) before
            # each container; on a loaded machine a 5 s read timeout there pauses the channel
            # (a configuration error), which is not what this test is about.
            "http__read_timeout": "15",
        },
        worker_concurrency=16,
    )
    yield stack, broker
    stack.close()
    broker.kill()


@pytest.mark.slow
@pytest.mark.timeout(720)  # 500 posts (with the follow-ups) on a shared machine
def test_chaos_every_post_settles_and_none_is_published_twice(
    chaos_stack: tuple[Stack, RedisServer],
) -> None:
    stack, broker = chaos_stack
    _post_with_media(stack)
    _enable_followups(stack)
    stack.client.set_fault(None, error_rate=0.05, drop_rate=0.02, latency_ms=30, seed=7)
    # Supervised, as in production: a worker that dies or ends itself (the stall watchdog) is
    # started again.
    worker = stack.start_supervised_worker()
    stack.start_scheduler()
    for i in range(ARTICLES):
        with session_scope(stack.engine) as s:
            ingest_article(session=s, data=parse_article(article_variant(f"chaos-{i:03d}")))

    def published_count() -> int:
        return sum(1 for p in stack.posts() if p.status == PostStatus.PUBLISHED)

    def progress(target: int, what: str) -> None:
        try:
            wait_until(lambda: published_count() >= target, timeout=90, message=what)
        except AssertionError as exc:
            detail = f"{exc}: {published_count()} published\n{stack.worker_logs()}"
            raise AssertionError(detail) from None

    # Faults while deliveries are in flight.
    progress(30, "deliveries to start")
    worker.kill()
    progress(110, "progress after kill 1")
    broker.kill()
    time.sleep(1)
    broker.start()
    progress(190, "progress after the Redis restart")
    worker.kill()

    _wait_settled(stack)

    posts = stack.posts()
    by_id = {p.id: p for p in posts}
    for post in posts:
        waiting = post.parent_id is not None and post.status == PostStatus.SCHEDULED
        assert post.status == PostStatus.PUBLISHED or post.last_error or waiting, post
    live = stack.client.posts()
    with Session(stack.engine) as s:
        succeeded = Counter(
            a.post_id
            for a in s.exec(
                select(DeliveryAttempt).where(
                    col(DeliveryAttempt.status) == AttemptStatus.SUCCEEDED
                )
            ).all()
        )
    assert max(succeeded.values()) == 1
    for post in posts:
        if post.parent_id is not None:
            _check_followup(post, by_id[post.parent_id], stack, live)
            continue
        tag = f"chaos-{int(_tag(post, stack)):03d}"
        creates = [
            p
            for p in live
            if p["platform"] == post.platform and p["reply_to"] is None and tag in (p["text"] or "")
        ]
        if post.status == PostStatus.PUBLISHED:
            assert len(creates) == 1, (post.platform, tag, creates)
            assert creates[0]["id"] == post.external_id or post.platform == "instagram"
            _assert_media(post, creates[0])
        else:
            assert len(creates) <= 1, (post.platform, tag, creates)
    summary = Counter((p.kind, str(p.status)) for p in posts)
    print(f"chaos outcome: {dict(summary)}")
    assert summary[("link", "published")] >= 290, summary
    parents_live = sum(
        1 for p in posts if p.parent_id is not None and by_id[p.parent_id].external_id
    )
    assert summary[("comment", "published")] + summary[("reply", "published")] >= (
        parents_live - 10
    ), summary


def _enable_followups(stack: Stack) -> None:
    with session_scope(stack.engine) as s:
        for channel in s.exec(select(Channel)).all():
            if str(channel.platform) in FOLLOWUPS:
                first_comment = FOLLOWUPS[str(channel.platform)]
                channel.settings = {**channel.settings, "first_comment": first_comment}
                s.add(channel)


def _wait_settled(stack: Stack) -> None:
    """Wait for every post to settle; on a timeout, say where each kind of post is stuck."""

    def all_settled() -> bool:
        posts = stack.posts()
        by_id = {p.id: p for p in posts}
        return len(posts) == 5 * ARTICLES and all(_settled(p, by_id) for p in posts)

    try:
        wait_until(all_settled, timeout=360, interval=2, message="every post to settle")
    except AssertionError as exc:
        posts = stack.posts()
        by_id = {p.id: p for p in posts}
        states = Counter(
            (p.kind, str(p.status), str(by_id[p.parent_id].status) if p.parent_id else "-")
            for p in posts
        )
        with Session(stack.engine) as s:
            channels = [
                (str(c.platform), str(c.status), c.status_reason)
                for c in s.exec(select(Channel)).all()
            ]
        errors = Counter(p.last_error for p in posts if p.status != PostStatus.PUBLISHED)
        raise AssertionError(
            f"{exc}: {dict(states)}\nchannels: {channels}\nerrors: {dict(errors)}\n"
            + stack.worker_logs()
        ) from None


def _settled(post: Post, by_id: dict[uuid.UUID, Post]) -> bool:
    if post.status in SETTLED:
        return True
    # A follow-up waits for its parent for as long as that is not live.
    parent = by_id.get(post.parent_id) if post.parent_id is not None else None
    return (
        parent is not None
        and post.status == PostStatus.SCHEDULED
        and parent.status != PostStatus.PUBLISHED
        and parent.status in SETTLED
    )


def _check_followup(post: Post, parent: Post, stack: Stack, live: list[dict[str, object]]) -> None:
    """Exactly one comment or reply under the parent if the follow-up is published; at most one
    otherwise; none at all while the parent is not live."""
    if parent.external_id is None:
        found: list[object] = []
    elif post.platform == "x":
        found = [p["id"] for p in live if p["reply_to"] == parent.external_id]
    else:
        found = [c["id"] for c in stack.client.comments(parent=parent.external_id)]
    if post.status == PostStatus.PUBLISHED:
        assert found == [post.external_id], (post.platform, post.kind, found, post.external_id)
    else:
        assert len(found) <= 1, (post.platform, post.kind, found)


def _post_with_media(stack: Stack) -> None:
    """X attaches an image with alt text, Facebook makes photo posts."""
    shape: dict[str, dict[str, Any]] = {
        "x": {"attach_image": True},
        "facebook": {"post_type": "photo"},
    }
    with session_scope(stack.engine) as s:
        for channel in s.exec(select(Channel)).all():
            if str(channel.platform) in shape:
                settings = {**channel.settings, **shape[str(channel.platform)]}
                update_channel(session=s, channel=channel, actor="chaos", channel_settings=settings)


def _assert_media(post: Post, live: dict[str, Any]) -> None:
    """The live post carries the image the post was rendered with."""
    if post.platform == "x":
        assert [m["alt_text"] for m in live["media"]] == [post.media[0]["alt_text"]]
    if post.platform == "facebook":
        assert live["image_url"] == post.media[0]["url"]


def _tag(post: object, stack: Stack) -> str:
    from scheduler.models import Article

    with Session(stack.engine) as s:
        article = s.get(Article, post.article_id)  # type: ignore[attr-defined]
        assert article is not None
        return article.external_id.rsplit("chaos-", 1)[1]
