"""``newsrelay run``: the whole service on the embedded defaults, in one command.

One process serves the API and web UI, runs the scheduler ticker and the sandbox platform; a
real Celery worker runs as a child process (restarted if it dies).  SQLite holds the data and
the broker, in ``NEWSRELAY_DATA_DIR``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from types import FrameType

from config import Settings
from scheduler.runtime.guard import guard_command
from scheduler.runtime.logs import get_logger

log = get_logger(__name__)

WORKER_QUEUES = "format,deliver.x,deliver.instagram,deliver.facebook"
# How long a stopping worker may finish the deliveries it holds before it is killed.  A delivery
# is bounded by its HTTP timeouts, so this is enough for an orderly stop, short enough for ops.
SHUTDOWN_GRACE_SECONDS = 20.0


def worker_command(
    *,
    concurrency: int,
    queues: str = WORKER_QUEUES,
    pool: str = "threads",
    name: str = "newsrelay@%h",
) -> list[str]:
    """The command line of a Celery worker process for our app."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "workers.celery_app",
        "worker",
        "-P",
        pool,
        "-c",
        str(concurrency),
        "-Q",
        queues,
        "-n",
        name,
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-l",
        "INFO",
    ]


class WorkerSupervisor:
    """Keeps one Celery worker child alive until stopped, and never leaves it behind.

    The worker runs under :mod:`scheduler.runtime.guard`, which stops the worker's whole process
    group when this process asks it to (:meth:`stop`) or dies, even by ``kill -9``.
    """

    def __init__(
        self, command: list[str], env: dict[str, str], *, grace: float = SHUTDOWN_GRACE_SECONDS
    ) -> None:
        self.command = command
        self.env = env
        self.grace = grace
        self.proc: subprocess.Popen[bytes] | None = None
        self._stop = threading.Event()
        self._spawning = threading.Lock()  # no new worker once stop() has begun
        self._thread = threading.Thread(target=self._loop, daemon=True, name="worker-supervisor")

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        # The guard is forked from this thread, which lives as long as the supervision: the
        # kernel's parent-death signal follows the forking thread, not the process.
        guarded = guard_command(self.command, parent_pid=os.getpid(), grace=self.grace)
        while True:
            with self._spawning:
                if self._stop.is_set():
                    return
                # A session of its own: a Ctrl-C in the terminal reaches only ``newsrelay run``,
                # which then stops the worker itself, once, in order.
                proc = subprocess.Popen(guarded, env=self.env, start_new_session=True)  # noqa: S603
                self.proc = proc
            while proc.poll() is None and not self._stop.is_set():
                self._stop.wait(0.5)
            if not self._stop.is_set():
                log.warning("worker_exited_restarting", returncode=proc.returncode)
                self._stop.wait(1)

    def stop(self) -> None:
        """Warm-stop the worker (the guard kills it after the grace); wait for it to be gone."""
        with self._spawning:
            self._stop.set()
            proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=self.grace + 5)
        except subprocess.TimeoutExpired:
            # The guard itself is stuck: killing it still warm-stops the worker (its death signal).
            proc.kill()
            proc.wait()


class Terminated(BaseException):
    """Raised in the main thread by SIGTERM, so that ``finally`` blocks stop the children."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    # Once: a second SIGTERM must not interrupt the cleanup the first one started.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Terminated(signum)


def run_all(settings: Settings, *, host: str, port: int, concurrency: int = 16) -> None:
    """Start everything and serve until SIGINT or SIGTERM; then stop every child and return.

    On SIGTERM the process ends by re-raising SIGTERM once everything is stopped, so a service
    manager sees the usual exit status.  (uvicorn handles SIGTERM while it serves, then re-raises
    it; without a handler of ours that re-raise would end the process before any cleanup.)
    """
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    terminated = False
    try:
        _serve(settings, host=host, port=port, concurrency=concurrency)
    except Terminated:
        terminated = True
    finally:
        signal.signal(signal.SIGTERM, previous)
    if terminated:
        log.info("newsrelay_stopped", signal="SIGTERM")
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)


def _serve(settings: Settings, *, host: str, port: int, concurrency: int) -> None:
    """Start the parts, serve the API, and stop the parts (in reverse order) however it ends."""
    import uvicorn

    from adapters.sandbox import SandboxServer
    from scheduler.api.app import create_app
    from scheduler.runtime.bootstrap import ensure_ready
    from scheduler.runtime.ticker import start_ticker
    from workers.celery_app import celery_sender, make_celery

    with contextlib.ExitStack() as parts:
        engine = ensure_ready(settings, sandbox_channels=True)
        sandbox = SandboxServer(
            settings.sandbox_host,
            settings.sandbox_port,
            token_ttl_seconds=settings.sandbox_token_ttl_seconds,
        )
        sandbox.start()
        parts.callback(sandbox.stop)
        env: dict[str, str] = dict(os.environ)
        env.setdefault("NEWSRELAY_DATA_DIR", str(settings.data_dir.resolve()))
        env.setdefault("NEWSRELAY_PUBLIC_BASE_URL", settings.public_base_url)
        supervisor = WorkerSupervisor(worker_command(concurrency=concurrency), env)
        supervisor.start()
        parts.callback(supervisor.stop)
        app_celery = make_celery(settings)
        ticker = start_ticker(settings=settings, engine=engine, send=celery_sender(app_celery))
        parts.callback(ticker.shutdown, wait=False)
        log.info(
            "newsrelay_running",
            api=f"http://{host}:{port}",
            sandbox=sandbox.url,
            data_dir=str(settings.data_dir.resolve()),
        )
        uvicorn.run(create_app(settings), host=host, port=port, log_config=None, access_log=False)
