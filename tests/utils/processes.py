"""Helpers for tests that start newsrelay's long-running commands as real processes."""

from __future__ import annotations

import select
import subprocess
import time


def wait_for_line(proc: subprocess.Popen[bytes], marker: str, *, timeout: float = 90) -> list[str]:
    """Read ``proc``'s stderr until a line holds ``marker``; return the lines read.

    Fails with what the process printed if it exits first or the marker does not come in time.
    """
    assert proc.stderr is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stderr], [], [], 0.5)
        if not ready:
            if proc.poll() is not None:
                break
            continue
        line = proc.stderr.readline().decode(errors="replace")
        if not line:
            break
        lines.append(line)
        if marker in line:
            return lines
    raise AssertionError(f"no {marker!r} from pid {proc.pid} (exit {proc.poll()}): {lines}")
