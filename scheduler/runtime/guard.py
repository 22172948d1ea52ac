"""A child process that cannot outlive its parent: ``python -m scheduler.runtime.guard``.

``newsrelay run`` starts its Celery worker through this guard::

    python -m scheduler.runtime.guard --parent PID --grace SECONDS -- CMD ...

The guard starts ``CMD`` in a process group of its own (so the worker's pool processes, if any,
are reachable with one ``killpg``) and stops that whole group when any of these happens:

- the guard receives SIGTERM, SIGINT or SIGHUP (the parent's orderly shutdown);
- the parent dies, even by ``kill -9``: on Linux ``prctl(PR_SET_PDEATHSIG)`` turns the parent's
  death into a SIGTERM for the guard; elsewhere, and as a second line, a watchdog notices that
  ``os.getppid()`` is no longer the parent;
- the command exits by itself (stragglers of its group are killed, then the guard exits with the
  command's code so a supervisor can restart it).

Stopping is a warm shutdown first (SIGTERM: Celery finishes the tasks it holds) and a SIGKILL of
the group after ``--grace`` seconds.  The command itself also gets ``PR_SET_PDEATHSIG``, so even a
``kill -9`` of the guard warm-stops it.  The guard is single-threaded, which is what makes a
``preexec_fn`` safe here (it is not in the multi-threaded ``newsrelay run`` process).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
from types import FrameType

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
WATCHDOG_INTERVAL_SECONDS = 0.5


def set_parent_death_signal(sig: int) -> bool:
    """Ask the kernel to send ``sig`` to this process when its parent dies; False if unsupported.

    The kernel tracks the parent *thread* that forked us, so the caller must fork from a thread
    that lives as long as the child should (the runner's supervisor thread does).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def guard_command(command: list[str], *, parent_pid: int, grace: float) -> list[str]:
    """The command line that runs ``command`` under a guard tied to ``parent_pid``."""
    return [
        sys.executable,
        "-m",
        "scheduler.runtime.guard",
        "--parent",
        str(parent_pid),
        "--grace",
        str(grace),
        "--",
        *command,
    ]


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # the group is already empty
        os.killpg(pgid, sig)


def stop_group(child: subprocess.Popen[bytes], *, grace: float) -> int:
    """Warm-stop ``child``'s process group, SIGKILL it after ``grace`` seconds; the exit code."""
    pgid = child.pid  # the child leads its own group (start_new_session)
    if child.poll() is None:
        _signal_group(pgid, signal.SIGTERM)
        try:
            child.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            _signal_group(pgid, signal.SIGKILL)
            child.wait()
    # Whatever the command left in its group (a pool process it did not reap) goes too.
    _signal_group(pgid, signal.SIGKILL)
    return child.returncode


def _tie_child_to_guard(guard_pid: int) -> None:
    """Runs in the forked child before exec: warm-stop it if the guard itself is killed."""
    set_parent_death_signal(signal.SIGTERM)
    if os.getppid() != guard_pid:  # the guard died before prctl took effect
        os._exit(1)


def guard(command: list[str], *, parent_pid: int, grace: float) -> int:
    """Run ``command`` until it exits, a stop signal arrives or the parent is gone; its code."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    set_parent_death_signal(signal.SIGTERM)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect: start nothing
        return 1
    me = os.getpid()
    child = subprocess.Popen(  # noqa: S603 - our own command line, from the runner
        command, start_new_session=True, preexec_fn=lambda: _tie_child_to_guard(me)
    )
    while child.poll() is None and not stop.is_set():
        if os.getppid() != parent_pid:
            break  # the watchdog: the parent is gone and no signal told us (non-Linux)
        stop.wait(WATCHDOG_INTERVAL_SECONDS)
    return stop_group(child, grace=grace)


def main(argv: list[str] | None = None) -> None:
    """Parse ``--parent PID --grace SECONDS -- CMD ...`` and exit with the command's code."""
    parser = argparse.ArgumentParser(prog="python -m scheduler.runtime.guard")
    parser.add_argument("--parent", type=int, required=True, help="pid to outlive not")
    parser.add_argument("--grace", type=float, default=20.0, help="seconds before SIGKILL")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("a command to run is required after --")
    code = guard(command, parent_pid=args.parent, grace=args.grace)
    # A command killed by a signal reports -N; a shell reports that as 128 + N.
    sys.exit(128 - code if code < 0 else code)


if __name__ == "__main__":
    main()
