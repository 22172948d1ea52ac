"""``newsrelay feeds``: the RSS/Atom feeds polled for new articles."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from scheduler.cli.common import JsonFlag, emit_json, fail, load_settings

feeds_app = typer.Typer(help="RSS/Atom feeds polled for new articles.", no_args_is_help=True)


def _feed_row(feed: Any) -> dict[str, Any]:
    return {
        "id": str(feed.id),
        "name": feed.name,
        "url": feed.url,
        "source": feed.source,
        "interval_seconds": feed.interval_seconds,
        "next_poll_at": feed.next_poll_at,
        "last_polled_at": feed.last_polled_at,
        "last_status": feed.last_status,
        "last_error": feed.last_error,
        "consecutive_failures": feed.consecutive_failures,
        "items_seen": feed.items_seen,
    }


@feeds_app.command("add")
def feeds_add(
    name: Annotated[str, typer.Argument(help="A short unique name")],
    url: Annotated[str, typer.Argument(help="The RSS or Atom URL")],
    source: Annotated[str, typer.Option("--source", help="Article source its items belong to")],
    interval: Annotated[int, typer.Option(min=30, max=86400, help="Seconds between polls")] = 300,
    as_json: JsonFlag = False,
) -> None:
    """Register a feed; the scheduler polls it from now on."""
    from scheduler.db.engine import session_scope
    from scheduler.intake.feeds import add_feed
    from scheduler.intake.schemas import InvalidInput
    from scheduler.runtime.bootstrap import ensure_ready

    engine = ensure_ready(load_settings())
    try:
        with session_scope(engine) as session:
            row = _feed_row(
                add_feed(
                    session=session,
                    name=name.strip(),
                    url=url.strip(),
                    source=source.strip(),
                    interval_seconds=interval,
                )
            )
    except InvalidInput as exc:
        fail("the feed was not added", details=exc.errors)
    if as_json:
        emit_json(row)
    else:
        typer.echo(f"feed {row['name']} added: {row['url']} every {interval} s")


@feeds_app.command("list")
def feeds_list(as_json: JsonFlag = False) -> None:
    """Feeds with their last poll and any error."""
    from sqlmodel import Session

    from scheduler.intake.feeds import list_feeds
    from scheduler.runtime.bootstrap import ensure_ready

    engine = ensure_ready(load_settings())
    with Session(engine) as session:
        rows = [_feed_row(f) for f in list_feeds(session=session)]
    if as_json:
        emit_json({"feeds": rows})
        return
    if not rows:
        typer.echo("no feeds")
    for r in rows:
        state = "ok"
        if r["last_error"]:
            state = f"FAILING x{r['consecutive_failures']}: {r['last_error']}"
        typer.echo(
            f"{r['name']:<20} every {r['interval_seconds']:>5}s  items {r['items_seen']:>5}  "
            f"next {r['next_poll_at']}  {state}  {r['url']}"
        )


@feeds_app.command("poll")
def feeds_poll(
    name: Annotated[str | None, typer.Option("--name", help="Poll only this feed, now")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Poll due feeds now (or one feed, due or not) and print what each poll found."""
    from sqlmodel import Session

    from adapters.deadline import make_client
    from scheduler.intake.feeds import (
        FETCH_TIMEOUT,
        FeedNotFound,
        get_feed,
        poll_due_feeds,
        poll_feed,
    )
    from scheduler.runtime.bootstrap import ensure_ready

    settings = load_settings()
    engine = ensure_ready(settings)
    limit = settings.feeds.fetch_deadline
    with make_client(timeout=FETCH_TIMEOUT, per_request=limit) as client:
        if name is None:
            results = poll_due_feeds(engine=engine, client=client, fetch_deadline=limit)
        else:
            try:
                with Session(engine) as session:
                    feed_id = get_feed(session=session, name=name).id
            except FeedNotFound as exc:
                fail(str(exc))
            results = [
                poll_feed(
                    engine=engine, feed_id=feed_id, client=client, force=True, fetch_deadline=limit
                )
            ]
    if as_json:
        emit_json({"polls": [r.__dict__ for r in results]})
        return
    if not results:
        typer.echo("no feed is due")
    for r in results:
        typer.echo(
            f"{r.name}: {r.outcome} (HTTP {r.http_status or '-'}) {r.new} new, {r.known} known, "
            f"{r.stale} too old, {len(r.invalid)} invalid" + (f": {r.error}" if r.error else "")
        )
        for line in r.invalid:
            typer.echo(f"  - skipped {line}")
    if any(r.outcome == "failed" for r in results):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Attach the feeds command group to the ``newsrelay`` app."""
    app.add_typer(feeds_app, name="feeds")
