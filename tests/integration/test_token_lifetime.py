"""Acceptance (slow, ~1.5 minutes): X tokens stay alive on their own.  With the sandbox issuing
access tokens that live 5 s (``NEWSRELAY_SANDBOX_TOKEN_TTL_SECONDS=5``) and a refresh window
shorter than that, articles added every 2 s for 60 s all reach the X channel — connected through
the sandbox's OAuth flow — through repeated refreshes, with zero ``needs_reauth``.  PostgreSQL +
Redis, a real Celery worker process and two real scheduler processes racing to refresh."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from scheduler.db.engine import session_scope
from scheduler.intake.articles import ingest_article
from scheduler.intake.schemas import parse_article
from scheduler.models import Channel, ChannelStatus, Post, PostStatus, utcnow
from tests.utils.factories import article_variant
from tests.utils.stack import ROOT, Stack, wait_until
from tests.utils.x_tokens import connect_existing, stored_credentials

TTL = 5
ARTICLES = 30  # one every 2 s for 60 s
EVERY = 2.0


def _x_posts(stack: Stack) -> list[Post]:
    with Session(stack.engine) as s:
        return list(s.exec(select(Post).where(col(Post.platform) == "x")).all())


def _start_schedulers(stack: Stack, count: int) -> list[subprocess.Popen[bytes]]:
    cmd = [sys.executable, "-m", "scheduler.cli.app", "scheduler"]
    return [
        subprocess.Popen(
            cmd, env=stack.env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        for _ in range(count)
    ]


@pytest.mark.slow
def test_x_posts_keep_flowing_for_a_minute_of_five_second_tokens_without_reauth(
    pg_url: str, redis_url: str, tmp_path: Path
) -> None:
    overrides = {
        "sandbox_token_ttl_seconds": TTL,
        "token_refresh_ahead_seconds": 2,
        "token_refresh_interval_seconds": 1,
    }
    stack = Stack(
        tmp_path,
        database_url=pg_url,
        broker_url=redis_url,
        overrides=overrides,
        worker_concurrency=4,
    )
    schedulers: list[subprocess.Popen[bytes]] = []
    try:
        with Session(stack.engine) as s:
            x_id = s.exec(select(Channel.id).where(col(Channel.platform) == "x")).one()
        connect_existing(stack.engine, stack.settings, x_id)  # tokens from the OAuth flow
        first = stored_credentials(stack.engine, stack.settings, x_id)
        stack.start_worker()
        schedulers = _start_schedulers(stack, 2)
        started = time.monotonic()
        for i in range(ARTICLES):
            data = article_variant(f"ttl-{i:02d}", published_at=utcnow().isoformat())
            with session_scope(stack.engine) as s:
                ingest_article(session=s, data=parse_article(data))
            time.sleep(max(0.0, started + (i + 1) * EVERY - time.monotonic()))

        def all_published() -> bool:
            posts = _x_posts(stack)
            return len(posts) == ARTICLES and all(p.status == PostStatus.PUBLISHED for p in posts)

        wait_until(all_published, timeout=90, interval=0.5, message="every X post published")
        last = stored_credentials(stack.engine, stack.settings, x_id)
    finally:
        for proc in schedulers:
            proc.send_signal(signal.SIGTERM)
        errors = [p.communicate(timeout=30)[1].decode(errors="replace") for p in schedulers]
        token_calls = stack.client.requests(platform="x", kind="oauth_token")
        x_creates = [r for r in stack.client.requests(platform="x") if r["kind"] == "create"]
        sandbox_posts = stack.client.posts(platform="x")
        logs = stack.worker_logs() + "".join(errors)
        stack.close()
    assert all(p.returncode == 0 for p in schedulers), errors

    # Zero needs_reauth: no post, no channel.
    assert {p.status for p in _x_posts(stack)} == {PostStatus.PUBLISHED}
    with Session(stack.engine) as s:
        channel = s.get(Channel, x_id)
        assert channel is not None and channel.status == ChannelStatus.ACTIVE
    # Each published exactly once, on X.
    external = sorted(p.external_id or "" for p in _x_posts(stack))
    assert sorted(p["id"] for p in sandbox_posts) == external
    # Through repeated refreshes: a minute of 5 s tokens needs a dozen at least (one per ~3 s
    # when the job refreshes 2 s ahead), and none was refused — a refresh token used twice
    # (two replicas refreshing one expiry) would have got X's invalid_grant 400.
    statuses = [r["status"] for r in token_calls]
    refreshes = statuses.count(200) - 1  # less the authorization-code exchange
    assert refreshes >= 12, statuses
    assert set(statuses) == {200}, statuses
    assert last["refresh_token"] != first["refresh_token"]
    # Deliveries rarely meet a dead token; when one does, the 401 path refreshes and resends.
    assert [r["status"] for r in x_creates].count(201) == ARTICLES
    # No token in any worker or scheduler log line.
    for secret in (*first.values(), *last.values()):
        assert secret not in logs
