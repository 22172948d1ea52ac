"""``newsrelay db``: database migrations."""

from __future__ import annotations

import typer

from scheduler.cli.common import load_settings

db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Apply database migrations (creates the SQLite file on the embedded default)."""
    from scheduler.db.migrate import upgrade

    settings = load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url, revision)
    typer.echo(f"database at {revision}")


def register(app: typer.Typer) -> None:
    """Attach the db command group to the ``newsrelay`` app."""
    app.add_typer(db_app, name="db")
