"""``newsrelay keys``: API keys (stored hashed; the key is shown once).

The keys group kept this module when users and feeds moved to their own modules, so work on
the keys commands elsewhere merges in place; renaming it ``keys.py`` is a later ``git mv``.
"""

from __future__ import annotations

from typing import Annotated

import typer

from scheduler.cli.common import ROLE_HELP, fail, load_settings, parse_role

keys_app = typer.Typer(help="API keys (stored hashed; shown once).", no_args_is_help=True)


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help=ROLE_HELP)],
    name: Annotated[str, typer.Option(help="Who or what uses the key")],
) -> None:
    """Create an API key; the key is printed once, on the last line."""
    from scheduler.access.auth import create_api_key
    from scheduler.db.engine import session_scope
    from scheduler.runtime.bootstrap import ensure_ready

    chosen = parse_role(role)
    if not name.strip() or len(name) > 200:
        fail("name: must be 1 to 200 characters")
    engine = ensure_ready(load_settings())
    with session_scope(engine) as session:
        key = create_api_key(session=session, name=name.strip(), role=chosen)
    typer.echo(f"API key for {name.strip()} ({chosen.value}); store it now, it is not shown again:")
    typer.echo(key)


def register(app: typer.Typer) -> None:
    """Attach the keys command group to the ``newsrelay`` app."""
    app.add_typer(keys_app, name="keys")
