"""The scheduler process: APScheduler as an in-process ticker over the post table.

Only in-memory job stores (APScheduler 3.x job stores must never be shared); every tick is an
atomic claim in the database, so any number of scheduler replicas is safe.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.engine import Engine

from adapters import platform_client
from adapters.deadline import make_client
from config import Settings
from scheduler.access.tokens import check_meta_tokens, refresh_due_x_tokens
from scheduler.db.engine import make_engine
from scheduler.delivery.dispatch import Sender, dispatch_tick
from scheduler.delivery.reaper import reap_tick
from scheduler.editorial.media_store import media_store
from scheduler.intake.feeds import FETCH_TIMEOUT, poll_due_feeds
from scheduler.ops.alerts import alert_tick
from scheduler.runtime.logs import get_logger

log = get_logger(__name__)


def prune_embedded_broker(settings: Settings, *, older_than: timedelta) -> int:
    """Delete acknowledged messages from the SQLite broker (kombu never deletes them)."""
    if not settings.embedded_broker:
        return 0
    engine = make_engine(settings.resolved_broker_url.removeprefix("sqla+"))
    try:
        with engine.begin() as conn:
            if not sa.inspect(conn).has_table("kombu_message"):
                return 0
            cutoff = datetime.now(UTC).replace(tzinfo=None) - older_than
            result = conn.execute(
                sa.text("DELETE FROM kombu_message WHERE visible = 0 AND timestamp < :cutoff"),
                {"cutoff": cutoff},
            )
            return int(result.rowcount or 0)
    finally:
        engine.dispose()


def sweep_media(settings: Settings) -> int:
    """Remove media older than the retention period (every replica may sweep: deletes of
    content-addressed objects are idempotent)."""
    removed = media_store(settings).sweep()
    if removed:
        log.info("media_swept", removed=removed)
    return removed


def _guard(name: str, fn: Any) -> Any:
    def run() -> None:
        try:
            fn()
        except Exception as exc:  # the next tick tries again; the heartbeat shows staleness
            log.error("tick_failed", job=name, error=str(exc), exc_info=True)

    return run


def _add_token_jobs(sched: BackgroundScheduler, *, settings: Settings, engine: Engine) -> None:
    """X token refresh (every ``token_refresh_interval_seconds``) and the Meta expiry check
    (first a minute after start, then every ``meta_token_check_interval_seconds``)."""
    # Token calls get the same per-request deadline as every other platform call.
    token_client = platform_client(settings)
    sched.add_job(
        _guard(
            "x_tokens",
            lambda: refresh_due_x_tokens(engine=engine, settings=settings, client=token_client),
        ),
        IntervalTrigger(seconds=settings.token_refresh_interval_seconds),
        id="x_tokens",
        next_run_time=datetime.now(UTC),
    )
    sched.add_job(
        _guard(
            "meta_tokens",
            lambda: check_meta_tokens(engine=engine, settings=settings, client=token_client),
        ),
        IntervalTrigger(seconds=settings.meta_token_check_interval_seconds),
        id="meta_tokens",
        next_run_time=datetime.now(UTC) + timedelta(seconds=60),
    )


def start_ticker(*, settings: Settings, engine: Engine, send: Sender) -> BackgroundScheduler:
    """Start the dispatcher, reaper/reconciler, feed-poll, token, alert, media-sweep and
    broker-prune jobs in a thread."""
    # A tick that overruns its interval is skipped by design (max_instances=1); not a warning.
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    sched = BackgroundScheduler(
        timezone=UTC,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30},
    )
    sched.add_job(
        _guard(
            "dispatch",
            lambda: dispatch_tick(
                engine=engine,
                send=send,
                batch=settings.dispatch_batch,
                lease_seconds=settings.queued_lease_seconds,
            ),
        ),
        IntervalTrigger(seconds=settings.dispatch_interval),
        id="dispatch",
        next_run_time=datetime.now(UTC),
    )
    sched.add_job(
        _guard(
            "reap",
            lambda: reap_tick(
                engine=engine, send=send, lease_seconds=settings.queued_lease_seconds
            ),
        ),
        IntervalTrigger(seconds=settings.reap_interval),
        id="reap",
    )
    # RSS/Atom fallback trigger: each feed keeps its own interval in next_poll_at; this job only
    # looks for due ones.  One client, so connections to a publisher's server are reused.
    feed_client = make_client(
        timeout=FETCH_TIMEOUT,
        per_request=settings.feeds.fetch_deadline,
        headers={"User-Agent": "newsrelay-feed-poller"},
    )
    deadline_s = settings.feeds.fetch_deadline
    sched.add_job(
        _guard(
            "feeds",
            lambda: poll_due_feeds(engine=engine, client=feed_client, fetch_deadline=deadline_s),
        ),
        IntervalTrigger(seconds=5),
        id="feeds",
    )
    _add_token_jobs(sched, settings=settings, engine=engine)
    # Also with no destination configured: the Alerts page then is where alerts are seen.
    sched.add_job(
        _guard("alerts", lambda: alert_tick(engine=engine, settings=settings)),
        IntervalTrigger(seconds=settings.alerts.interval_seconds),
        id="alerts",
    )
    sched.add_job(
        _guard("media_sweep", lambda: sweep_media(settings)),
        IntervalTrigger(seconds=settings.media.sweep_interval_seconds),
        id="media_sweep",
    )
    if settings.embedded_broker:
        sched.add_job(
            _guard(
                "prune", lambda: prune_embedded_broker(settings, older_than=timedelta(minutes=10))
            ),
            IntervalTrigger(seconds=60),
            id="prune",
        )
    sched.start()
    log.info("scheduler_started", dispatch_interval=settings.dispatch_interval)
    return sched
