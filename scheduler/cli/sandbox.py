"""``newsrelay sandbox``: serve the platform emulator, read what it received, inject faults."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
import typer

from scheduler.cli.common import JsonFlag, emit_json, fail, load_settings

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
    serve(
        host,
        port or settings.sandbox_port,
        token_ttl_seconds=settings.sandbox_token_ttl_seconds,
    )


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


def register(app: typer.Typer) -> None:
    """Attach the sandbox command group to the ``newsrelay`` app."""
    app.add_typer(sandbox_app, name="sandbox")
