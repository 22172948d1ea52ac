"""Fault handling through real workers and the sandbox: rate limits, server errors, expired
tokens, permanent errors and the ambiguous accepted-then-dropped case."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from scheduler.channels import SANDBOX_ACCOUNTS, set_channel_status
from scheduler.db.engine import session_scope
from scheduler.intake.articles import ingest_article
from scheduler.intake.schemas import parse_article
from scheduler.models import (
    AttemptStatus,
    Channel,
    ChannelStatus,
    DeliveryAttempt,
    PlatformName,
    Post,
    PostStatus,
)
from tests.integration.conftest import make_stack
from tests.utils.factories import article_variant
from tests.utils.stack import Stack, wait_until

X = SANDBOX_ACCOUNTS[PlatformName.X]
IG = SANDBOX_ACCOUNTS[PlatformName.INSTAGRAM]
FB = SANDBOX_ACCOUNTS[PlatformName.FACEBOOK]


@pytest.fixture(scope="module")
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    tmp: Path = tmp_path_factory.mktemp("faults")
    st = make_stack(request, tmp, "postgres+redis")
    st.start_worker()
    st.start_scheduler()
    yield st
    st.close()


@pytest.fixture(autouse=True)
def clean_platform(stack: Stack) -> Iterator[None]:
    stack.client.clear_faults()
    yield
    stack.client.clear_faults()
    with session_scope(stack.engine) as s:
        for channel in s.exec(select(Channel)).all():
            if channel.status != ChannelStatus.ACTIVE or channel.rate_limited_until:
                channel.rate_limited_until = None
                s.add(channel)
                set_channel_status(
                    session=s,
                    channel=channel,
                    status=ChannelStatus.ACTIVE,
                    reason=None,
                    actor="test",
                )


def ingest(stack: Stack, tag: str) -> str:
    with session_scope(stack.engine) as s:
        return str(ingest_article(session=s, data=parse_article(article_variant(tag))).article.id)


def post_of(stack: Stack, article_id: str, platform: str) -> Post:
    return next(
        p for p in stack.posts() if str(p.article_id) == article_id and p.platform == platform
    )


def attempts_of(stack: Stack, post: Post) -> list[DeliveryAttempt]:
    with Session(stack.engine) as s:
        return list(
            s.exec(
                select(DeliveryAttempt)
                .where(DeliveryAttempt.post_id == post.id)
                .order_by(col(DeliveryAttempt.number))
            ).all()
        )


def wait_status(
    stack: Stack, article_id: str, platform: str, status: str, timeout: float = 40
) -> Post:
    return wait_until(
        lambda: p if (p := post_of(stack, article_id, platform)).status == status else None,
        timeout=timeout,
        message=f"{platform} post to be {status}\n{stack.worker_logs()}",
    )


def creates_for(stack: Stack, tag: str, platform: str) -> int:
    return sum(1 for p in stack.client.posts(platform=platform) if tag in (p.get("text") or ""))


def test_rate_limited_post_is_retried_after_the_reset_and_not_before(stack: Stack) -> None:
    fault_set = datetime.now(UTC)
    stack.client.set_fault(X, platform="x", rate_limit_seconds=4)
    article_id = ingest(stack, "ratelimit")
    post = wait_status(stack, article_id, "x", PostStatus.PUBLISHED)
    first, *rest = attempts_of(stack, post)
    assert first.status == AttemptStatus.RETRY
    assert first.error_class == "rate_limited" and first.http_status == 429
    assert first.rate_limit["window"]["remaining"] == 0
    reset = datetime.fromtimestamp(first.rate_limit["window"]["reset"], UTC)
    assert abs((reset - fault_set).total_seconds() - 4) <= 1.5
    assert rest, "the post must have been retried"
    retry = rest[-1]
    assert retry.status == AttemptStatus.SUCCEEDED
    assert retry.started_at is not None and retry.started_at >= reset
    # Other channels were never held up by X's rate limit.
    assert post_of(stack, article_id, "facebook").status == PostStatus.PUBLISHED


def test_server_errors_are_retried_with_backoff_then_published(stack: Stack) -> None:
    stack.client.set_fault(FB, platform="facebook", fail_next={"kind": "5xx", "count": 2})
    article_id = ingest(stack, "fivexx")
    post = wait_status(stack, article_id, "facebook", PostStatus.PUBLISHED)
    attempts = attempts_of(stack, post)
    assert [a.status for a in attempts] == [
        AttemptStatus.RETRY,
        AttemptStatus.RETRY,
        AttemptStatus.SUCCEEDED,
    ]
    # A 5xx after the create was sent is ambiguous: reconciled (not there), then retried.
    assert all(
        a.error_class in ("retry", "ambiguous") and a.http_status and a.http_status >= 500
        for a in attempts[:2]
    )
    gaps = [
        (b.started_at - a.finished_at).total_seconds()  # type: ignore[operator]
        for a, b in itertools.pairwise(attempts)
    ]
    assert all(g >= 0.25 for g in gaps), gaps  # back-off base 0.5 s with equal jitter
    assert creates_for(stack, "fivexx", "facebook") == 1


def test_expired_token_holds_the_channel_and_other_channels_go_on(stack: Stack) -> None:
    stack.client.set_fault(IG, platform="instagram", expired_token=True)
    article_id = ingest(stack, "expired")
    ig = wait_status(stack, article_id, "instagram", PostStatus.NEEDS_REAUTH)
    for platform in ("x", "facebook"):
        wait_status(stack, article_id, platform, PostStatus.PUBLISHED)
    with Session(stack.engine) as s:
        channel = s.get(Channel, ig.channel_id)
        assert channel is not None and channel.status == ChannelStatus.NEEDS_REAUTH
        assert "190" in (attempts_of(stack, ig)[0].error_code or "")
    assert ig.last_error and "sandbox-token" not in ig.last_error
    # A second article waits too instead of failing while the channel is disconnected.
    second = ingest(stack, "expired-2")
    wait_status(stack, second, "x", PostStatus.PUBLISHED)
    held = wait_status(stack, second, "instagram", PostStatus.NEEDS_REAUTH)
    assert attempts_of(stack, held) == []
    # Reconnecting releases both.
    stack.client.clear_faults(IG)
    with session_scope(stack.engine) as s:
        channel = s.get(Channel, ig.channel_id)
        assert channel is not None
        set_channel_status(
            session=s,
            channel=channel,
            status=ChannelStatus.ACTIVE,
            reason="reconnected",
            actor="test",
        )
    wait_status(stack, article_id, "instagram", PostStatus.PUBLISHED)
    wait_status(stack, second, "instagram", PostStatus.PUBLISHED)


def test_permanent_error_fails_the_post_with_the_platforms_message(stack: Stack) -> None:
    stack.client.set_fault(FB, platform="facebook", permanent=True)
    article_id = ingest(stack, "permanent")
    post = wait_status(stack, article_id, "facebook", PostStatus.FAILED)
    (attempt,) = attempts_of(stack, post)
    assert attempt.status == AttemptStatus.FAILED and attempt.error_class == "permanent"
    assert attempt.error_code == "100"
    assert post.last_error and "(#100)" in post.last_error
    assert creates_for(stack, "permanent", "facebook") == 0


def test_accepted_then_dropped_is_reconciled_without_a_second_create(stack: Stack) -> None:
    stack.client.set_fault(X, platform="x", fail_next={"kind": "drop", "count": 1})
    article_id = ingest(stack, "dropped")
    post = wait_status(stack, article_id, "x", PostStatus.PUBLISHED)
    attempts = attempts_of(stack, post)
    assert len(attempts) == 1
    assert attempts[0].status == AttemptStatus.SUCCEEDED
    assert attempts[0].error_class == "ambiguous"
    assert post.external_id
    time.sleep(1)  # give any wrong second create the chance to show up
    assert creates_for(stack, "dropped", "x") == 1
    live = [p for p in stack.client.posts(platform="x") if "dropped" in (p.get("text") or "")]
    assert live[0]["id"] == post.external_id
    assert post.published_at is not None
    assert post.published_at - attempts[0].started_at < timedelta(seconds=30)  # type: ignore[operator]
