"""Delivery throughput and dispatch lateness on PostgreSQL + Redis with real processes.

Prints, in one run:
  * Celery's own no-op task rate on the same broker and worker pool;
  * newsrelay's end-to-end deliveries/s against the sandbox with 100 ms platform latency;
  * dispatch lateness (attempt start minus scheduled_at), p50 and p99, for 1,000 posts due at
    the same moment and for a steady 50 posts/s (no channel policy: spacing off);
  * the same burst through the naive design (bench/peer.py: a Celery task per post with eta),
    and newsrelay's throughput and p99 lateness as ratios to it, with both machine CPU figures
    (run with --platforms x for the issue's X-only comparison);
  * the dispatcher's claim time with every channel policy on, over a waiting backlog.

    .venv/bin/python bench/delivery.py [--posts 1000] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import redis
import sqlalchemy as sa
from sqlmodel import Session, col, select

from adapters.images import LocalMediaStore, headline_card
from bench.claim_policy import claim_time_with_policies
from bench.common import (
    Processes,
    bench_env,
    cpu_seconds,
    free_port,
    fresh_pg_database,
    is_up,
    machine_busy_seconds,
    machine_summary,
    percentile,
    wait_for,
)
from bench.peer import Figures, measure_peer
from config import Settings
from scheduler.db.engine import make_engine, session_scope
from scheduler.delivery.dispatch import TaskMessage
from scheduler.delivery.tasks import NOOP_TASK
from scheduler.models import Article, Channel, DeliveryAttempt, Post, PostStatus, utcnow
from scheduler.ops.state import WORKER_HEARTBEAT_PREFIX
from scheduler.runtime.bootstrap import ensure_ready
from workers.celery_app import celery_sender, make_celery

SETTLED = (PostStatus.PUBLISHED, PostStatus.FAILED, PostStatus.NEEDS_REVIEW)


def create_posts(
    engine: Any, settings: Settings, n: int, tag: str, platforms: list[str]
) -> list[uuid.UUID]:
    """n rendered posts spread over the three channels, scheduled far in the future."""
    store = LocalMediaStore(settings.media_dir, settings.resolved_media_base_url)
    settings.media_dir.mkdir(parents=True, exist_ok=True)
    card = store.save_jpeg(headline_card("Benchmark"), width=1080, height=1350)
    later = utcnow() + timedelta(days=1)
    ids: list[uuid.UUID] = []
    with session_scope(engine) as s:
        channels = [c for c in s.exec(select(Channel)).all() if c.platform in platforms]
        for i in range(0, n, len(channels)):
            article = Article(
                source="bench",
                external_id=f"{tag}-{i}",
                url=f"https://b.example/{i}",
                title=f"Bench {tag} {i}",
                published_at=utcnow(),
            )
            s.add(article)
            s.flush()
            for ch in channels[: n - i]:
                post = Post(
                    article_id=article.id,
                    channel_id=ch.id,
                    platform=ch.platform,
                    status=PostStatus.SCHEDULED,
                    text=f"Bench {tag} {i} {ch.platform}",
                    link=None if ch.platform == "instagram" else article.url,
                    media=[card.as_dict()] if ch.platform == "instagram" else [],
                    rendered_revision=1,
                    render_requested_revision=1,
                    scheduled_at=later,
                )
                s.add(post)
                ids.append(post.id)
    return ids


def settled(engine: Any, tag: str) -> bool:
    """All of a run's posts settled; found by their articles' tag, not by a list of thousands
    of ids (compiling that list every poll cost the benchmark a tenth of a core)."""
    with Session(engine) as s:
        left = s.execute(
            _tagged(sa.select(sa.func.count()).select_from(Post), tag).where(
                col(Post.status).not_in(SETTLED)
            )
        ).scalar_one()
    return bool(left == 0)


def _tagged(stmt: Any, tag: str) -> Any:
    return stmt.join(Article, col(Article.id) == col(Post.article_id)).where(
        col(Article.source) == "bench", col(Article.external_id).startswith(f"{tag}-")
    )


def attempt_stats(engine: Any, ids: list[uuid.UUID]) -> tuple[list[float], float, int, int]:
    """Lateness of first attempts (s), span first start → last finish (s), published, total."""
    with Session(engine) as s:
        rows = s.execute(
            sa.select(
                DeliveryAttempt.number,
                DeliveryAttempt.started_at,  # type: ignore[call-overload]
                DeliveryAttempt.finished_at,
                Post.scheduled_at,
                Post.status,
            )
            .join(Post, col(Post.id) == col(DeliveryAttempt.post_id))
            .where(col(Post.id).in_(ids))
        ).all()
    first = [r for r in rows if r[0] == 1 and r[1] is not None]
    lateness = [(r[1] - r[3]).total_seconds() for r in first]
    span = (max(r[2] for r in rows if r[2]) - min(r[1] for r in first)).total_seconds()
    published = sum(1 for r in first if r[4] == PostStatus.PUBLISHED)
    return lateness, span, published, len(ids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--pg-admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--noop", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument(
        "--platforms",
        default="x,instagram,facebook",
        help="comma-separated channels to spread the posts over",
    )
    args = parser.parse_args()

    r = redis.Redis.from_url(args.redis_url)
    r.flushdb()
    tmp = Path(tempfile.mkdtemp(prefix="nr-bench-"))
    sandbox_port, api_port = free_port(), free_port()
    with fresh_pg_database(args.pg_admin_url) as db_url:
        values = dict(
            database_url=db_url,
            broker_url=args.redis_url,
            data_dir=str(tmp / "data"),
            public_base_url=f"http://127.0.0.1:{api_port}",
            sandbox_port=str(sandbox_port),
            log_level="WARNING",
            environment="test",
            http__read_timeout="10",
        )
        env = bench_env(**values)
        settings = Settings(**{k: v for k, v in values.items()})
        engine = make_engine(db_url)
        ensure_ready(settings, sandbox_channels=True)
        procs = Processes(env, tmp)
        try:
            sandbox = procs.start(
                "sandbox", "-m", "scheduler.cli.app", "sandbox", "--port", str(sandbox_port)
            )
            api = procs.start("api", "-m", "scheduler.cli.app", "api", "--port", str(api_port))
            workers = []
            for n in range(args.workers):
                workers.append(
                    procs.start(
                        f"worker{n}",
                        "-m",
                        "celery",
                        "-A",
                        "workers.celery_app",
                        "worker",
                        "-P",
                        "threads",
                        "-c",
                        str(args.concurrency),
                        "-Q",
                        "format,deliver.x,deliver.instagram,deliver.facebook,bench",
                        "--without-gossip",
                        "--without-mingle",
                        "--without-heartbeat",
                        "-n",
                        f"bench{n}@%h",
                        "-l",
                        "WARNING",
                    )
                )

            def worker_ready() -> bool:
                with Session(engine) as s:
                    return bool(
                        s.execute(
                            sa.text("SELECT count(*) FROM service_state WHERE key LIKE :p"),
                            {"p": WORKER_HEARTBEAT_PREFIX + "%"},
                        ).scalar_one()
                        >= args.workers
                    )

            wait_for(worker_ready, timeout=60)
            wait_for(lambda: is_up(f"http://127.0.0.1:{sandbox_port}/_sandbox/health"), timeout=30)
            wait_for(lambda: is_up(f"http://127.0.0.1:{api_port}/healthz"), timeout=30)
            print(
                f"machine: {machine_summary()}; {args.workers} worker process(es), "
                f"threads x{args.concurrency}; broker Redis; database PostgreSQL"
            )

            # 1. Celery's own no-op rate on the same broker and pool.
            app = make_celery(settings)
            cpu0, machine0 = cpu_seconds(workers), machine_busy_seconds()
            t0 = time.perf_counter()
            # Sent the way the dispatcher sends deliveries (batches of its claim size).
            send = celery_sender(app)
            for start in range(0, args.noop, settings.dispatch_batch):
                send(
                    [
                        TaskMessage(NOOP_TASK, uuid.uuid4().hex, (), "bench")
                        for _ in range(min(settings.dispatch_batch, args.noop - start))
                    ]
                )
            wait_for(
                lambda: r.llen("bench") == 0 and r.hlen("unacked") == 0, timeout=300, interval=0.01
            )
            noop_rate = args.noop / (time.perf_counter() - t0)
            noop_cpu = (cpu_seconds(workers) - cpu0) / args.noop
            noop_machine = (machine_busy_seconds() - machine0) / args.noop
            print(
                f"celery no-op tasks: {args.noop} in {args.noop / noop_rate:.2f} s "
                f"= {noop_rate:.0f} tasks/s (worker CPU {noop_cpu * 1000:.2f} ms/task; "
                f"machine CPU {noop_machine * 1000:.2f} ms/task)"
            )

            # 2. End-to-end deliveries with platform latency, 1,000 due at the same moment.
            httpx.post(
                f"http://127.0.0.1:{sandbox_port}/_sandbox/faults",
                json={
                    "account": None,
                    "latency_ms": args.latency_ms,
                    # Far above Instagram's real 100 publishes/24 h: a load test.
                    "quota_total": 10_000_000,
                },
            ).raise_for_status()
            platforms = args.platforms.split(",")
            burst = create_posts(engine, settings, args.posts, "burst", platforms)
            steady = create_posts(engine, settings, args.posts, "steady", platforms)
            scheduler = procs.start("scheduler", "-m", "scheduler.cli.app", "scheduler")
            time.sleep(2)
            due = utcnow()
            others = {"sandbox": [sandbox], "scheduler": [scheduler], "api": [api]}
            others0 = {k: cpu_seconds(v) for k, v in others.items()}
            cpu0, machine0 = cpu_seconds(workers), machine_busy_seconds()
            with session_scope(engine) as s:
                s.execute(sa.update(Post).where(col(Post.id).in_(burst)).values(scheduled_at=due))
            _wait_settled(engine, "burst")
            delivery_cpu = (cpu_seconds(workers) - cpu0) / len(burst)
            delivery_machine = (machine_busy_seconds() - machine0) / len(burst)
            others_cpu = {k: (cpu_seconds(v) - others0[k]) / len(burst) for k, v in others.items()}
            lateness, span, published, total = attempt_stats(engine, burst)
            rate = published / span
            print(
                f"end-to-end deliveries ({args.latency_ms} ms platform latency, "
                f"{args.platforms}): {published}/{total} published in {span:.2f} s "
                f"= {rate:.0f} deliveries/s "
                f"({rate / noop_rate:.0%} of the no-op rate; "
                f"worker CPU {delivery_cpu * 1000:.2f} ms/delivery; "
                + ", ".join(f"{k} {v * 1000:.2f}" for k, v in others_cpu.items())
                + ")"
            )
            # When both runs are CPU-bound, the ratio of the two rates is the ratio of the whole
            # machine's CPU per no-op task to its CPU per delivery.
            print(
                f"machine CPU (all processes, incl. PostgreSQL, Redis and the sandbox): "
                f"{delivery_machine * 1000:.2f} ms/delivery vs {noop_machine * 1000:.2f} ms/no-op "
                f"task (ratio {noop_machine / delivery_machine:.0%})"
            )
            print(
                f"dispatch lateness, {total} due at once: p50 {percentile(lateness, 50):.3f} s, "
                f"p99 {percentile(lateness, 99):.3f} s"
            )
            ours = Figures(
                rate, percentile(lateness, 50), percentile(lateness, 99), delivery_machine * 1000
            )
            compare_with_peer(procs, env, engine, settings, ours, args)

            # 3. A steady arrival rate.
            start = utcnow() + timedelta(seconds=2)
            with session_scope(engine) as s:
                for i, pid in enumerate(steady):
                    s.execute(
                        sa.update(Post)
                        .where(col(Post.id) == pid)
                        .values(scheduled_at=start + timedelta(seconds=i / args.rate))
                    )
            _wait_settled(engine, "steady")
            lateness, span, published, total = attempt_stats(engine, steady)
            print(
                f"dispatch lateness, steady {args.rate:.0f} posts/s ({total} posts): "
                f"p50 {percentile(lateness, 50):.3f} s, p99 {percentile(lateness, 99):.3f} s, "
                f"max {max(lateness):.3f} s; {published} published"
            )

            # 4. The dispatcher's claim with every channel policy on (no worker involved).
            scheduler.terminate()
            scheduler.wait(timeout=30)
            print(claim_time_with_policies(engine, settings, args.posts, create_posts))
        finally:
            procs.stop_all()
            engine.dispose()
    r.flushdb()


def compare_with_peer(
    procs: Processes, env: dict[str, str], engine: Any, settings: Settings, ours: Figures, args: Any
) -> None:
    """The naive design (bench/peer.py) on the same burst, and newsrelay's figures as ratios."""
    ids = create_posts(engine, settings, args.posts, "peer", ["x"])
    with session_scope(engine) as s:  # drafts: newsrelay's dispatcher never takes them
        s.execute(sa.update(Post).where(col(Post.id).in_(ids)).values(status=PostStatus.DRAFT))
    peer = measure_peer(
        procs,
        env,
        engine,
        ids,
        broker_url=args.redis_url,
        x_url=settings.sandbox_url,
        concurrency=args.concurrency,
        machine_busy=machine_busy_seconds,
    )
    print(
        f"peer (naive design: a task per post with eta, threads x{args.concurrency}, X only): "
        f"{peer.rate:.0f} deliveries/s, lateness p50 {peer.p50:.3f} s, p99 {peer.p99:.3f} s, "
        f"machine CPU {peer.machine_cpu_ms:.2f} ms/delivery"
    )
    print(
        f"newsrelay / peer: throughput {ours.rate / peer.rate:.2f}x (target >= 1.00), "
        f"burst p99 lateness {ours.p99 / peer.p99:.2f}x (target <= 1.00), "
        f"machine CPU per delivery {ours.machine_cpu_ms:.2f} vs {peer.machine_cpu_ms:.2f} ms"
    )


def _wait_settled(engine: Any, tag: str) -> None:
    try:
        # The figures come from the attempts' own timestamps: the poll interval does not skew them.
        wait_for(lambda: settled(engine, tag), timeout=600, interval=0.5)
    except TimeoutError:
        with Session(engine) as s:
            counts = s.execute(
                _tagged(sa.select(col(Post.status), sa.func.count()), tag).group_by(
                    col(Post.status)
                )
            ).all()
        raise SystemExit(f"posts did not settle: {dict(counts)}") from None


if __name__ == "__main__":
    main()
