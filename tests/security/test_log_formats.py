"""Logs read well on a terminal and stay JSON for machines; both formats scrub secrets."""

from __future__ import annotations

import io
import json
import logging
import os
import pty
import select
from collections.abc import Iterator
from typing import TextIO

import pytest
import structlog

from config import Settings
from scheduler.runtime.logs import configure_logging, get_logger

TOKEN = "EAAGm0PX4ZCpsBAKZCZAsecret0token"


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    saved = structlog.get_config()
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.configure(**saved)


def _emit(stream: TextIO, json_output: bool | None) -> None:
    configure_logging(level="INFO", json_output=json_output, stream=stream)
    log = get_logger("newsrelay.test")
    log.info(
        "channel_call", access_token=TOKEN, url=f"https://graph.example/me?access_token={TOKEN}"
    )
    logging.getLogger("uvicorn.error").warning("upstream said Bearer %s", TOKEN)
    try:
        raise RuntimeError(f"refused Authorization: Bearer {TOKEN}")
    except RuntimeError:
        log.exception("publish_failed")


def _read_pty(json_output: bool | None) -> str:
    """What a person at a terminal sees: the logs written to a real pseudo-terminal."""
    leader, follower = pty.openpty()
    with os.fdopen(follower, "w", closefd=True) as terminal:
        _emit(terminal, json_output)
        terminal.flush()
        chunks = []
        while select.select([leader], [], [], 0.2)[0]:
            chunks.append(os.read(leader, 1 << 16))
    os.close(leader)
    return b"".join(chunks).decode()


def test_a_terminal_gets_the_console_format_without_secrets() -> None:
    output = _read_pty(json_output=None)
    assert "channel_call" in output and "publish_failed" in output
    assert not output.lstrip().startswith("{"), "a terminal should not get JSON lines"
    assert "[redacted]" in output and TOKEN not in output


def test_json_elsewhere_or_when_forced_without_secrets() -> None:
    piped = io.StringIO()
    _emit(piped, json_output=None)
    lines = [json.loads(line) for line in piped.getvalue().splitlines()]
    assert [e["event"] for e in lines][:1] == ["channel_call"] and len(lines) == 3
    assert TOKEN not in piped.getvalue()
    forced = _read_pty(json_output=True)  # NEWSRELAY_LOG_JSON=true on a terminal
    assert json.loads(forced.splitlines()[0])["event"] == "channel_call"
    assert TOKEN not in forced


def test_log_json_setting_is_automatic_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEWSRELAY_LOG_JSON", raising=False)
    assert Settings(environment="test").log_json is None
    monkeypatch.setenv("NEWSRELAY_LOG_JSON", "true")
    assert Settings(environment="test").log_json is True
