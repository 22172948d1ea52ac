"""``newsrelay users``: web UI users (the first admin is created here)."""

from __future__ import annotations

from typing import Annotated

import typer

from scheduler.cli.common import ROLE_HELP, fail, load_settings, parse_role

users_app = typer.Typer(help="Web UI users.", no_args_is_help=True)


@users_app.command("create")
def users_create(
    role: Annotated[str, typer.Option(help=ROLE_HELP)],
    username: Annotated[str, typer.Option(help="Login name")],
    password: Annotated[str | None, typer.Option(help="Omit to be prompted")] = None,
) -> None:
    """Create a web UI user (the first admin is created this way)."""
    from scheduler.access.auth import create_user
    from scheduler.db.engine import session_scope
    from scheduler.runtime.bootstrap import ensure_ready

    chosen = parse_role(role)
    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    engine = ensure_ready(load_settings())
    try:
        with session_scope(engine) as session:
            create_user(session=session, username=username.strip(), password=password, role=chosen)
    except ValueError as exc:
        fail(str(exc))
    typer.echo(f"user {username.strip()} created with role {chosen.value}")


def register(app: typer.Typer) -> None:
    """Attach the users command group to the ``newsrelay`` app."""
    app.add_typer(users_app, name="users")
