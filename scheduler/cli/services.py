"""``newsrelay scheduler|worker|run|api|health``: the long-running parts, their checks."""

from __future__ import annotations

from typing import Annotated

import typer

from config import get_settings
from scheduler.cli.common import JsonFlag, emit_json, fail, load_settings


def scheduler_cmd() -> None:
    """Run the scheduler: dispatcher, reaper and reconciler ticks (any number of replicas)."""
    import os
    import signal
    import threading

    from scheduler.runtime.bootstrap import ensure_ready
    from scheduler.runtime.logs import configure_logging
    from scheduler.runtime.ticker import start_ticker
    from workers.celery_app import celery_sender, make_celery

    # First, so that a SIGTERM during start-up (migrations, broker connection) is an orderly
    # stop rather than a kill.
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    settings = load_settings()
    configure_logging(level=settings.log_level, json_output=settings.log_json)
    engine = ensure_ready(settings)
    if stop.is_set():
        return
    ticker = start_ticker(
        settings=settings, engine=engine, send=celery_sender(make_celery(settings))
    )
    typer.echo(f"newsrelay scheduler running (pid {os.getpid()}); SIGTERM stops it", err=True)
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
    """Attach the long-running commands to the ``newsrelay`` app."""
    app.command("scheduler")(scheduler_cmd)
    app.command(
        "worker", context_settings={"allow_extra_args": True, "ignore_unknown_options": True}
    )(worker_cmd)
    app.command()(run)
    app.command()(api)
    app.command()(health)
