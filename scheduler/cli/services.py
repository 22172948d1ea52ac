"""``newsrelay scheduler|worker|sandbox|run|api|health``: the long-running parts, their checks."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
import typer

from config import get_settings
from scheduler.cli.common import JsonFlag, emit_json, fail, load_settings


def scheduler_cmd() -> None:
    """Run the scheduler: dispatcher, reaper and reconciler ticks (any number of replicas)."""
    import signal
    import threading

    from scheduler.runtime.bootstrap import ensure_ready
    from scheduler.runtime.logs import configure_logging
    from scheduler.runtime.ticker import start_ticker
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

    from scheduler.runtime.runner import worker_command

    load_settings()
    cmd = worker_command(concurrency=concurrency, queues=queues, pool=pool) + list(ctx.args)
    os.execv(cmd[0], cmd)  # noqa: S606 - replace this process with the worker


sandbox_app = typer.Typer(
    help="The sandbox platform: a local emulator of X and the Graph API.",
    invoke_without_command=True,
)


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


def run(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    concurrency: Annotated[int, typer.Option(min=1, max=256)] = 16,
) -> None:
    """Run everything on the embedded defaults: API and UI, scheduler, worker, sandbox."""
    import os

    from scheduler.runtime.logs import configure_logging
    from scheduler.runtime.runner import run_all

    os.environ.setdefault("NEWSRELAY_PUBLIC_BASE_URL", f"http://{host}:{port}")
    get_settings.cache_clear()
    settings = load_settings()
    configure_logging(level=settings.log_level, json_output=settings.log_json)
    run_all(settings, host=host, port=port, concurrency=concurrency)


def api(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64)] = 1,
) -> None:
    """Serve the HTTP API and web UI."""
    import uvicorn

    from scheduler.runtime.bootstrap import ensure_ready
    from scheduler.runtime.logs import configure_logging

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


def health(
    component: Annotated[
        str, typer.Option(help="all, database, broker, dispatcher or workers")
    ] = "all",
    as_json: JsonFlag = False,
) -> None:
    """Check the pipeline's health; exits 1 when a checked part is down (for health checks)."""
    from scheduler.db.engine import get_engine
    from scheduler.ops.health import readiness

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


def register(app: typer.Typer) -> None:
    """Attach the long-running commands and the sandbox group to the ``newsrelay`` app."""
    app.command("scheduler")(scheduler_cmd)
    app.command(
        "worker", context_settings={"allow_extra_args": True, "ignore_unknown_options": True}
    )(worker_cmd)
    app.command()(run)
    app.command()(api)
    app.command()(health)
    app.add_typer(sandbox_app, name="sandbox")
