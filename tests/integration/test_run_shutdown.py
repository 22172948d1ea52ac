"""``newsrelay run`` leaves nothing behind: on SIGTERM, on SIGINT and when it is itself killed
with ``kill -9``, its Celery worker (and anything that worker started) stops too.

Only the ``newsrelay run`` process is signalled, never its process group: a service manager or
an operator's ``kill PID`` reaches that one process, and an OOM kill or ``kill -9`` gives it no
chance to clean up at all.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from scheduler.runtime.runner import SHUTDOWN_GRACE_SECONDS
from tests.utils.stack import ROOT, free_port, wait_until

pytestmark = pytest.mark.slow


def _tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def _alive(procs: list[psutil.Process]) -> list[str]:
    """The processes still running (zombies count as gone: they hold no resources but a pid)."""
    alive = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                alive.append(f"{p.pid} {' '.join(p.cmdline())[:120]}")
        except psutil.NoSuchProcess:
            continue
    return alive


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], list[psutil.Process]]]:
    """A ready ``newsrelay run`` on a temp data dir, and its process tree (collected when ready).

    Whatever the test leaves running is killed afterwards, so a failure cannot leak workers.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSRELAY_")}
    env.update(
        NEWSRELAY_DATA_DIR=str(tmp_path / "data"),
        NEWSRELAY_SANDBOX_PORT=str(free_port()),
        NEWSRELAY_LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    port = free_port()
    log = open(tmp_path / "run.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scheduler.cli.app",
            "run",
            "--port",
            str(port),
            "--concurrency",
            "2",
        ],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )

    def ready() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).is_success
        except httpx.HTTPError:
            return False

    def has_worker() -> list[psutil.Process] | None:
        tree = _tree(proc.pid)
        return tree if any("celery" in " ".join(p.cmdline()) for p in tree[1:]) else None

    procs: list[psutil.Process] = []
    try:
        try:
            wait_until(ready, timeout=90, interval=0.5, message="newsrelay run to be ready")
        except AssertionError as exc:
            text = (tmp_path / "run.log").read_text(errors="replace")
            raise AssertionError(f"{exc}\nservice log:\n{text[-6000:]}") from None
        procs = wait_until(has_worker, timeout=30, message="the worker process in the tree")
        yield proc, procs
    finally:
        for p in [*procs, *(_tree(proc.pid) if proc.poll() is None else [])]:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()
        proc.wait(timeout=10)
        log.close()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_a_signal_to_newsrelay_run_stops_its_whole_process_tree(
    service: tuple[subprocess.Popen[bytes], list[psutil.Process]], sig: signal.Signals
) -> None:
    proc, procs = service
    assert len(procs) >= 2, "newsrelay run should have started a worker"
    os.kill(proc.pid, sig)
    # The idle worker stops at once; the grace (its SIGKILL) is the bound, plus slack for load.
    wait = SHUTDOWN_GRACE_SECONDS + 15
    deadline = time.monotonic() + wait
    while _alive(procs) and time.monotonic() < deadline:
        time.sleep(0.25)
    assert _alive(procs) == [], f"still running {wait:.0f}s after {sig.name}"
    if sig != signal.SIGKILL:
        # The parent ends by the signal it was sent (as a shell expects), after cleaning up.
        assert proc.wait(timeout=5) in (-sig, 128 + sig, 0)
