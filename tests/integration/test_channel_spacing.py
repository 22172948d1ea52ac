"""Acceptance (slow, ~2 minutes): on PostgreSQL + Redis with two scheduler processes and two
Celery worker processes, 20 normal articles published at once go out on a channel with
``min_interval_seconds=5`` at least 5 s apart, in publish order; a breaking article added in the
middle goes out next."""

from __future__ import annotations

import itertools
import signal
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from scheduler.db.engine import session_scope
from scheduler.intake.articles import ingest_article
from scheduler.intake.schemas import parse_article
from scheduler.models import Article, Channel, DeliveryAttempt, Post, PostStatus, utcnow
from tests.utils.factories import article_variant
from tests.utils.stack import ROOT, Stack, wait_until

NORMAL = 20
INTERVAL = timedelta(seconds=5)


def _add(stack: Stack, tag: str, published: datetime, priority: str = "normal") -> None:
    data = article_variant(tag, published_at=published.isoformat(), priority=priority)
    with session_scope(stack.engine) as s:
        ingest_article(session=s, data=parse_article(data))


def _x_posts(stack: Stack) -> list[tuple[str, str, datetime | None, datetime | None]]:
    """(article external id, priority, claim time, platform's receive time) of X posts."""
    with Session(stack.engine) as s:
        rows = s.execute(
            sa.select(
                Article.external_id, Article.priority, DeliveryAttempt.created_at, Post.published_at
            )  # type: ignore[call-overload]
            .join(Post, col(Post.article_id) == col(Article.id))
            .outerjoin(DeliveryAttempt, col(DeliveryAttempt.post_id) == col(Post.id))
            .where(col(Post.platform) == "x")
        ).all()
    return [tuple(r) for r in rows]


@pytest.mark.slow
def test_spaced_channel_sends_twenty_articles_5_s_apart_in_order_and_breaking_next(
    pg_url: str, redis_url: str, tmp_path: Path
) -> None:
    stack = Stack(tmp_path, database_url=pg_url, broker_url=redis_url, worker_concurrency=4)
    schedulers: list[subprocess.Popen[bytes]] = []
    try:
        with session_scope(stack.engine) as s:
            x = s.exec(select(Channel).where(col(Channel.platform) == "x")).one()
            x.settings = {**x.settings, "min_interval_seconds": 5}
            s.add(x)
        for _ in range(2):
            stack.start_worker()
        cmd = [sys.executable, "-m", "scheduler.cli.app", "scheduler"]
        schedulers = [
            subprocess.Popen(
                cmd, env=stack.env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
            for _ in range(2)
        ]
        base = utcnow() - timedelta(minutes=1)
        for i in range(NORMAL):  # "published at once": a CMS burst, in publish order
            _add(stack, f"spaced-{i:02d}", base + timedelta(seconds=i))

        def published_x() -> int:
            with Session(stack.engine) as s:
                return len(
                    s.exec(
                        select(Post).where(
                            col(Post.platform) == "x", col(Post.status) == PostStatus.PUBLISHED
                        )
                    ).all()
                )

        wait_until(lambda: published_x() >= 4, timeout=60, message="four spaced X posts")
        _add(stack, "spaced-breaking", utcnow(), priority="breaking")
        wait_until(lambda: published_x() == NORMAL + 1, timeout=200, message="every X post")
    finally:
        for proc in schedulers:
            proc.send_signal(signal.SIGTERM)
        errors = [p.communicate(timeout=30)[1].decode(errors="replace") for p in schedulers]
        stack.close()
    assert all(p.returncode == 0 for p in schedulers), errors

    rows = sorted(_x_posts(stack), key=lambda r: r[2])  # by claim time
    assert len(rows) == NORMAL + 1  # one attempt each: no post claimed twice
    order = [r[0] for r in rows]
    breaking_at = next(i for i, r in enumerate(rows) if r[1] == "breaking")
    normal = [r for r in rows if r[1] == "normal"]
    # In publish order; the breaking article jumped the queue: it went out next after the
    # normal posts already claimed when it arrived (4 published, at most one more in flight).
    assert [r[0] for r in normal] == sorted(r[0] for r in normal), order
    assert 4 <= breaking_at <= 5, order
    # At least 5 s apart, both as claimed and as the platform received them.
    for earlier, later in itertools.pairwise(normal):
        assert later[2] - earlier[2] >= INTERVAL, order
        assert later[3] - earlier[3] >= INTERVAL, (earlier, later)
