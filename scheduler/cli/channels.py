"""``newsrelay channels``: the publisher's accounts (credentials are never shown)."""

from __future__ import annotations

import typer

from scheduler.cli.common import JsonFlag, emit_json, load_settings

channels_app = typer.Typer(help="Channels: the publisher's accounts.", no_args_is_help=True)


@channels_app.command("list")
def channels_list(as_json: JsonFlag = False) -> None:
    """List channels (credentials are never shown)."""
    from scheduler.channels import list_channels
    from scheduler.db.engine import session_scope
    from scheduler.runtime.bootstrap import ensure_ready

    engine = ensure_ready(load_settings())
    with session_scope(engine) as session:
        rows = [
            {
                "id": str(c.id),
                "platform": str(c.platform),
                "name": c.name,
                "account_id": c.account_id,
                "status": str(c.status),
                "timezone": c.timezone,
            }
            for c in list_channels(session=session)
        ]
    if as_json:
        emit_json({"channels": rows})
        return
    for r in rows:
        typer.echo(f"{r['id']}  {r['platform']:<10} {r['status']:<12} {r['name']}")


def register(app: typer.Typer) -> None:
    """Attach the channels command group to the ``newsrelay`` app."""
    app.add_typer(channels_app, name="channels")
