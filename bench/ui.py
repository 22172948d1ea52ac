"""Web UI render times with 10,000 posts in the database.

Fills a fresh SQLite database (bulk inserts: 1,667 articles on six channels in four time zones,
posts spread over eight weeks in every status, a delivery attempt per sent post), then requests
every page 20 times from ``newsrelay api`` (a real uvicorn process) as a logged-in admin, over
HTTP, and prints p50/p95/max in ms.

    .venv/bin/python -m bench.ui [--posts 10000] [--requests 20]
"""

from __future__ import annotations

import argparse
import random
import re
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from sqlmodel import select

from bench.common import Processes, bench_env, free_port, percentile, wait_for
from config import Settings
from scheduler.access.auth import create_user
from scheduler.channels import create_channel
from scheduler.db.engine import session_scope
from scheduler.models import (
    Article,
    AttemptStatus,
    Channel,
    DeliveryAttempt,
    PlatformName,
    Post,
    PostStatus,
    Role,
    utcnow,
)
from scheduler.ops.state import set_global_pause
from scheduler.runtime.bootstrap import ensure_ready

PASSWORD = "bench-password-123"  # noqa: S105 - a throwaway account in a temp database
EXTRA_CHANNELS = [
    (PlatformName.X, "Gulf X", "Asia/Dubai"),
    (PlatformName.FACEBOOK, "UK Facebook", "Europe/London"),
    (PlatformName.INSTAGRAM, "US Instagram", "America/New_York"),
]


def _status_for(at_offset_days: float, rnd: random.Random) -> PostStatus:
    if at_offset_days < 0:
        return rnd.choices(
            [
                PostStatus.PUBLISHED,
                PostStatus.FAILED,
                PostStatus.CANCELLED,
                PostStatus.NEEDS_REVIEW,
            ],
            weights=[90, 5, 4, 1],
        )[0]
    return rnd.choices(
        [PostStatus.SCHEDULED, PostStatus.PENDING_APPROVAL, PostStatus.DRAFT, PostStatus.HELD],
        weights=[75, 15, 5, 5],
    )[0]


def fill(engine: Any, settings: Settings, n_posts: int) -> uuid.UUID:
    """Bulk-insert the articles, posts and attempts; return a busy article's id."""
    rnd = random.Random(42)
    now = utcnow()
    with session_scope(engine) as s:
        for platform, name, tz in EXTRA_CHANNELS:
            create_channel(
                session=s,
                settings=settings,
                platform=platform,
                name=name,
                account_id=f"bench-{name}",
                credentials={"access_token": "bench"},
                timezone=tz,
            )
        create_user(session=s, username="admin", password=PASSWORD, role=Role.ADMIN)
        s.flush()
        channels = list(s.exec(select(Channel)).all())
    n_articles = -(-n_posts // len(channels))
    articles: list[dict[str, Any]] = []
    posts: list[dict[str, Any]] = []
    attempts: list[dict[str, Any]] = []
    for i in range(n_articles):
        offset = rnd.uniform(-28, 28)
        published = now + timedelta(days=offset)
        aid = uuid.uuid4()
        articles.append(
            {
                "id": aid,
                "source": "bench",
                "external_id": f"bench-{i}",
                "url": f"https://southasiandesk.example/bench/{i}",
                "title": f"Bench article {i}: ministers meet on regional trade and water talks",
                "summary": "A summary of the article for the previews. " * 3,
                "body": "",
                "tags": ["Pakistan", "Trade"],
                "language": "en",
                "published_at": published,
                "priority": "normal",
                "state": "published",
                "revision": 1,
                "content_hash": "",
                "created_at": published,
                "updated_at": published,
            }
        )
        for channel in channels:
            if len(posts) >= n_posts:
                break
            status = _status_for(offset, rnd)
            pid = uuid.uuid4()
            at = published + timedelta(minutes=rnd.randint(0, 90))
            sent = status in (PostStatus.PUBLISHED, PostStatus.FAILED, PostStatus.NEEDS_REVIEW)
            posts.append(
                {
                    "id": pid,
                    "article_id": aid,
                    "channel_id": channel.id,
                    "platform": str(channel.platform),
                    "kind": "link",
                    "status": str(status),
                    "text": f"Bench article {i} https://southasiandesk.example/bench/{i} #Pakistan",
                    "link": f"https://southasiandesk.example/bench/{i}",
                    "media": [],
                    "problems": ["The post is too long."] if status == PostStatus.DRAFT else [],
                    "warnings": [],
                    "platform_state": {},
                    "weighted_length": 80,
                    "rendered_revision": 1,
                    "render_requested_revision": 1,
                    "scheduled_at": at,
                    "version": 1,
                    "attempt_count": 1 if sent else 0,
                    "last_error": "X refused the post (code 187)."
                    if status == PostStatus.FAILED
                    else None,
                    "published_at": at if status == PostStatus.PUBLISHED else None,
                    "created_at": published,
                    "updated_at": published,
                }
            )
            if sent:
                ok = status == PostStatus.PUBLISHED
                attempts.append(
                    {
                        "id": uuid.uuid4(),
                        "post_id": pid,
                        "channel_id": channel.id,
                        "number": 1,
                        "status": str(AttemptStatus.SUCCEEDED if ok else AttemptStatus.FAILED),
                        "created_at": at,
                        "started_at": at,
                        "finished_at": at + timedelta(milliseconds=300),
                        "scheduled_for": at,
                        "http_status": 201 if ok else 403,
                        "error_code": None if ok else "187",
                        "error_class": None if ok else "permanent",
                        "message": None if ok else "The platform refused the post.",
                        "latency_ms": 300,
                        "rate_limit": {},
                    }
                )
    with session_scope(engine) as s:
        for table, rows in ((Article, articles), (Post, posts), (DeliveryAttempt, attempts)):
            for start in range(0, len(rows), 2000):
                s.execute(sa.insert(table), rows[start : start + 2000])
        # The banner's query runs on every page; measure with it on.
        set_global_pause(session=s, actor="user:admin", reason="Benchmark")
    print(f"inserted {len(articles)} articles, {len(posts)} posts, {len(attempts)} attempts")
    return articles[len(articles) // 2]["id"]


def login(client: httpx.Client) -> None:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    response = client.post(
        "/login",
        data={"username": "admin", "password": PASSWORD, "csrf_token": token[1], "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def measure(client: httpx.Client, path: str, requests: int) -> list[float]:
    for _ in range(2):  # warm caches (templates, statement cache)
        assert client.get(path).status_code == 200, path
    times = []
    for _ in range(requests):
        start = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(environment="test", data_dir=Path(tmp))
        engine = ensure_ready(settings, sandbox_channels=True)
        article_id = fill(engine, settings, args.posts)
        port = free_port()
        env = bench_env(environment="test", data_dir=tmp, log_level="WARNING")
        procs = Processes(env, Path(tmp))
        procs.start("api", "-m", "scheduler.cli.app", "api", "--port", str(port))
        base = f"http://127.0.0.1:{port}"

        def up() -> bool:
            try:
                return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(up, timeout=30)
        anonymous = httpx.Client(base_url=base)
        client = httpx.Client(base_url=base)
        login(client)
        week = (utcnow() - timedelta(days=7)).date().isoformat()
        pages = [
            ("login page", anonymous, "/login"),
            ("queue /", client, "/"),
            ("queue, failed only", client, "/?status=failed&from=2000-01-01"),
            ("calendar (this week)", client, "/calendar"),
            ("calendar (last week)", client, f"/calendar?week={week}"),
            ("article", client, f"/articles/{article_id}"),
            ("deliveries", client, "/deliveries"),
            ("deliveries rows (poll)", client, "/deliveries/rows"),
        ]
        print(f"{'page':<26}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
        worst = 0.0
        for name, who, path in pages:
            times = measure(who, path, args.requests)
            worst = max(worst, max(times))
            print(
                f"{name:<26}{percentile(times, 50):>9.1f}{percentile(times, 95):>9.1f}"
                f"{max(times):>9.1f}"
            )
        print(f"slowest single request: {worst:.1f} ms (target: under 200 ms)")
        procs.stop_all()


if __name__ == "__main__":
    main()
