"""The dispatcher's claim time with every channel policy on (printed by bench/delivery.py)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from bench.common import percentile
from config import Settings
from scheduler.db.engine import session_scope
from scheduler.delivery.dispatch import claim_due_posts
from scheduler.models import Channel, Post, utcnow

CreatePosts = Callable[[Any, Settings, int, str, list[str]], list[uuid.UUID]]


def claim_time_with_policies(
    engine: Any, settings: Settings, n: int, create_posts: CreatePosts
) -> str:
    """Time claim_due_posts with spacing, a daily cap, slots and staleness on every channel,
    over a backlog of ``n`` due posts that mostly wait (the claim's statements stay bounded)."""
    policy = {
        "min_interval_seconds": 5,
        "daily_cap": 10_000,
        "slots": {"mon-sun": [f"{h:02d}:{m:02d}" for h in range(24) for m in (0, 30)]},
        "stale_after_minutes": 10_000,  # checked on every claim; none expire here
    }
    with session_scope(engine) as s:
        s.execute(sa.update(Channel).values(settings=policy, next_free_at=None))
    ids = create_posts(engine, settings, n, "policy", ["x", "instagram", "facebook"])
    with session_scope(engine) as s:
        s.execute(
            sa.update(Post)
            .where(col(Post.id).in_(ids))
            .values(scheduled_at=utcnow() - timedelta(hours=1))
        )
    timings: list[float] = []
    claimed = 0
    for _ in range(20):
        t0 = time.perf_counter()
        claimed += len(
            claim_due_posts(
                engine=engine,
                now=utcnow() + timedelta(minutes=30 * len(timings)),  # the next slot
                batch=settings.dispatch_batch,
                lease_seconds=60,
            )
        )
        timings.append(time.perf_counter() - t0)
    return (
        f"dispatcher claim with policies on (spacing, cap, slots, staleness; {n} due posts "
        f"waiting on 3 channels): p50 {percentile(timings, 50) * 1000:.1f} ms, "
        f"max {max(timings) * 1000:.1f} ms per claim; {claimed} claimed in 20 claims"
    )
