"""Two scheduler processes running at once never dispatch the same post twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
from sqlmodel import Session, col, select

from config import Settings
from scheduler.db.engine import make_engine, session_scope
from scheduler.intake.articles import ingest_article
from scheduler.intake.schemas import parse_article
from scheduler.models import DeliveryAttempt, Post, PostStatus, utcnow
from scheduler.runtime.bootstrap import ensure_ready
from tests.utils.factories import article_variant
from tests.utils.processes import wait_for_line
from tests.utils.stack import ROOT, wait_until

POSTS = 300


@pytest.mark.parametrize("backend", ["postgres+redis", "sqlite"])
def test_two_scheduler_processes_never_dispatch_a_post_twice(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if backend == "postgres+redis":
        db_url = request.getfixturevalue("pg_url")
        broker = request.getfixturevalue("redis_url")
    else:
        db_url, broker = f"sqlite:///{tmp_path / 'newsrelay.sqlite'}", None
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSRELAY_")}
    env.update(
        NEWSRELAY_DATA_DIR=str(tmp_path / "data"),
        NEWSRELAY_DATABASE_URL=db_url,
        NEWSRELAY_DISPATCH_INTERVAL="0.05",
        NEWSRELAY_DISPATCH_BATCH="7",
        NEWSRELAY_QUEUED_LEASE_SECONDS="600",
        NEWSRELAY_LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    if broker:
        env["NEWSRELAY_BROKER_URL"] = broker
    settings = Settings(data_dir=tmp_path / "data", database_url=db_url, broker_url=broker)
    ensure_ready(settings, sandbox_channels=True)
    engine = make_engine(db_url)
    with session_scope(engine) as s:
        for i in range(POSTS // 3):
            ingest_article(session=s, data=parse_article(article_variant(f"replica-{i}")))
    # Make every post due at once, as if rendered (no worker runs in this test).
    with session_scope(engine) as s:
        s.execute(
            sa.update(Post).values(
                status=PostStatus.SCHEDULED, text="t", scheduled_at=utcnow() - timedelta(seconds=1)
            )
        )

    cmd = [sys.executable, "-m", "scheduler.cli.app", "scheduler"]
    procs = [
        subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    try:
        for p in procs:  # a SIGTERM before the handler is installed would be a kill, not a stop
            wait_for_line(p, "scheduler running")

        def all_queued() -> bool:
            with Session(engine) as s:
                return not s.exec(
                    select(Post).where(col(Post.status) == PostStatus.SCHEDULED)
                ).first()

        wait_until(all_queued, timeout=90, message="every post to be dispatched")
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        errors = [p.communicate(timeout=30)[1].decode(errors="replace") for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors

    with Session(engine) as s:
        attempts = s.exec(select(DeliveryAttempt)).all()
        posts = s.exec(select(Post)).all()
    assert len(posts) == POSTS
    per_post = Counter(a.post_id for a in attempts)
    assert len(per_post) == POSTS and set(per_post.values()) == {1}
    assert {p.status for p in posts} == {PostStatus.QUEUED}
    assert all(p.attempt_count == 1 for p in posts)
    if broker:
        # Exactly one message per attempt reached the broker's platform queues.
        r = redis.Redis.from_url(broker)
        total = sum(r.llen(f"deliver.{p}") for p in ("x", "instagram", "facebook"))
        assert total == POSTS
    engine.dispose()
