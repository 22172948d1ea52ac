"""The first start of ``newsrelay run``: nobody can sign in yet, so say how to fix that.

With no user in the database, ``run`` prints the web UI's address and the exact command that
creates the first admin.  When a person is at a terminal (stdin and stdout are terminals) in
development, it also offers to create one there and then: a name, and a password read without
echo.  A non-interactive start (CI, tests, a container, a service manager) never waits for
input: it prints the message and goes on.
"""

from __future__ import annotations

import os
import sys
import termios
from typing import TextIO

from sqlalchemy.engine import Engine
from sqlmodel import select

from config import Settings
from scheduler.access.auth import create_user
from scheduler.db.engine import session_scope
from scheduler.models import Role, User

PASSWORD_TRIES = 3


def has_users(engine: Engine) -> bool:
    """Whether anyone can sign in already (any user, enabled or not)."""
    with session_scope(engine) as session:
        return session.exec(select(User.id).limit(1)).first() is not None


def create_admin_command(prog: str | None = None) -> str:
    """The exact command line that creates the first admin (asks for the password)."""
    if prog is None:
        invoked = sys.argv[0] if sys.argv else ""
        prog = invoked if os.path.basename(invoked) == "newsrelay" else "newsrelay"
    return f"{prog} users create --role admin --username NAME"


def first_start(*, engine: Engine, settings: Settings) -> None:
    """:func:`greet_first_start` on this process's terminal; interactive only in development."""
    at_terminal = sys.stdin is not None and sys.stdin.isatty() and sys.stdout.isatty()
    greet_first_start(
        engine=engine,
        base_url=settings.public_base_url,
        interactive=at_terminal and settings.environment == "development",
        stdin=sys.stdin,
        stdout=sys.stdout,
    )


def greet_first_start(
    *,
    engine: Engine,
    base_url: str,
    interactive: bool,
    stdin: TextIO,
    stdout: TextIO,
    prog: str | None = None,
) -> None:
    """On a database without users, print how to create the first admin; offer it if asked.

    ``interactive`` must only be true when a person can answer on ``stdin``.
    """
    if has_users(engine):
        return
    login = f"{base_url.rstrip('/')}/login"
    stdout.write(
        f"\nnewsrelay has no users yet, so nobody can sign in at {login}.\n"
        "Create the first admin (it asks for a password of at least 10 characters):\n\n"
        f"    {create_admin_command(prog)}\n\n"
    )
    stdout.flush()
    if interactive and _ask(stdin, stdout, "Create the first admin here now? [Y/n] ") in ("", "y"):
        _create_interactively(engine=engine, login=login, stdin=stdin, stdout=stdout)


def _ask(stdin: TextIO, stdout: TextIO, prompt: str) -> str:
    stdout.write(prompt)
    stdout.flush()
    return stdin.readline().strip().lower()


def _read_hidden(stdin: TextIO, stdout: TextIO, prompt: str) -> str:
    """One line from ``stdin`` without echoing it (a terminal's echo turned off meanwhile)."""
    stdout.write(prompt)
    stdout.flush()
    if not stdin.isatty():
        return stdin.readline().rstrip("\r\n")
    fd = stdin.fileno()
    saved = termios.tcgetattr(fd)
    quiet = termios.tcgetattr(fd)
    quiet[3] &= ~termios.ECHO
    termios.tcsetattr(fd, termios.TCSADRAIN, quiet)
    try:
        return stdin.readline().rstrip("\r\n")
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        stdout.write("\n")


def _create_interactively(*, engine: Engine, login: str, stdin: TextIO, stdout: TextIO) -> None:
    stdout.write("Username [admin]: ")
    stdout.flush()
    username = stdin.readline().strip() or "admin"
    for _ in range(PASSWORD_TRIES):
        password = _read_hidden(stdin, stdout, "Password (at least 10 characters): ")
        if _read_hidden(stdin, stdout, "Repeat the password: ") != password:
            stdout.write("The passwords differ; try again.\n")
            continue
        try:
            with session_scope(engine) as session:
                create_user(
                    session=session,
                    username=username,
                    password=password,
                    role=Role.ADMIN,
                    actor="cli:first-run",
                )
        except ValueError as exc:
            stdout.write(f"{exc}; try again.\n")
            continue
        stdout.write(f"Admin {username} created. Sign in at {login}\n\n")
        stdout.flush()
        return
    stdout.write("No admin created; use the command above when you are ready.\n\n")
    stdout.flush()
