"""``newsrelay posts``: list posts."""

from __future__ import annotations

from typing import Annotated

import typer

from scheduler.cli.common import JsonFlag, emit_json, fail, load_settings

posts_app = typer.Typer(help="Posts: list and act on them.", no_args_is_help=True)


@posts_app.command("list")
def posts_list(
    status: Annotated[str | None, typer.Option(help="Only posts in this status")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 200,
    as_json: JsonFlag = False,
) -> None:
    """List posts, newest first."""
    from scheduler.db.engine import session_scope
    from scheduler.editorial.actions import list_post_rows
    from scheduler.models import PostStatus
    from scheduler.runtime.bootstrap import ensure_ready

    if status is not None and status not in {s.value for s in PostStatus}:
        fail(f"unknown status {status!r}; one of: {', '.join(s.value for s in PostStatus)}")
    engine = ensure_ready(load_settings())
    with session_scope(engine) as session:
        rows = [r.model_dump() for r in list_post_rows(session=session, status=status, limit=limit)]
    if as_json:
        emit_json({"posts": rows})
        return
    if not rows:
        typer.echo("no posts")
    for r in rows:
        typer.echo(
            f"{r['id']}  {r['channel']:<10} {r['status']:<17} {r['scheduled_at'] or '-'}  "
            f"{r['article_external_id']}  {r['external_url'] or r['last_error'] or ''}"
        )


def register(app: typer.Typer) -> None:
    """Attach the posts command group to the ``newsrelay`` app."""
    app.add_typer(posts_app, name="posts")
