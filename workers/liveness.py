"""Worker liveness: the heartbeat ``/readyz`` reads, and a watchdog for a consumer that stopped.

Celery's consumer can come back from a broker connection loss looking connected yet take no more
messages (celery#8030, #8091, #9054, #10205; reported for the threads pool too): the process is
alive and its heartbeat fine while deliveries wait, which is the "queue that silently stops".
The watchdog compares what this worker does with what the database says waits for it: no task
started for ``worker_stall_seconds``, none running, and work for its queues waiting longer than
that (delivery attempts for its platforms, posts waiting to be formatted).  Then the worker logs
why and exits, and its supervisor (``newsrelay run``, the container's restart policy) starts a
fresh one.  Late acks and the delivery fence make the restart safe: nothing is running, and any
message it held comes back and is fenced.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from scheduler.db.engine import session_scope
from scheduler.models import utcnow
from scheduler.ops.delivery_log import waiting_deliveries, waiting_renders
from scheduler.ops.state import WORKER_HEARTBEAT_PREFIX, beat
from scheduler.runtime.logs import get_logger

log = get_logger(__name__)

#: How long a stalled worker may take to shut down warmly before it is ended hard.
EXIT_GRACE_SECONDS = 30.0
#: The exit status of a worker that ended itself to be restarted (EX_SOFTWARE).
STALLED_EXIT_CODE = 70


class Activity:
    """Tasks running in this process and when the last one started (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active = 0
        self._last_start = time.monotonic()

    def started(self) -> None:
        with self._lock:
            self._active += 1
            self._last_start = time.monotonic()

    def finished(self) -> None:
        with self._lock:
            self._active = max(0, self._active - 1)

    def snapshot(self) -> tuple[int, float]:
        """(tasks running now, seconds since the last task started)."""
        with self._lock:
            return self._active, time.monotonic() - self._last_start


def deliver_platforms(queues: Iterable[str]) -> list[str]:
    """The platforms whose ``deliver.<platform>`` queues are among ``queues``."""
    return sorted(q.split(".", 1)[1] for q in queues if q.startswith("deliver."))


def waiting_work(session: Session, *, platforms: list[str], formats: bool, before: datetime) -> int:
    """Work for these queues that has waited since before ``before``."""
    waiting = waiting_deliveries(session=session, platforms=platforms, enqueued_before=before)
    if formats:
        waiting += waiting_renders(session=session, requested_before=before)
    return waiting


def is_stalled(*, active: int, idle_seconds: float, waiting: int, stall_seconds: float) -> bool:
    """Idle with work waiting: nothing running, nothing started lately, work left waiting."""
    return active == 0 and idle_seconds >= stall_seconds and waiting > 0


def run_heartbeat(
    *,
    stop: threading.Event,
    hostname: str,
    engine: Callable[[], Engine],
    queues: list[str],
    stall_seconds: float,
    activity: Activity,
    on_stall: Callable[[int, float], None],
    watch: bool = True,
) -> None:
    """Beat until ``stop``; call ``on_stall(waiting, idle_seconds)`` once if the worker stalls.

    ``watch=False`` only beats: under a prefork pool the tasks run in child processes, so this
    process cannot see them start.
    """
    interval = min(10.0, stall_seconds / 3)
    platforms, formats = deliver_platforms(queues), "format" in queues
    while not stop.is_set():
        stalled: tuple[int, float] | None = None
        try:
            with session_scope(engine()) as s:
                beat(session=s, key=WORKER_HEARTBEAT_PREFIX + hostname)
                active, idle = activity.snapshot()
                # The count query runs only once the cheap half of the rule already holds.
                if watch and active == 0 and idle >= stall_seconds:
                    waiting = waiting_work(
                        s,
                        platforms=platforms,
                        formats=formats,
                        before=utcnow() - timedelta(seconds=stall_seconds),
                    )
                    if is_stalled(
                        active=active,
                        idle_seconds=idle,
                        waiting=waiting,
                        stall_seconds=stall_seconds,
                    ):
                        stalled = (waiting, idle)
        except Exception:  # noqa: S110 - a missed beat shows up in /readyz, which is the point
            pass
        if stalled is not None:
            on_stall(*stalled)
            return
        stop.wait(interval)


def exit_for_restart(waiting: int, idle_seconds: float) -> None:
    """Say why, then end this worker so that its supervisor starts a fresh one."""
    log.error(
        "worker_stalled",
        waiting=waiting,
        idle_seconds=round(idle_seconds, 1),
        action="exiting so that the supervisor restarts the worker",
    )
    os.kill(os.getpid(), signal.SIGTERM)  # Celery's warm shutdown
    time.sleep(EXIT_GRACE_SECONDS)
    # A consumer stuck hard may never finish a warm shutdown.
    os._exit(STALLED_EXIT_CODE)
