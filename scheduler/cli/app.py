"""The ``newsrelay`` command line.  Commands only parse input, call services and print."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from adapters.base import PLATFORMS
from scheduler.cli import admin as cli_admin
from scheduler.cli import services as cli_services
from scheduler.cli.common import (
    JsonFlag,
    emit_json,
    fail,
    load_settings,
    read_article_file,
)

app = typer.Typer(
    help="newsrelay: every article on every channel, on time, exactly once.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
articles_app = typer.Typer(help="Articles: add from JSON.", no_args_is_help=True)
posts_app = typer.Typer(help="Posts: list and act on them.", no_args_is_help=True)
channels_app = typer.Typer(help="Channels: the publisher's accounts.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(articles_app, name="articles")
app.add_typer(posts_app, name="posts")
app.add_typer(channels_app, name="channels")


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Apply database migrations (creates the SQLite file on the embedded default)."""
    from scheduler.db.migrate import upgrade

    settings = load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url, revision)
    typer.echo(f"database at {revision}")


@articles_app.command("add")
def articles_add(
    file: Annotated[Path, typer.Argument(help="Article JSON (see README, 'Article JSON').")],
    as_json: JsonFlag = False,
) -> None:
    """Store an article and create one post per channel (idempotent on source + external_id)."""
    from scheduler.db.engine import session_scope
    from scheduler.intake.articles import ingest_article
    from scheduler.runtime.bootstrap import ensure_ready

    data = read_article_file(file)
    settings = load_settings()
    engine = ensure_ready(settings)
    with session_scope(engine) as session:
        result = ingest_article(session=session, data=data, actor="cli")
        summary = {
            "article_id": str(result.article.id),
            "external_id": result.article.external_id,
            "revision": result.article.revision,
            "created": result.created,
            "posts_created": len(result.posts_created),
            "posts_rerendered": len(result.posts_rerendered),
        }
    if as_json:
        emit_json(summary)
    else:
        verb = "added" if summary["created"] else f"updated to revision {summary['revision']}"
        typer.echo(
            f"article {summary['external_id']} {verb}: {summary['posts_created']} post(s) "
            f"created, {summary['posts_rerendered']} re-rendered"
        )


@app.command()
def preview(
    file: Annotated[Path, typer.Argument(help="Article JSON")],
    channel: Annotated[
        list[str] | None, typer.Option("--channel", help="x, instagram or facebook (repeatable)")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Render an article for each platform with default settings; writes nothing to the database."""
    from adapters import http_timeout
    from scheduler.editorial.rendering import preview_article

    data = read_article_file(file)
    platforms = channel or list(PLATFORMS)
    bad = [p for p in platforms if p not in PLATFORMS]
    if bad:
        fail(f"unknown channel {', '.join(bad)}; choose from {', '.join(PLATFORMS)}")
    settings = load_settings()
    with httpx.Client(timeout=http_timeout(settings)) as client:
        payloads = preview_article(
            data.content(), settings=settings, platforms=platforms, client=client
        )
    if as_json:
        emit_json({"posts": [p.as_dict() for p in payloads]})
        return
    for p in payloads:
        typer.echo(f"── {p.channel} " + "─" * (60 - len(p.channel)))
        typer.echo(p.text)
        if p.link:
            typer.echo(f"link: {p.link}")
        if p.weighted_length is not None:
            typer.echo(f"length: {p.weighted_length}/280 (X weighted)")
        for m in p.media:
            typer.echo(f"image: {m.width}x{m.height} {m.path}")
        for w in p.warnings:
            typer.echo(f"warning: {w}")
        for prob in p.problems:
            typer.echo(f"PROBLEM: {prob}")
        typer.echo("")


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


@app.command()
def deliveries(
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Print new outcomes")] = False,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 50,
    status: Annotated[str | None, typer.Option(help="Only attempts in this status")] = None,
    channel: Annotated[str | None, typer.Option(help="x, instagram or facebook")] = None,
    as_json: JsonFlag = False,
) -> None:
    """The delivery log: every attempt and its outcome."""
    import time

    from scheduler.db.engine import session_scope
    from scheduler.models import utcnow
    from scheduler.ops.delivery_log import list_deliveries
    from scheduler.runtime.bootstrap import ensure_ready

    if channel is not None and channel not in PLATFORMS:
        fail(f"unknown channel {channel!r}; choose from {', '.join(PLATFORMS)}")
    engine = ensure_ready(load_settings())

    def show(rows: list[dict[str, Any]]) -> None:
        for r in rows:
            if as_json and follow:
                typer.echo(json.dumps(r, ensure_ascii=False, default=str))
                continue
            code = f" [{r['error_code']}/{r['error_subcode'] or '-'}]" if r["error_code"] else ""
            typer.echo(
                f"{r['finished_at'] or r['created_at']}  {r['channel']:<10} "
                f"#{r['number']} {r['status']:<10} {r['latency_ms'] or '-':>5}ms "
                f"{r['article_external_id']}{code} {r['message'] or ''}"
            )

    with session_scope(engine) as session:
        rows = [
            r.model_dump()
            for r in list_deliveries(session=session, limit=limit, status=status, channel=channel)
        ]
    if as_json and not follow:
        emit_json({"deliveries": rows})
        return
    show(list(reversed(rows)))
    if not follow:
        return
    since = utcnow()
    try:
        while True:
            time.sleep(1)
            with session_scope(engine) as session:
                new = [
                    r.model_dump()
                    for r in list_deliveries(
                        session=session,
                        limit=1000,
                        finished_after=since,
                        status=status,
                        channel=channel,
                    )
                ]
            if new:
                since = max(datetime.fromisoformat(r["finished_at"]) for r in new)
                show(new)
    except KeyboardInterrupt:
        return


cli_admin.register(app)
cli_services.register(app)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
