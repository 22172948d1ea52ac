"""``newsrelay users``: web UI users (the first admin is created here)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from scheduler.cli.common import ROLE_HELP, fail, load_settings, parse_role

users_app = typer.Typer(help="Web UI users.", no_args_is_help=True)


@users_app.command("create")
def users_create(
    role: Annotated[str, typer.Option(help=ROLE_HELP)],
    username: Annotated[str, typer.Option(help="Login name")],
    password: Annotated[str | None, typer.Option(help="Omit to be prompted")] = None,
    name: Annotated[
        str | None, typer.Option(help='The name pages show, e.g. "Aisha Khan" (default: username)')
    ] = None,
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
            create_user(
                session=session,
                username=username.strip(),
                password=password,
                role=chosen,
                display_name=name,
            )
    except ValueError as exc:
        fail(str(exc))
    typer.echo(f"user {username.strip()} created with role {chosen.value}")


def _change_user(username: str, change: Any) -> None:
    from scheduler.db.engine import session_scope
    from scheduler.runtime.bootstrap import ensure_ready

    engine = ensure_ready(load_settings())
    try:
        with session_scope(engine) as session:
            change(session)
    except ValueError as exc:
        fail(str(exc))


@users_app.command("disable")
def users_disable(username: Annotated[str, typer.Argument(help="Login name")]) -> None:
    """Revoke a user: they cannot sign in, and every open session of theirs ends now."""
    from scheduler.access.auth import set_user_disabled

    name = username.strip()
    _change_user(
        name, lambda s: set_user_disabled(session=s, username=name, disabled=True, actor="cli")
    )
    typer.echo(f"user {name} disabled; their sessions are ended")


@users_app.command("enable")
def users_enable(username: Annotated[str, typer.Argument(help="Login name")]) -> None:
    """Let a disabled user sign in again (old sessions stay ended)."""
    from scheduler.access.auth import set_user_disabled

    name = username.strip()
    _change_user(
        name, lambda s: set_user_disabled(session=s, username=name, disabled=False, actor="cli")
    )
    typer.echo(f"user {name} enabled")


@users_app.command("password")
def users_password(
    username: Annotated[str, typer.Argument(help="Login name")],
    password: Annotated[str | None, typer.Option(help="Omit to be prompted")] = None,
    name: Annotated[
        str | None, typer.Option(help='The name pages show, e.g. "Aisha Khan" (default: username)')
    ] = None,
) -> None:
    """Set a user's password; every open session of theirs ends."""
    from scheduler.access.auth import set_user_password

    name = username.strip()
    if password is None:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    new = password
    _change_user(
        name, lambda s: set_user_password(session=s, username=name, password=new, actor="cli")
    )
    typer.echo(f"password of {name} changed; their sessions are ended")


def register(app: typer.Typer) -> None:
    """Attach the users command group to the ``newsrelay`` app."""
    app.add_typer(users_app, name="users")
