"""A running newsrelay for integration tests: sandbox, API (media), real Celery worker
processes, and the scheduler ticker, on a chosen database and broker."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from adapters.sandbox import SandboxClient, SandboxServer
from config import Settings
from scheduler.api.app import create_app
from scheduler.db.engine import make_engine
from scheduler.models import Post, ServiceState
from scheduler.ops.state import WORKER_HEARTBEAT_PREFIX
from scheduler.runtime.bootstrap import ensure_ready
from scheduler.runtime.runner import worker_command
from scheduler.runtime.ticker import start_ticker
from workers.celery_app import celery_sender, make_celery

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(
    predicate: Callable[[], Any],
    *,
    timeout: float,
    interval: float = 0.2,
    message: str = "condition",
) -> Any:
    """Poll until ``predicate()`` is truthy; fail with ``message`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


class ApiServer:
    """The FastAPI app under uvicorn in a thread (serves /media for the sandbox to fetch)."""

    def __init__(self, settings: Settings, port: int) -> None:
        self.port = port
        config = uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=port,
            log_config=None,
            access_log=False,
            lifespan="on",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.thread.start()
        wait_until(lambda: self.server.started, timeout=20, message="the API to start")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class Stack:
    """Everything newsrelay runs, wired together for one test module."""

    def __init__(
        self,
        tmp: Path,
        *,
        database_url: str,
        broker_url: str | None,
        overrides: dict[str, Any] | None = None,
        worker_concurrency: int = 8,
    ) -> None:
        self.tmp = tmp
        # The sandbox's port is chosen first: the settings name its URL, and the sandbox is
        # built from the settings (the token lifetime, NEWSRELAY_SANDBOX_TOKEN_TTL_SECONDS).
        sandbox_url = f"http://127.0.0.1:{free_port()}"
        self.api_port = free_port()
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("NEWSRELAY_")},
            "NEWSRELAY_ENVIRONMENT": "test",
            "NEWSRELAY_DATA_DIR": str(tmp / "data"),
            "NEWSRELAY_DATABASE_URL": database_url,
            "NEWSRELAY_PUBLIC_BASE_URL": f"http://127.0.0.1:{self.api_port}",
            "NEWSRELAY_X__BASE_URL": sandbox_url,
            "NEWSRELAY_META__BASE_URL": sandbox_url,
            "NEWSRELAY_SANDBOX_PORT": sandbox_url.rsplit(":", 1)[1],
            "NEWSRELAY_INSTAGRAM__CONTAINER_POLL_INTERVAL": "0.1",
            "NEWSRELAY_DISPATCH_INTERVAL": "0.2",
            "NEWSRELAY_REAP_INTERVAL": "0.5",
            "NEWSRELAY_QUEUED_LEASE_SECONDS": "5",
            "NEWSRELAY_PUBLISH_LEASE_SECONDS": "8",
            "NEWSRELAY_BACKOFF_BASE_SECONDS": "0.5",
            "NEWSRELAY_BACKOFF_MAX_SECONDS": "2",
            "NEWSRELAY_HTTP__READ_TIMEOUT": "5",
            "NEWSRELAY_LOG_JSON": "true",
            "NEWSRELAY_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
        if broker_url:
            self.env["NEWSRELAY_BROKER_URL"] = broker_url
        for key, value in (overrides or {}).items():
            self.env[f"NEWSRELAY_{key.upper()}"] = (
                value if isinstance(value, str) else json.dumps(value)
            )
        self.settings = self._settings()
        self.sandbox = SandboxServer(
            "127.0.0.1",
            self.settings.sandbox_port,
            token_ttl_seconds=self.settings.sandbox_token_ttl_seconds,
        )
        self.sandbox.start()
        self.engine: Engine = make_engine(database_url)
        ensure_ready(self.settings, sandbox_channels=True)
        self.api = ApiServer(self.settings, self.api_port)
        self.api.start()
        self.client = SandboxClient(self.sandbox.url)
        self.workers: list[subprocess.Popen[bytes]] = []
        self.supervised: list[SupervisedWorker] = []
        self.worker_concurrency = worker_concurrency
        self.ticker: Any = None
        self.celery = make_celery(self.settings)

    def _settings(self) -> Settings:
        saved = dict(os.environ)
        try:
            os.environ.update(self.env)
            return Settings()
        finally:
            os.environ.clear()
            os.environ.update(saved)

    def start_worker(
        self, *, name: str | None = None, wait: bool = True
    ) -> subprocess.Popen[bytes]:
        """Start a real Celery worker process; by default wait until it is consuming."""
        log = open(self.tmp / f"worker-{len(self.workers)}.log", "ab")  # noqa: SIM115
        name = name or f"w{len(self.workers)}-{uuid.uuid4().hex[:6]}@{socket.gethostname()}"
        cmd = worker_command(concurrency=self.worker_concurrency, name=name)
        proc = subprocess.Popen(
            cmd,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
        )
        self.workers.append(proc)
        if wait:
            key = WORKER_HEARTBEAT_PREFIX + name
            wait_until(
                lambda: self._beat(key) or proc.poll() is not None,
                timeout=60,
                message=f"worker {name} to be ready",
            )
            assert proc.poll() is None, self.worker_logs()
        return proc

    def start_supervised_worker(self) -> SupervisedWorker:
        """A worker restarted whenever it exits, as ``newsrelay run`` and compose do."""
        supervised = SupervisedWorker(self)
        self.supervised.append(supervised)
        wait_until(
            lambda: supervised.proc is not None and self._beat(supervised.key),
            timeout=60,
            message="the supervised worker to be ready",
        )
        return supervised

    def _beat(self, key: str) -> bool:
        with Session(self.engine) as s:
            return s.get(ServiceState, key) is not None

    def kill_worker(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGKILL the worker's whole process group (main process and any children)."""
        with contextlib.suppress(ProcessLookupError):  # it had already exited
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def start_scheduler(self) -> None:
        self.ticker = start_ticker(
            settings=self.settings, engine=self.engine, send=celery_sender(self.celery)
        )

    def stop_scheduler(self) -> None:
        if self.ticker is not None:
            self.ticker.shutdown(wait=True)
            self.ticker = None

    def posts(self) -> list[Post]:
        with Session(self.engine) as s:
            return list(s.exec(select(Post)).all())

    def worker_logs(self) -> str:
        return "\n".join(
            p.read_text(errors="replace")[-4000:] for p in sorted(self.tmp.glob("worker-*.log"))
        )

    def close(self) -> None:
        self.stop_scheduler()
        for supervised in self.supervised:
            supervised.stop()
        for proc in self.workers:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.workers:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        self.api.stop()
        self.sandbox.stop()
        self.engine.dispose()


class SupervisedWorker:
    """One worker name, restarted (each run logged to the stack's worker logs) until stopped."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.name = f"sup-{uuid.uuid4().hex[:6]}@{socket.gethostname()}"
        self.key = WORKER_HEARTBEAT_PREFIX + self.name
        self.proc: subprocess.Popen[bytes] | None = None
        self.exits: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            proc = self.stack.start_worker(name=self.name, wait=False)
            self.proc = proc
            while proc.poll() is None and not self._stop.is_set():
                time.sleep(0.2)
            if proc.returncode is not None:
                self.exits.append(proc.returncode)

    def kill(self) -> None:
        """SIGKILL the running worker; the supervisor starts the next one."""
        assert self.proc is not None
        self.stack.kill_worker(self.proc)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def python() -> str:
    return sys.executable
