"""``newsrelay channels``: the publisher's accounts (credentials are never shown)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from scheduler.cli.common import JsonFlag, emit_json, fail, load_settings

channels_app = typer.Typer(help="Channels: the publisher's accounts.", no_args_is_help=True)


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


# --- newsrelay channels connect ------------------------------------------------------------------
POLL_SECONDS = 1.0
FINAL = frozenset({"done", "failed", "expired"})


class _Api:
    """The running service's connect API, with an admin key."""

    def __init__(self, client: Any, base: str, key: str) -> None:
        self.client, self.base, self.headers = client, base, {"Authorization": f"Bearer {key}"}

    def call(self, method: str, path: str, body: Any = None, want: int = 200) -> Any:
        import httpx

        try:
            response = self.client.request(
                method, f"{self.base}/api/v1{path}", json=body, headers=self.headers
            )
        except httpx.HTTPError as exc:
            fail(f"cannot reach the service at {self.base}: {type(exc).__name__}")
        if response.status_code != want:
            try:
                detail = response.json().get("detail") or response.text
            except ValueError:
                detail = response.text[:300]
            fail(f"{method} {path}: HTTP {response.status_code}: {detail}")
        return response.json()


def _picks(view: dict[str, Any], pages: str | None, instagram: str | None, all_: bool) -> Any:
    if all_:
        return {
            "pages": [c["id"] for c in view["choices"]],
            "instagram": [c["instagram"]["id"] for c in view["choices"] if c["instagram"]],
        }
    return {"pages": _split(pages), "instagram": _split(instagram)}


def _split(text: str | None) -> list[str]:
    return [p.strip() for p in (text or "").split(",") if p.strip()]


def _wait(api: _Api, platform: str, cid: str, deadline: float, picks: Any) -> dict[str, Any]:
    import time

    shown = False
    while time.monotonic() < deadline:
        view: dict[str, Any] = api.call("GET", f"/admin/channels/connect/{platform}/{cid}")
        if view["status"] in FINAL:
            return view
        if view["status"] == "choosing" and picks is not None:
            api.call("POST", f"/admin/channels/connect/meta/{cid}", picks)
            continue
        if view["status"] == "choosing" and not shown:
            shown = True
            typer.echo(f"Pick the Pages at {api.base}/channels/connect/meta/{cid}, or rerun")
            typer.echo("with --pages/--instagram/--all. Offered:")
            for c in view["choices"]:
                ig = c["instagram"]
                typer.echo(
                    f"  Page {c['id']} {c['name']}" + (f", Instagram {ig['id']}" if ig else "")
                )
        time.sleep(POLL_SECONDS)
    fail("gave up waiting for the callback; start again (the link works for 10 minutes)")


@channels_app.command("connect")
def channels_connect(
    platform: Annotated[str, typer.Argument(help="x, or meta (Facebook Pages and Instagram)")],
    api_url: Annotated[
        str | None, typer.Option(help="The running service (default: the public base URL)")
    ] = None,
    api_key: Annotated[
        str | None, typer.Option(envvar="NEWSRELAY_API_KEY", help="An admin API key")
    ] = None,
    channel: Annotated[str | None, typer.Option(help="Reconnect this channel (its id)")] = None,
    pages: Annotated[str | None, typer.Option(help="Meta: Page ids, comma-separated")] = None,
    instagram: Annotated[
        str | None, typer.Option(help="Meta: Instagram account ids, comma-separated")
    ] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Meta: every Page and linked Instagram account")
    ] = False,
    timeout: Annotated[int, typer.Option(min=5, max=3600, help="Seconds to wait")] = 600,
) -> None:
    """Print the authorize URL, wait for the callback on the running service, print the channels.

    For headless servers: open the URL in any browser; the platform redirects to the service's
    /oauth/callback, and this command sees the connection complete.
    """
    import time

    import httpx

    if platform not in ("x", "meta"):
        fail(f"unknown platform {platform!r}; x or meta")
    if not api_key:
        fail("an admin API key is needed: --api-key or NEWSRELAY_API_KEY")
    base = (api_url or load_settings().public_base_url).rstrip("/")
    choose = _picks({"choices": []}, pages, instagram, False) if (pages or instagram) else None
    try:
        with httpx.Client(timeout=httpx.Timeout(15.0)) as client:
            api = _Api(client, base, api_key)
            body = {"channel_id": channel} if channel else None
            started = api.call("POST", f"/admin/channels/connect/{platform}", body, want=201)
            typer.echo("Open this URL in a browser signed in to the account to connect")
            typer.echo(f"(it works once, until {started['expires_at']}):")
            typer.echo(started["authorize_url"])
            cid = started["connection_id"]
            deadline = time.monotonic() + timeout
            if all_:
                view = _wait_choosing(api, cid, deadline)
                choose = _picks(view, None, None, True) if view["status"] == "choosing" else None
            view = _wait(api, platform, cid, deadline, choose)
            _report(api, view)
    except KeyboardInterrupt:
        typer.echo("\nStopped waiting; nothing more is done here (the link expires by itself).")
        raise typer.Exit(130) from None


def _wait_choosing(api: _Api, cid: str, deadline: float) -> dict[str, Any]:
    import time

    while time.monotonic() < deadline:
        view: dict[str, Any] = api.call("GET", f"/admin/channels/connect/meta/{cid}")
        if view["status"] == "choosing" or view["status"] in FINAL:
            return view
        time.sleep(POLL_SECONDS)
    fail("gave up waiting for the callback; start again (the link works for 10 minutes)")


def _report(api: _Api, view: dict[str, Any]) -> None:
    if view["status"] != "done":
        fail(f"not connected ({view['status']}): {view.get('error') or 'the link expired'}")
    listed = api.call("GET", "/admin/channels")["channels"]
    for c in listed:
        if c["id"] in view["channel_ids"]:
            typer.echo(
                f"connected: {c['name']} ({c['platform']} account {c['account_id']}) {c['id']}"
            )


def register(app: typer.Typer) -> None:
    """Attach the channels command group to the ``newsrelay`` app."""
    app.add_typer(channels_app, name="channels")
