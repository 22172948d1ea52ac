"""The ``newsrelay`` command line.  Commands only parse input, call services and print."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import httpx
import typer

from adapters.base import PLATFORMS
from config import Settings, get_settings

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

JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def fail(message: str, *, details: list[str] | None = None, code: int = 2) -> NoReturn:
    """Print a precise error on stderr and exit non-zero."""
    typer.echo(f"error: {message}", err=True)
    for line in details or []:
        typer.echo(f"  - {line}", err=True)
    raise typer.Exit(code)


def emit_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def load_settings() -> Settings:
    try:
        return get_settings()
    except Exception as exc:  # pydantic ValidationError names the variable
        fail(f"configuration is invalid: {exc}")


def read_article_file(path: Path) -> Any:
    from scheduler.schemas import InvalidInput, parse_article

    if not path.is_file():
        fail(f"{path}: no such file")
    if path.stat().st_size > 2 * 1024 * 1024:
        fail(f"{path}: larger than 2 MiB; an article JSON is far smaller")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        fail(f"{path}: not valid UTF-8 JSON ({exc})")
    try:
        return parse_article(data)
    except InvalidInput as exc:
        fail(f"{path}: the article is invalid; nothing was written", details=exc.errors)


def _engine(settings: Settings) -> Any:
    from scheduler.db import get_engine

    return get_engine(settings)


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Apply database migrations (creates the SQLite file on the embedded default)."""
    from scheduler.migrate import upgrade

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
    from scheduler.articles import ingest_article
    from scheduler.bootstrap import ensure_ready
    from scheduler.db import session_scope

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
    from scheduler.rendering import preview_article

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
    from scheduler.bootstrap import ensure_ready
    from scheduler.db import session_scope
    from scheduler.models import PostStatus
    from scheduler.posts import list_post_rows

    if status is not None and status not in {s.value for s in PostStatus}:
        fail(f"unknown status {status!r}; one of: {', '.join(s.value for s in PostStatus)}")
    engine = ensure_ready(load_settings())
    with session_scope(engine) as session:
        rows = list_post_rows(session=session, status=status, limit=limit)
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
    from scheduler.bootstrap import ensure_ready
    from scheduler.channels import list_channels
    from scheduler.db import session_scope

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


keys_app = typer.Typer(help="API keys (stored hashed; shown once).", no_args_is_help=True)
users_app = typer.Typer(help="Web UI users.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(users_app, name="users")
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
    from scheduler.auth import create_api_key
    from scheduler.bootstrap import ensure_ready
    from scheduler.db import session_scope

    chosen = _role(role)
    if not name.strip() or len(name) > 200:
        fail("name: must be 1 to 200 characters")
    engine = ensure_ready(load_settings())
    with session_scope(engine) as session:
        key = create_api_key(session=session, name=name.strip(), role=chosen)
    typer.echo(f"API key for {name.strip()} ({chosen.value}); store it now, it is not shown again:")
    typer.echo(key)


@users_app.command("create")
def users_create(
    role: Annotated[str, typer.Option(help=ROLE_HELP)],
    username: Annotated[str, typer.Option(help="Login name")],
    password: Annotated[str | None, typer.Option(help="Omit to be prompted")] = None,
) -> None:
    """Create a web UI user (the first admin is created this way)."""
    from scheduler.auth import create_user
    from scheduler.bootstrap import ensure_ready
    from scheduler.db import session_scope

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
app.add_typer(feeds_app, name="feeds")


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
    from scheduler.bootstrap import ensure_ready
    from scheduler.db import session_scope
    from scheduler.feeds import add_feed
    from scheduler.schemas import InvalidInput

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

    from scheduler.bootstrap import ensure_ready
    from scheduler.feeds import list_feeds

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

    from scheduler.bootstrap import ensure_ready
    from scheduler.feeds import FeedNotFound, get_feed, poll_due_feeds, poll_feed

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


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


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

    from scheduler.bootstrap import ensure_ready
    from scheduler.db import session_scope
    from scheduler.deliveries import list_deliveries
    from scheduler.models import utcnow

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
        rows = list_deliveries(session=session, limit=limit, status=status, channel=channel)
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
                new = list_deliveries(
                    session=session,
                    limit=1000,
                    finished_after=since,
                    status=status,
                    channel=channel,
                )
            if new:
                since = max(datetime.fromisoformat(r["finished_at"]) for r in new)
                show(new)
    except KeyboardInterrupt:
        return


@app.command("scheduler")
def scheduler_cmd() -> None:
    """Run the scheduler: dispatcher, reaper and reconciler ticks (any number of replicas)."""
    import signal
    import threading

    from scheduler.bootstrap import ensure_ready
    from scheduler.logs import configure_logging
    from scheduler.ticker import start_ticker
    from workers.celery_app import celery_sender, make_celery

    settings = load_settings()
    configure_logging(level=settings.log_level, json_output=settings.log_json)
    engine = ensure_ready(settings)
    ticker = start_ticker(
        settings=settings, engine=engine, send=celery_sender(make_celery(settings))
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    ticker.shutdown(wait=True)


@app.command("worker", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def worker_cmd(
    ctx: typer.Context,
    queues: Annotated[str, typer.Option(help="Comma-separated queues")] = (
        "format,deliver.x,deliver.instagram,deliver.facebook"
    ),
    concurrency: Annotated[int, typer.Option(min=1, max=512)] = 16,
    pool: Annotated[str, typer.Option(help="threads (I/O-bound, default) or prefork")] = "threads",
) -> None:
    """Run a Celery worker (extra arguments go to celery)."""
    import os

    from scheduler.runner import worker_command

    load_settings()
    cmd = worker_command(concurrency=concurrency, queues=queues, pool=pool) + list(ctx.args)
    os.execv(cmd[0], cmd)  # noqa: S606 - replace this process with the worker


sandbox_app = typer.Typer(
    help="The sandbox platform: a local emulator of X and the Graph API.",
    invoke_without_command=True,
)
app.add_typer(sandbox_app, name="sandbox")


@sandbox_app.callback()
def sandbox_serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(min=1, max=65535)] = None,
) -> None:
    """Serve the sandbox (when no subcommand is given)."""
    if ctx.invoked_subcommand is not None:
        return
    from adapters.sandbox import serve

    settings = load_settings()
    serve(host, port or settings.sandbox_port)


def _sandbox_client(url: str | None) -> Any:
    from adapters.sandbox.client import SandboxClient

    return SandboxClient(url or load_settings().sandbox_url)


@sandbox_app.command("requests")
def sandbox_requests(
    url: Annotated[str | None, typer.Option(help="Sandbox base URL")] = None,
    account: Annotated[str | None, typer.Option()] = None,
    as_json: JsonFlag = False,
) -> None:
    """What the sandbox received (tokens are never recorded)."""
    try:
        data = _sandbox_client(url).requests(**({"account": account} if account else {}))
    except httpx.HTTPError as exc:
        fail(f"the sandbox did not answer: {exc}")
    if as_json:
        emit_json({"requests": data})
        return
    for r in data:
        typer.echo(
            f"{r.get('at')}  {r.get('platform'):<10} {r.get('method')} {r.get('path')} "
            f"-> {r.get('status')} {r.get('fault') or ''}"
        )


@sandbox_app.command("fault")
def sandbox_fault(
    account: Annotated[str, typer.Argument(help="Account id (X user, IG user or FB page)")],
    url: Annotated[str | None, typer.Option(help="Sandbox base URL")] = None,
    latency_ms: Annotated[int | None, typer.Option(min=0, max=60000)] = None,
    error_rate: Annotated[float | None, typer.Option(min=0, max=1)] = None,
    drop_rate: Annotated[float | None, typer.Option(min=0, max=1)] = None,
    rate_limit_seconds: Annotated[int | None, typer.Option(min=0)] = None,
    expired_token: Annotated[bool | None, typer.Option()] = None,
    duplicate: Annotated[bool | None, typer.Option()] = None,
    permanent: Annotated[bool | None, typer.Option()] = None,
    clear: Annotated[bool, typer.Option(help="Clear this account's faults")] = False,
) -> None:
    """Inject (or clear) faults for one sandbox account."""
    client = _sandbox_client(url)
    try:
        if clear:
            client.clear_faults(account)
            typer.echo(f"faults cleared for {account}")
            return
        fields = {
            k: v
            for k, v in dict(
                latency_ms=latency_ms,
                error_rate=error_rate,
                drop_rate=drop_rate,
                rate_limit_seconds=rate_limit_seconds,
                expired_token=expired_token,
                duplicate=duplicate,
                permanent=permanent,
            ).items()
            if v is not None
        }
        emit_json(client.set_fault(account, **fields))
    except httpx.HTTPError as exc:
        fail(f"the sandbox did not answer: {exc}")


@app.command()
def run(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    concurrency: Annotated[int, typer.Option(min=1, max=256)] = 16,
) -> None:
    """Run everything on the embedded defaults: API and UI, scheduler, worker, sandbox."""
    import os

    from scheduler.logs import configure_logging
    from scheduler.runner import run_all

    os.environ.setdefault("NEWSRELAY_PUBLIC_BASE_URL", f"http://{host}:{port}")
    get_settings.cache_clear()
    settings = load_settings()
    configure_logging(level=settings.log_level, json_output=settings.log_json)
    run_all(settings, host=host, port=port, concurrency=concurrency)


@app.command()
def api(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64)] = 1,
) -> None:
    """Serve the HTTP API and web UI."""
    import uvicorn

    from scheduler.bootstrap import ensure_ready
    from scheduler.logs import configure_logging

    settings = load_settings()
    configure_logging(level=settings.log_level, json_output=settings.log_json)
    ensure_ready(settings)
    uvicorn.run(
        "scheduler.api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
    )


@app.command()
def health(
    component: Annotated[
        str, typer.Option(help="all, database, broker, dispatcher or workers")
    ] = "all",
    as_json: JsonFlag = False,
) -> None:
    """Check the pipeline's health; exits 1 when a checked part is down (for health checks)."""
    from scheduler.db import get_engine
    from scheduler.health import readiness

    names = {"all", "database", "broker", "dispatcher", "workers"}
    if component not in names:
        fail(f"unknown component {component!r}; one of {', '.join(sorted(names))}")
    settings = load_settings()
    checks = [c for c in readiness(get_engine(settings), settings) if component in ("all", c.name)]
    if as_json:
        emit_json({"checks": [c.__dict__ for c in checks]})
    else:
        for c in checks:
            typer.echo(f"{'ok  ' if c.ok else 'FAIL'} {c.name}: {c.detail}")
    if not checks or not all(c.ok for c in checks):
        raise typer.Exit(1)


if __name__ == "__main__":
    main()
