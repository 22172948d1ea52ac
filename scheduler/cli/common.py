"""What every ``newsrelay`` command shares: settings, errors on stderr, JSON output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from config import Settings, get_settings

JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
ROLE_HELP = "editor, ops or admin"


def fail(message: str, *, details: list[str] | None = None, code: int = 2) -> NoReturn:
    """Print a precise error on stderr and exit non-zero."""
    typer.echo(f"error: {message}", err=True)
    for line in details or []:
        typer.echo(f"  - {line}", err=True)
    raise typer.Exit(code)


def emit_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def load_settings() -> Settings:
    try:
        return get_settings()
    except Exception as exc:  # pydantic ValidationError names the variable
        fail(f"configuration is invalid: {exc}")


def parse_role(value: str) -> Any:
    """The ``Role`` named by ``value``; exits with the valid names when there is none."""
    from scheduler.models import Role

    try:
        return Role(value)
    except ValueError:
        fail(f"unknown role {value!r}; one of {ROLE_HELP}")


def read_article_file(path: Path) -> Any:
    from scheduler.intake.jsonbody import MalformedJson, load_json
    from scheduler.intake.schemas import InvalidInput, parse_article

    if not path.is_file():
        fail(f"{path}: no such file")
    if path.stat().st_size > 2 * 1024 * 1024:
        fail(f"{path}: larger than 2 MiB; an article JSON is far smaller")
    try:
        data = load_json(path.read_bytes())
    except MalformedJson as exc:
        fail(f"{path}: {exc.reason}")
    try:
        return parse_article(data)
    except InvalidInput as exc:
        fail(f"{path}: the article is invalid; nothing was written", details=exc.errors)
