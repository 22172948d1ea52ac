"""``newsrelay keys``: API keys (stored hashed; the key is shown once) and re-encrypting the
stored channel credentials with the newest encryption key (``rotate-encryption``).

The keys group kept this module when users and feeds moved to their own modules, so work on
the keys commands elsewhere merges in place; renaming it ``keys.py`` is a later ``git mv``.
"""

from __future__ import annotations

from typing import Annotated

import typer

from scheduler.cli.common import ROLE_HELP, JsonFlag, emit_json, fail, load_settings, parse_role

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


@keys_app.command("rotate-encryption")
def keys_rotate_encryption(as_json: JsonFlag = False) -> None:
    """Re-encrypt every channel's credentials with the first of NEWSRELAY_ENCRYPTION_KEYS.

    One transaction; values already on the newest key are left alone, so running it twice is
    harmless.  Prints counts only, never a key or a credential.
    """
    from scheduler.access.crypto import EncryptionKeysInvalid, newest_key
    from scheduler.access.rotation import rotate_encryption
    from scheduler.db.engine import session_scope
    from scheduler.runtime.bootstrap import ensure_ready

    settings = load_settings()
    try:
        newest_key(settings)
    except EncryptionKeysInvalid as exc:
        fail(str(exc))
    engine = ensure_ready(settings, sandbox_channels=False)
    try:
        with session_scope(engine) as session:
            result = rotate_encryption(session=session, settings=settings, actor="cli")
    except ValueError as exc:
        fail(str(exc))
    if as_json:
        emit_json({"rotated": result.rotated, "already_current": result.current})
    else:
        typer.echo(
            f"rotated {result.rotated} encrypted value(s) to the newest key; "
            f"{result.current} already used it"
        )


def register(app: typer.Typer) -> None:
    """Attach the keys command group to the ``newsrelay`` app."""
    app.add_typer(keys_app, name="keys")
