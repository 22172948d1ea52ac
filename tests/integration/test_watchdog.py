"""A worker that is alive but takes no more deliveries (the consumer that silently stopped)
ends itself, says why, and its supervisor's next worker delivers what waited."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from config import Settings
from scheduler.channels import ensure_sandbox_channels
from scheduler.db.engine import session_scope
from scheduler.intake.articles import ingest_article
from scheduler.intake.schemas import parse_article
from scheduler.models import DeliveryAttempt, Post, PostStatus, ServiceState, utcnow
from scheduler.ops.state import WORKER_HEARTBEAT_PREFIX
from tests.utils.factories import article_variant
from tests.utils.stack import Stack, wait_until
from workers import liveness
from workers.liveness import STALLED_EXIT_CODE, Activity, deliver_platforms, is_stalled


@pytest.fixture
def stack(pg_url: str, redis_url: str, tmp_path: Path) -> Iterator[Stack]:
    st = Stack(
        tmp_path,
        database_url=pg_url,
        broker_url=redis_url,
        overrides={"worker_stall_seconds": "5", "queued_lease_seconds": "60"},
    )
    yield st
    st.close()


@pytest.mark.parametrize(("queue", "waiting"), [("deliver.x", 1), ("format", 3)])
def test_a_worker_that_stopped_consuming_is_restarted_and_the_posts_go_out(
    stack: Stack, queue: str, waiting: int
) -> None:
    worker = stack.start_supervised_worker()
    first = worker.proc
    # The worker stays up and beating but no longer consumes one queue: the failure mode.
    replies = stack.celery.control.cancel_consumer(
        queue, destination=[worker.name], reply=True, timeout=10
    )
    assert replies and "ok" in next(iter(replies[0].values())), replies
    stack.start_scheduler()
    with session_scope(stack.engine) as s:
        article = ingest_article(session=s, data=parse_article(article_variant("stall"))).article
        article_id = article.id

    def published() -> bool:
        posts = [p for p in stack.posts() if p.article_id == article_id]
        return len(posts) == 3 and all(p.status == PostStatus.PUBLISHED for p in posts)

    try:
        wait_until(published, timeout=90, message="the three posts after the restart")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{stack.worker_logs()}") from None
    # The stalled worker ended itself (warm shutdown, or the hard exit after the grace time)
    # and the supervisor's next worker did the work that waited; each post went out once.
    assert worker.proc is not first
    assert worker.exits and worker.exits[0] in (0, STALLED_EXIT_CODE), worker.exits
    logs = stack.worker_logs()
    assert "worker_stalled" in logs and f'"waiting": {waiting}' in logs, logs
    with Session(stack.engine) as s:
        attempts = s.exec(select(DeliveryAttempt)).all()
    assert sorted(str(a.status) for a in attempts) == ["succeeded"] * 3, attempts


def test_stall_needs_idle_time_no_running_task_and_waiting_work() -> None:
    assert is_stalled(active=0, idle_seconds=31, waiting=2, stall_seconds=30)
    assert not is_stalled(active=1, idle_seconds=31, waiting=2, stall_seconds=30)
    assert not is_stalled(active=0, idle_seconds=29, waiting=2, stall_seconds=30)
    assert not is_stalled(active=0, idle_seconds=31, waiting=0, stall_seconds=30)


def test_activity_counts_running_tasks_and_resets_idle_time() -> None:
    activity = Activity()
    activity.started()
    activity.started()
    activity.finished()
    active, idle = activity.snapshot()
    assert active == 1 and 0 <= idle < 1
    activity.finished()
    activity.finished()  # never below zero
    assert activity.snapshot()[0] == 0


def test_only_deliver_queues_name_platforms() -> None:
    assert deliver_platforms(["format", "deliver.x", "deliver.facebook"]) == ["facebook", "x"]
    assert deliver_platforms(["format"]) == []


@pytest.mark.parametrize("watch", [True, False])
def test_heartbeat_reports_a_stall_only_when_watching(
    engine: Engine, settings: Settings, watch: bool
) -> None:
    # Real waiting work: an article's three posts left in `rendering` for a minute.
    with session_scope(engine) as s:
        ensure_sandbox_channels(session=s, settings=settings)
        article = ingest_article(session=s, data=parse_article(article_variant("idle"))).article
        s.execute(
            sa.update(Post)
            .where(col(Post.article_id) == article.id)
            .values(updated_at=utcnow() - timedelta(minutes=1))
        )
    activity = Activity()
    stalls: list[tuple[int, float]] = []
    stop = threading.Event()

    def on_stall(waiting: int, idle: float) -> None:
        stalls.append((waiting, idle))

    thread = threading.Thread(
        target=liveness.run_heartbeat,
        kwargs=dict(
            stop=stop,
            hostname="unit@test",
            engine=lambda: engine,
            queues=["format", "deliver.x"],
            stall_seconds=0.3,
            activity=activity,
            on_stall=on_stall,
            watch=watch,
        ),
    )
    thread.start()
    wait_until(lambda: stalls or (not watch and _beats(engine)), timeout=10, message="a beat")
    time.sleep(0.5)  # a few more rounds: an unwatched worker never reports
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert _beats(engine)
    if watch:
        assert stalls and stalls[0][0] == 3 and stalls[0][1] >= 0.3
        assert len(stalls) == 1  # reported once; the loop ends there
    else:
        assert stalls == []


def _beats(engine: Engine) -> bool:
    with Session(engine) as s:
        return s.get(ServiceState, WORKER_HEARTBEAT_PREFIX + "unit@test") is not None
