"""``newsrelay run``: the whole service on the embedded defaults, in one command.

One process serves the API and web UI, runs the scheduler ticker and the sandbox platform; a
real Celery worker runs as a child process (restarted if it dies).  SQLite holds the data and
the broker, in ``NEWSRELAY_DATA_DIR``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

from config import Settings
from scheduler.runtime.logs import get_logger

log = get_logger(__name__)

WORKER_QUEUES = "format,deliver.x,deliver.instagram,deliver.facebook"


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
    """Keeps one Celery worker child alive until stopped."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.command = command
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="worker-supervisor")

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.proc = subprocess.Popen(self.command, env=self.env)  # noqa: S603
            while self.proc.poll() is None and not self._stop.is_set():
                time.sleep(0.5)
            if not self._stop.is_set():
                log.warning("worker_exited_restarting", returncode=self.proc.returncode)
                time.sleep(1)

    def stop(self) -> None:
        self._stop.set()
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def run_all(settings: Settings, *, host: str, port: int, concurrency: int = 16) -> None:
    """Start everything and serve until interrupted."""
    import uvicorn

    from adapters.sandbox import SandboxServer
    from scheduler.access.connections import callback_uris
    from scheduler.api.app import create_app
    from scheduler.runtime.bootstrap import ensure_ready
    from scheduler.runtime.ticker import start_ticker
    from workers.celery_app import celery_sender, make_celery

    engine = ensure_ready(settings, sandbox_channels=settings.sandbox_seed_channels)
    # The sandbox's OAuth apps accept exactly this service's callbacks, as X and Meta would.
    sandbox = SandboxServer(
        settings.sandbox_host,
        settings.sandbox_port,
        token_ttl_seconds=settings.sandbox_token_ttl_seconds,
        redirect_uris=callback_uris(settings),
    )
    sandbox.start()
    env: dict[str, str] = dict(os.environ)
    env.setdefault("NEWSRELAY_DATA_DIR", str(settings.data_dir.resolve()))
    env.setdefault("NEWSRELAY_PUBLIC_BASE_URL", settings.public_base_url)
    supervisor = WorkerSupervisor(worker_command(concurrency=concurrency), env)
    supervisor.start()
    app_celery = make_celery(settings)
    ticker = start_ticker(settings=settings, engine=engine, send=celery_sender(app_celery))
    log.info(
        "newsrelay_running",
        api=f"http://{host}:{port}",
        sandbox=sandbox.url,
        data_dir=str(settings.data_dir.resolve()),
    )
    stop_once: list[Any] = []

    def shutdown() -> None:
        if stop_once:
            return
        stop_once.append(True)
        ticker.shutdown(wait=False)
        supervisor.stop()
        sandbox.stop()

    try:
        uvicorn.run(create_app(settings), host=host, port=port, log_config=None, access_log=False)
    finally:
        shutdown()
