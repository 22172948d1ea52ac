"""``newsrelay articles`` and ``newsrelay preview``: articles from JSON, rendered or stored."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from adapters.base import PLATFORMS
from scheduler.cli.common import JsonFlag, emit_json, fail, load_settings, read_article_file

articles_app = typer.Typer(help="Articles: add from JSON.", no_args_is_help=True)


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
            "posts_cancelled": result.posts_cancelled,
            "note": result.note,
        }
    if as_json:
        emit_json(summary)
    else:
        verb = "added" if summary["created"] else f"updated to revision {summary['revision']}"
        typer.echo(
            f"article {summary['external_id']} {verb}: {summary['posts_created']} post(s) "
            f"created, {summary['posts_rerendered']} re-rendered"
            + (f" ({summary['note']})" if summary["note"] else "")
        )


def preview(
    file: Annotated[Path, typer.Argument(help="Article JSON")],
    channel: Annotated[
        list[str] | None, typer.Option("--channel", help="x, instagram or facebook (repeatable)")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Render an article for each platform with default settings; writes nothing to the database."""
    from adapters import platform_client
    from scheduler.editorial.rendering import preview_article

    data = read_article_file(file)
    platforms = channel or list(PLATFORMS)
    bad = [p for p in platforms if p not in PLATFORMS]
    if bad:
        fail(f"unknown channel {', '.join(bad)}; choose from {', '.join(PLATFORMS)}")
    settings = load_settings()
    with platform_client(settings) as client:
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


def register(app: typer.Typer) -> None:
    """Attach ``preview`` and the articles command group to the ``newsrelay`` app."""
    app.command()(preview)
    app.add_typer(articles_app, name="articles")
