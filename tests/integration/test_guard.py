"""The process guard that ``newsrelay run`` starts its worker under: a child that ignores the
warm stop, and the grandchild it started, are killed after the grace period, whether the guard is
told to stop or its parent is killed with ``kill -9``; a child that exits by itself takes its
stragglers with it and the guard reports its exit code."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from scheduler.runtime.guard import guard_command
from tests.utils.stack import ROOT, wait_until

GRACE = 2.0

# A child that records the warm stop but ignores it, with a grandchild that ignores it too: only
# the guard's SIGKILL of the group ends them.  It exits by itself with code 3 if asked to.
STUBBORN = """
import pathlib, signal, subprocess, sys, time
mark = pathlib.Path(sys.argv[1])
signal.signal(signal.SIGTERM, lambda *_: mark.write_text("SIGTERM"))
subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"])
time.sleep(float(sys.argv[2]))
sys.exit(3)
"""

# Stands in for ``newsrelay run``: starts the guard with itself as the parent, then waits.
PARENT = """
import json, os, subprocess, sys, time
from scheduler.runtime.guard import guard_command
command = json.loads(sys.argv[1])
subprocess.Popen(guard_command(command, parent_pid=os.getpid(), grace=float(sys.argv[2])))
time.sleep(600)
"""


def _alive(procs: list[psutil.Process]) -> list[str]:
    alive = []
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                alive.append(" ".join(p.cmdline())[:100])
    return alive


def _wait_gone(procs: list[psutil.Process], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while _alive(procs) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _alive(procs) == []


@pytest.fixture
def started(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], list[psutil.Process], Path]]:
    """A parent, its guard, the stubborn child and its grandchild (all four running)."""
    mark = tmp_path / "mark"
    child = [sys.executable, "-c", STUBBORN, str(mark), "600"]
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, json.dumps(child), str(GRACE)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
    )

    def four() -> list[psutil.Process] | None:
        root = psutil.Process(parent.pid)
        tree = [root, *root.children(recursive=True)]
        return tree if len(tree) == 4 else None

    procs: list[psutil.Process] = []
    try:
        procs = wait_until(four, timeout=30, message="parent, guard, child and grandchild")
        yield parent, procs, mark
    finally:
        for p in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()
        parent.wait(timeout=10)


@pytest.mark.parametrize("who", ["kill -9 the parent", "SIGTERM the guard"])
def test_guard_warm_stops_then_kills_the_whole_group_after_the_grace(
    started: tuple[subprocess.Popen[bytes], list[psutil.Process], Path], who: str
) -> None:
    parent, procs, mark = started
    guard = procs[1]
    t0 = time.monotonic()
    if who == "kill -9 the parent":
        parent.kill()
        parent.wait()
    else:
        guard.send_signal(signal.SIGTERM)
    _wait_gone(procs[1:], timeout=GRACE + 10)
    elapsed = time.monotonic() - t0
    assert mark.read_text() == "SIGTERM", "the child should have been asked to stop first"
    assert elapsed >= GRACE - 0.1, "the child was killed before its grace period"


def test_guard_exits_with_the_childs_code_and_leaves_no_straggler(tmp_path: Path) -> None:
    child = [sys.executable, "-c", STUBBORN, str(tmp_path / "mark"), "3"]
    guard = subprocess.Popen(
        guard_command(child, parent_pid=os.getpid(), grace=GRACE),
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
    )
    root = psutil.Process(guard.pid)
    tree: list[psutil.Process] = []
    try:
        tree = wait_until(
            lambda: t if len(t := root.children(recursive=True)) == 2 else None,
            timeout=20,
            message="child and grandchild",
        )
        assert guard.wait(timeout=20) == 3
        _wait_gone(tree, timeout=5)
    finally:
        for p in tree:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()
        guard.kill()
        guard.wait()
