"""``newsrelay keys|users|feeds``: API keys, web UI users and the polled feeds."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
import typer

from scheduler.cli.common import JsonFlag, emit_json, fail, load_settings

keys_app = typer.Typer(help="API keys (stored hashed; shown once).", no_args_is_help=True)
users_app = typer.Typer(help="Web UI users.", no_args_is_help=True)
ROLE_HELP = "editor, ops or admin"


def _role(value: str) -> Any:
    from scheduler.models import Role

    try:
        return Role(value)
    except ValueError:
        fail(f"unknown role {value!r}; one of {ROLE_HELP}")


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help=ROLE_HELP)],
    name: Annotated[str, typer.Option(help="Who or what uses the key")],
) -> None:
    """Create an API key; the key is printed once, on the last line."""
    from scheduler.access.auth import create_api_key
    from scheduler.db.engine import session_scope
    from scheduler.runtime.bootstrap import ensure_ready

    chosen = _role(role)
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

    chosen = _role(role)
    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    engine = ensure_ready(load_settings())
    try:
        with session_scope(engine) as session:
            create_user(session=session, username=username.strip(), password=password, role=chosen)
    except ValueError as exc:
        fail(str(exc))
    typer.echo(f"user {username.strip()} created with role {chosen.value}")


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

    from scheduler.intake.feeds import FeedNotFound, get_feed, poll_due_feeds, poll_feed
    from scheduler.runtime.bootstrap import ensure_ready

    engine = ensure_ready(load_settings())
    with httpx.Client() as client:
        if name is None:
            results = poll_due_feeds(engine=engine, client=client)
        else:
            try:
                with Session(engine) as session:
                    feed_id = get_feed(session=session, name=name).id
            except FeedNotFound as exc:
                fail(str(exc))
            results = [poll_feed(engine=engine, feed_id=feed_id, client=client, force=True)]
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
    """Attach the keys, users and feeds command groups to the ``newsrelay`` app."""
    app.add_typer(keys_app, name="keys")
    app.add_typer(users_app, name="users")
    app.add_typer(feeds_app, name="feeds")
