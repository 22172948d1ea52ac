"""Chaos: 300 posts over 3 channels while the platforms fail 5 % of calls and drop 2 % of
accepted creates, a worker is SIGKILLed twice and Redis restarts once.  Every post ends
published or with a recorded reason, and the platforms saw exactly one create per published post.
The X channel attaches images (with alt text) and the Facebook channel makes photo posts, so
uploads, photo creates and reconciling posts with media are all under the same faults.
"""

from __future__ import annotations

import subprocess
import time
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

ARTICLES = 100  # x 3 channels = 300 posts
SETTLED = {PostStatus.PUBLISHED, PostStatus.FAILED, PostStatus.NEEDS_REVIEW, PostStatus.DRAFT}


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
        },
        worker_concurrency=16,
    )
    yield stack, broker
    stack.close()
    broker.kill()


@pytest.mark.slow
def test_chaos_every_post_settles_and_none_is_published_twice(
    chaos_stack: tuple[Stack, RedisServer],
) -> None:
    stack, broker = chaos_stack
    _post_with_media(stack)
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

    def all_settled() -> bool:
        posts = stack.posts()
        return len(posts) == 3 * ARTICLES and all(p.status in SETTLED for p in posts)

    wait_until(
        all_settled,
        timeout=240,
        interval=1,
        message="every post to settle: "
        + str(Counter(p.status for p in stack.posts()))
        + "\n"
        + stack.worker_logs(),
    )

    posts = stack.posts()
    for post in posts:
        assert post.status == PostStatus.PUBLISHED or post.last_error, post
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
        tag = f"chaos-{int(_tag(post, stack)):03d}"
        creates = [p for p in live if p["platform"] == post.platform and tag in (p["text"] or "")]
        if post.status == PostStatus.PUBLISHED:
            assert len(creates) == 1, (post.platform, tag, creates)
            assert creates[0]["id"] == post.external_id or post.platform == "instagram"
            _assert_media(post, creates[0])
        else:
            assert len(creates) <= 1, (post.platform, tag, creates)
    summary = Counter(str(p.status) for p in posts)
    print(f"chaos outcome: {dict(summary)}")
    assert summary["published"] >= 290, summary


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
