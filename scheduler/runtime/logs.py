"""Structured logging with secrets scrubbed from every event.

JSON lines for machines (log shippers, CI, containers); structlog's readable console format
when stderr is a terminal, i.e. a person is watching ``newsrelay run``.  ``NEWSRELAY_LOG_JSON``
forces one or the other.  Scrubbing runs before either renderer, so both formats are clean.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any, TextIO

import structlog

_SECRET_KEYS = re.compile(r"(token|secret|password|authorization|api[_-]?key|credential)", re.I)
# OAuth parameters that carry a secret in a query string or form (Meta's token endpoint takes
# client_secret and the code in its URL), and token fields of a JSON body quoted in a message.
# ``\b`` keeps "error_code=" and "subcode=" untouched.
_SECRET_PARAMS = "|".join(
    (
        "access_token",
        "refresh_token",
        "client_secret",
        "code",
        "code_verifier",
        "fb_exchange_token",
        "input_token",
        "state",
    )
)
_SECRET_VALUES = re.compile(
    r"(Bearer\s+)[A-Za-z0-9._~+/=-]+"
    rf"|(\b(?:{_SECRET_PARAMS})=)[^&\s\"']+"
    r"|(sandbox-token-)\d+"
    r"|(\"(?:access_token|refresh_token|client_secret|code_verifier)\"\s*:\s*\")[^\"]+",
    re.I,
)


def redact(text: str) -> str:
    """Remove bearer tokens, secret-carrying OAuth parameters (``access_token=``,
    ``client_secret=``, ``code=``, ``refresh_token=``, ...), JSON token fields and sandbox
    tokens from text."""
    return _SECRET_VALUES.sub(lambda m: next((g for g in m.groups() if g), "") + "[redacted]", text)


def _scrub(_logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
    for key, value in list(event.items()):
        if _SECRET_KEYS.search(key) and key != "event":
            event[key] = "[redacted]"
        elif isinstance(value, str):
            event[key] = redact(value)
    return event


def configure_logging(
    *, level: str = "INFO", json_output: bool | None = None, stream: TextIO | None = None
) -> None:
    """Route stdlib and structlog logs through one renderer on ``stream`` (stderr).

    ``json_output`` ``None`` means JSON unless the stream is a terminal.
    """
    stream = stream or sys.stderr
    if json_output is None:
        json_output = not _is_terminal(stream)
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json_output
        else structlog.dev.ConsoleRenderer(colors=_is_terminal(stream))
    )
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        # Tracebacks become text before scrubbing, so neither renderer prints a raw one (the
        # console renderer's rich tracebacks would show local variables, tokens included).
        structlog.processors.format_exc_info,
        _scrub,
    ]
    structlog.configure(
        processors=[*processors, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(foreign_pre_chain=processors, processor=renderer)
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream
        return False


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
