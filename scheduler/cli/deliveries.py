"""``newsrelay deliveries``: the delivery log, once or followed."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

import typer

from adapters.base import PLATFORMS
from scheduler.cli.common import JsonFlag, emit_json, fail, load_settings


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


def register(app: typer.Typer) -> None:
    """Attach the ``deliveries`` command to the ``newsrelay`` app."""
    app.command()(deliveries)
