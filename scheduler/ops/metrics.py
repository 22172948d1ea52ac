"""Prometheus metrics read from the database at scrape time.

The API, scheduler and worker processes all write to the database, so a collector that queries
it on each scrape reports the same numbers whichever API process is scraped (no multiprocess
directory, no counters lost on restart).  Every query is one aggregate (GROUP BY, or bucket sums
computed in SQL), so a scrape stays cheap with hundreds of thousands of attempts.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, col

from config import Settings
from scheduler.access.token_warnings import WARNING_COLUMNS, warning_from_row
from scheduler.models import AttemptStatus, DeliveryAttempt, Post, PostStatus, utcnow
from scheduler.ops.health import WORKER_SILENCE
from scheduler.ops.state import (
    DISPATCHER_HEARTBEAT,
    WORKER_HEARTBEAT_PREFIX,
    global_pause,
    heartbeats,
)

#: Histograms cover attempts created in this window (they describe recent behaviour).
HISTOGRAM_WINDOW = timedelta(hours=24)
LATENESS_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)
LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
_FINISHED = [
    s.value for s in AttemptStatus if s not in (AttemptStatus.ENQUEUED, AttemptStatus.STARTED)
]


def _seconds_between(conn: Connection, later: Any, earlier: Any) -> Any:
    if conn.dialect.name == "sqlite":
        return (sa.func.julianday(later) - sa.func.julianday(earlier)) * 86400.0
    return sa.func.extract("epoch", later - earlier)


def _bucket_columns(value: Any, buckets: tuple[float, ...]) -> list[Any]:
    """Cumulative bucket counts, the count and the sum, all computed by the database."""
    cols = [sa.func.sum(sa.case((value <= b, 1), else_=0)) for b in buckets]
    return [*cols, sa.func.count(value), sa.func.sum(value)]


def _histogram_buckets(
    row: Any, buckets: tuple[float, ...]
) -> tuple[list[tuple[str, float]], float]:
    counts = [int(v or 0) for v in row[: len(buckets)]]
    total, value_sum = int(row[len(buckets)] or 0), float(row[len(buckets) + 1] or 0.0)
    pairs = [(str(b), float(c)) for b, c in zip(buckets, counts, strict=True)]
    pairs.append(("+Inf", float(total)))
    return pairs, value_sum


class DatabaseCollector:
    """Collects newsrelay's metrics from the database on every scrape."""

    def __init__(self, engine: Engine, settings: Settings | None = None) -> None:
        self.engine = engine
        # Reading whether an X token renews itself needs the credential keys; without
        # settings every X token is taken to renew itself (no gauge for it).
        self.settings = settings

    def describe(self) -> list[Metric]:
        # Returning nothing keeps registration from running the database queries.
        return []

    def collect(self) -> Iterator[Metric]:
        now = utcnow()
        with self.engine.connect() as conn:
            channels = conn.execute(sa.select(*WARNING_COLUMNS)).all()
            names = {row.id: row.name for row in channels}
            yield self._token_expiry(channels, now)
            yield self._posts(conn, names)
            yield self._held(conn, names)
            yield self._deliveries(conn, names)
            yield self._lateness(conn, now)
            yield self._latency(conn, names, now)
            yield from self._liveness(conn, now)

    def _token_expiry(self, channels: Sequence[Any], now: Any) -> Metric:
        # Read from the channel rows collect() already fetched: no query of its own.
        family = GaugeMetricFamily(
            "newsrelay_channel_token_expires_in_seconds",
            "Seconds until a channel's token expires, for tokens that cannot renew themselves "
            "and expire within 7 days (negative: expired); reconnect the channel",
            labels=["channel"],
        )
        if self.settings is None:
            return family
        for row in channels:
            warning = warning_from_row(row, settings=self.settings, now=now)
            if warning is not None:
                family.add_metric([warning.channel], warning.seconds_left)
        return family

    def _posts(self, conn: Connection, names: dict[Any, str]) -> Metric:
        family = GaugeMetricFamily(
            "newsrelay_posts", "Posts by status and channel", labels=["status", "channel"]
        )
        rows = conn.execute(
            sa.select(col(Post.status), col(Post.channel_id), sa.func.count()).group_by(
                col(Post.status), col(Post.channel_id)
            )
        ).all()
        for status, channel_id, n in rows:
            family.add_metric([str(status), names.get(channel_id, str(channel_id))], n)
        return family

    def _held(self, conn: Connection, names: dict[Any, str]) -> Metric:
        family = GaugeMetricFamily(
            "newsrelay_posts_held",
            "Due posts held by channel policy (spacing, slot, daily_cap, quota), by channel",
            labels=["channel", "reason"],
        )
        # wait_code is set by the dispatcher on due posts it holds and cleared when it claims
        # them, so one grouped count over the waiting statuses is the whole gauge.
        rows = conn.execute(
            sa.select(col(Post.channel_id), col(Post.wait_code), sa.func.count())
            .where(
                col(Post.status).in_([PostStatus.SCHEDULED, PostStatus.RETRY_WAIT]),
                col(Post.wait_code).is_not(None),
            )
            .group_by(col(Post.channel_id), col(Post.wait_code))
        ).all()
        for channel_id, code, n in rows:
            family.add_metric([names.get(channel_id, str(channel_id)), str(code)], n)
        return family

    def _deliveries(self, conn: Connection, names: dict[Any, str]) -> Metric:
        family = CounterMetricFamily(
            "newsrelay_deliveries",
            "Finished delivery attempts by outcome, error class and channel",
            labels=["outcome", "error_class", "channel"],
        )
        a = DeliveryAttempt
        rows = conn.execute(
            sa.select(col(a.status), col(a.error_class), col(a.channel_id), sa.func.count())
            .where(col(a.status).in_(_FINISHED))
            .group_by(col(a.status), col(a.error_class), col(a.channel_id))
        ).all()
        for status, error_class, channel_id, n in rows:
            labels = [str(status), error_class or "", names.get(channel_id, str(channel_id))]
            family.add_metric(labels, n)
        return family

    def _lateness(self, conn: Connection, now: Any) -> Metric:
        a = DeliveryAttempt
        lateness = _seconds_between(conn, col(a.started_at), col(a.scheduled_for))
        row = conn.execute(
            sa.select(*_bucket_columns(lateness, LATENESS_BUCKETS)).where(
                col(a.created_at) >= now - HISTOGRAM_WINDOW,
                col(a.started_at).is_not(None),
                col(a.scheduled_for).is_not(None),
            )
        ).one()
        buckets, total = _histogram_buckets(row, LATENESS_BUCKETS)
        family = HistogramMetricFamily(
            "newsrelay_dispatch_lateness_seconds",
            "Attempt start minus the time it was due, over attempts of the last 24 h",
        )
        family.add_metric([], buckets, total)
        return family

    def _latency(self, conn: Connection, names: dict[Any, str], now: Any) -> Metric:
        a = DeliveryAttempt
        seconds = col(a.latency_ms) / 1000.0
        rows = conn.execute(
            sa.select(col(a.channel_id), *_bucket_columns(seconds, LATENCY_BUCKETS))
            .where(col(a.created_at) >= now - HISTOGRAM_WINDOW, col(a.latency_ms).is_not(None))
            .group_by(col(a.channel_id))
        ).all()
        family = HistogramMetricFamily(
            "newsrelay_platform_latency_seconds",
            "Platform call latency per channel, over attempts of the last 24 h",
            labels=["channel"],
        )
        for row in rows:
            buckets, total = _histogram_buckets(row[1:], LATENCY_BUCKETS)
            family.add_metric([names.get(row[0], str(row[0]))], buckets, total)
        return family

    def _liveness(self, conn: Connection, now: Any) -> Iterator[Metric]:
        session = Session(bind=conn)
        tick = heartbeats(session=session, prefix=DISPATCHER_HEARTBEAT).get(DISPATCHER_HEARTBEAT)
        workers = heartbeats(session=session, prefix=WORKER_HEARTBEAT_PREFIX)
        paused = global_pause(session=session, now=now) is not None
        # Never ticked reads as infinitely old, so an "age > N" alert fires.
        age = (now - tick).total_seconds() if tick else math.inf
        yield GaugeMetricFamily(
            "newsrelay_dispatcher_last_tick_age_seconds",
            "Seconds since any dispatcher last ticked",
            value=age,
        )
        alive = sum(1 for at in workers.values() if now - at <= WORKER_SILENCE)
        yield GaugeMetricFamily(
            "newsrelay_workers_alive", "Workers that sent a heartbeat within a minute", value=alive
        )
        yield GaugeMetricFamily(
            "newsrelay_global_pause", "1 while the global kill switch is on", value=int(paused)
        )


def metrics_registry(engine: Engine, settings: Settings | None = None) -> CollectorRegistry:
    """A registry holding only the database collector (one per application)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(engine, settings))
    return registry


def render_metrics(registry: CollectorRegistry) -> bytes:
    """The Prometheus text exposition of a registry."""
    return generate_latest(registry)
