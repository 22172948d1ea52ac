"""Thin Celery tasks: take ids, call one scheduler service."""

from __future__ import annotations

import socket
import ssl
import threading
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
from celery import signals
from sqlalchemy.engine import Engine

from adapters import platform_client
from adapters.deadline import deadline
from config import get_settings
from scheduler.db.engine import make_engine
from scheduler.delivery.attempt import deliver_attempt
from scheduler.delivery.reconcile import reconcile_post
from scheduler.delivery.tasks import DELIVER_TASK, FORMAT_TASK, NOOP_TASK, RECONCILE_TASK
from scheduler.editorial.rendering import format_post
from workers.celery_app import celery_app
from workers.liveness import Activity, exit_for_restart, run_heartbeat

T = TypeVar("T")

WORKER_NAME = f"{socket.gethostname()}:{threading.get_native_id()}"


_init_lock = threading.Lock()


def _once(build: Callable[[], T]) -> Callable[[], T]:
    """A process-wide singleton built by exactly one thread.

    ``lru_cache`` lets every thread of a cold threads pool build its own copy at once (dozens of
    engines with their own pools, dozens of httpx clients each loading the CA bundle).
    """
    made: list[T] = []

    def get() -> T:
        if not made:
            with _init_lock:
                if not made:
                    made.append(build())
        return made[0]

    return get


@_once
def _engine() -> Engine:
    # Enough connections for a threads pool of dozens without waiting on the pool; a connection
    # is pinged only after sitting idle (the hot path retries once on a dead one).
    # Last in, first out: the busy connections stay busy and only the spare ones go idle.
    return make_engine(
        get_settings().resolved_database_url,
        pool_size=20,
        max_overflow=80,
        pool_use_lifo=True,
        ping_idle_after=5.0,
    )


@_once
def _tls() -> ssl.SSLContext:
    # Loading the CA bundle costs milliseconds: one context, shared by every thread's client.
    return httpx.create_ssl_context()


_local = threading.local()


def _client() -> httpx.Client:
    """This thread's client, with a small keep-alive pool of its own.

    One client shared by a threads pool of dozens holds hundreds of connections, and httpcore
    scans all of them, under one lock, on every request: measured at a third of the worker's
    CPU per delivery.  A thread only ever runs one request at a time, so a pool per thread
    never waits and its scan is a few entries long.
    """
    client: httpx.Client | None = getattr(_local, "client", None)
    if client is None:
        client = platform_client(
            get_settings(),
            verify=_tls(),
            # One connection per platform host this thread talks to.
            limits=httpx.Limits(max_connections=8, max_keepalive_connections=8),
        )
        _local.client = client
    return client


@celery_app.task(name=FORMAT_TASK)
def format_post_task(post_id: str) -> str | None:
    """Render one post through its channel's adapter."""
    status = format_post(
        engine=_engine(), post_id=uuid.UUID(post_id), settings=get_settings(), client=_client()
    )
    return str(status) if status else None


@celery_app.task(name=DELIVER_TASK)
def deliver_task(attempt_id: str) -> str:
    """Deliver one attempt (the task id is the attempt id)."""
    settings = get_settings()
    # The threads pool ignores Celery's time limits: every platform call ends by this.
    with deadline(settings.task_deadline_seconds):
        return deliver_attempt(
            engine=_engine(),
            attempt_id=uuid.UUID(attempt_id),
            settings=settings,
            client=_client(),
            worker=WORKER_NAME,
        )


@celery_app.task(name=RECONCILE_TASK)
def reconcile_task(post_id: str) -> str:
    """Settle a post whose delivery outcome is unknown."""
    settings = get_settings()
    with deadline(settings.task_deadline_seconds):
        return reconcile_post(
            engine=_engine(), post_id=uuid.UUID(post_id), settings=settings, client=_client()
        )


_stop_heartbeat = threading.Event()
_activity = Activity()


@signals.task_prerun.connect
def _task_started(**_: Any) -> None:
    _activity.started()


@signals.task_postrun.connect
def _task_finished(**_: Any) -> None:
    _activity.finished()


@signals.worker_ready.connect
def _start_heartbeat(sender: Any = None, **_: Any) -> None:
    hostname = getattr(sender, "hostname", None) or socket.gethostname()
    app = getattr(sender, "app", None) or celery_app
    pool = type(getattr(sender, "pool", None)).__module__
    threading.Thread(
        target=run_heartbeat,
        kwargs=dict(
            stop=_stop_heartbeat,
            hostname=hostname,
            engine=_engine,
            queues=list(app.amqp.queues.consume_from or ()),
            stall_seconds=get_settings().worker_stall_seconds,
            activity=_activity,
            on_stall=exit_for_restart,
            # Prefork children run the tasks: this process's task signals never fire.
            watch=not pool.endswith(".prefork"),
        ),
        daemon=True,
        name="newsrelay-heartbeat",
    ).start()


@signals.worker_shutdown.connect
def _stop(**_: Any) -> None:
    _stop_heartbeat.set()


@celery_app.task(name=NOOP_TASK)
def noop_task() -> None:
    """Does nothing: measures Celery's own overhead on the broker (bench/delivery.py)."""
