"""The first ``newsrelay run`` offers to create the first admin: the prompt logic with injected
streams (the non-interactive start's message is checked in test_run_command.py)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session
from sqlmodel import select as sql_select

from config import Settings
from scheduler.models import User
from scheduler.runtime.bootstrap import ensure_ready
from scheduler.runtime.first_run import greet_first_start

PASSWORD = "a-long-enough-secret"


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
