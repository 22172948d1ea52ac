"""The first ``newsrelay run`` at a terminal offers to create the first admin (hidden password);
the prompt logic itself with injected streams."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import select
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session
from sqlmodel import select as sql_select

from config import Settings
from scheduler.access.auth import check_password
from scheduler.db.engine import make_engine
from scheduler.models import Role, User
from scheduler.runtime.bootstrap import ensure_ready
from scheduler.runtime.first_run import greet_first_start
from tests.utils.stack import ROOT, free_port

PASSWORD = "a-long-enough-secret"


def _own_terminal() -> None:
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    """A pseudo-terminal as the child's stdin, stdout and stderr; we type at the other end."""

    def __init__(self) -> None:
        self.leader, self.follower = pty.openpty()
        self.seen = b""

    def expect(self, text: str, timeout: float = 60, times: int = 1) -> None:
        """Wait until ``text`` has appeared ``times`` times (a prompt asked again counts anew)."""
        deadline = time.monotonic() + timeout
        while self.seen.count(text.encode()) < times:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{text!r} never appeared; the terminal shows:\n{self.text}")
            if select.select([self.leader], [], [], min(left, 0.5))[0]:
                try:
                    self.seen += os.read(self.leader, 1 << 16)
                except OSError:  # the child closed the terminal
                    time.sleep(0.1)

    def type(self, line: str) -> None:
        os.write(self.leader, (line + "\n").encode())

    @property
    def text(self) -> str:
        return self.seen.decode(errors="replace")


def test_first_run_at_a_terminal_creates_the_admin_with_a_hidden_password(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSRELAY_")}
    env.update(
        NEWSRELAY_DATA_DIR=str(data),
        NEWSRELAY_SANDBOX_PORT=str(free_port()),
        NEWSRELAY_LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    port = free_port()
    term = Terminal()
    proc = subprocess.Popen(
        [sys.executable, "-m", "scheduler.cli.app", "run", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdin=term.follower,
        stdout=term.follower,
        stderr=term.follower,
        # A session of its own whose controlling terminal is the pty, as in a real terminal:
        # getpass then turns echo off on /dev/tty (without one it falls back to echoing stdin).
        preexec_fn=_own_terminal,
    )
    os.close(term.follower)
    try:
        term.expect("Create the first admin here now? [Y/n] ")
        assert f"nobody can sign in at http://127.0.0.1:{port}/login" in term.text
        term.type("")
        term.expect("Username [admin]: ")
        term.type("chief")
        term.expect("Password (at least 10 characters): ")
        term.type("short")
        term.expect("Repeat the password: ")
        term.type("short")
        term.expect("at least 10 characters; try again.")
        # Type only once the prompt is shown again: keys typed earlier are echoed by the terminal.
        term.expect("Password (at least 10 characters): ", times=2)
        term.type(PASSWORD)
        term.expect("Repeat the password: ", timeout=10, times=2)
        term.type(PASSWORD)
        term.expect(f"Admin chief created. Sign in at http://127.0.0.1:{port}/login")
    finally:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
        os.close(term.leader)
    assert PASSWORD not in term.text and "short" not in term.text.split("Username")[1]
    engine = make_engine(Settings(environment="test", data_dir=data).resolved_database_url)
    with Session(engine) as s:
        [user] = s.exec(sql_select(User)).all()
    engine.dispose()
    assert user.username == "chief" and user.role == Role.ADMIN
    assert check_password(PASSWORD, user.password_hash)


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return ensure_ready(Settings(environment="test", data_dir=tmp_path / "data"))


def _greet(engine: Engine, answers: str, *, interactive: bool = True) -> str:
    out = io.StringIO()
    greet_first_start(
        engine=engine,
        base_url="http://127.0.0.1:8000",
        interactive=interactive,
        stdin=io.StringIO(answers),
        stdout=out,
        prog="nr",
    )
    return out.getvalue()


def test_nothing_is_asked_or_printed_once_a_user_exists(engine: Engine) -> None:
    first = _greet(engine, "\nfirst-admin\n" + f"{PASSWORD}\n" * 2)
    assert "    nr users create --role admin --username NAME\n" in first
    assert "Admin first-admin created" in first
    assert _greet(engine, "y\n") == ""


def test_declining_or_a_non_interactive_start_creates_no_one(engine: Engine) -> None:
    quiet = _greet(engine, "y\n", interactive=False)
    assert "nobody can sign in at http://127.0.0.1:8000/login" in quiet
    assert "[Y/n]" not in quiet
    assert _greet(engine, "n\n").endswith("[Y/n] ")
    assert _greet(engine, "y\nx\n" + "differs-1234\ndiffers-5678\n" * 3).endswith(
        "No admin created; use the command above when you are ready.\n\n"
    )
    with Session(engine) as s:
        assert s.exec(sql_select(User)).all() == []
