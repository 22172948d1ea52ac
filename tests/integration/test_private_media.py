"""End to end on PostgreSQL + Redis with a real worker process: the sandbox, like Meta, refuses
Instagram image URLs on private addresses.  While the media store (on 127.0.0.1) is not allowed,
the Instagram channel is held with a readable reason and the post waits, not failed; once the
media store's address is allowed and the channel resumed, the post is published exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from scheduler.channels import resume_channel
from scheduler.db.engine import session_scope
from scheduler.intake.articles import ingest_article
from scheduler.intake.schemas import parse_article
from scheduler.models import Channel, ChannelStatus, DeliveryAttempt, Post, PostStatus
from tests.utils.factories import article_variant
from tests.utils.stack import Stack, wait_until


@pytest.fixture
def stack(pg_url: str, redis_url: str, tmp_path: Path) -> Iterator[Stack]:
    running = Stack(tmp_path, database_url=pg_url, broker_url=redis_url, worker_concurrency=2)
    try:
        yield running
    finally:
        running.close()


def _instagram(stack: Stack) -> tuple[Channel, Post]:
    with Session(stack.engine) as s:
        channel = s.exec(select(Channel).where(col(Channel.platform) == "instagram")).one()
        post = s.exec(select(Post).where(col(Post.channel_id) == channel.id)).one()
        return channel, post


def test_a_private_media_store_holds_the_instagram_channel_until_allowed_then_publishes_once(
    stack: Stack,
) -> None:
    # Meta's fetchers cannot reach 127.0.0.1, where the test's media store listens.
    stack.client.set_media_access(refuse_private=True)
    stack.start_worker()
    stack.start_scheduler()
    with session_scope(stack.engine) as s:
        ingest_article(session=s, data=parse_article(article_variant("private-media")))

    wait_until(
        lambda: _instagram(stack)[0].status == ChannelStatus.PAUSED,
        timeout=60,
        message="the Instagram channel to be held",
    )
    channel, post = _instagram(stack)
    assert post.status == PostStatus.HELD  # held, not failed: the set-up is at fault
    assert channel.status_reason is not None
    assert "could not fetch the image" in channel.status_reason
    assert "NEWSRELAY_MEDIA_BASE_URL" in channel.status_reason
    with Session(stack.engine) as s:
        attempts = s.exec(select(DeliveryAttempt).where(col(DeliveryAttempt.post_id) == post.id))
        assert [a.error_class for a in attempts] == ["configuration"]
    assert stack.client.posts(platform="instagram") == []
    refused = [r for r in stack.client.requests(platform="instagram") if r["kind"] == "container"]
    assert [r["status"] for r in refused] == [400]

    # The media store's address is made reachable (allowed), and the editor resumes the channel.
    stack.client.set_media_access(allow=[f"127.0.0.1:{stack.api_port}"])
    with session_scope(stack.engine) as s:
        held = s.get(Channel, channel.id)
        assert held is not None
        resume_channel(session=s, channel=held, actor="editor@test")

    wait_until(
        lambda: _instagram(stack)[1].status == PostStatus.PUBLISHED,
        timeout=60,
        message="the Instagram post to be published",
    )
    channel, post = _instagram(stack)
    assert channel.status == ChannelStatus.ACTIVE and channel.status_reason is None
    live = stack.client.posts(platform="instagram")
    assert [p["id"] for p in live] == [post.external_id]
    publishes = [r for r in stack.client.requests(platform="instagram") if r["kind"] == "publish"]
    assert [r["status"] for r in publishes] == [200]
