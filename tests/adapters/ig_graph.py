"""A scripted Graph API for the Instagram adapter's tests, with the ids and answers they use."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import httpx

from adapters.base import MediaItem, Payload
from adapters.errors import (
    DeliveryError,
)
from adapters.instagram import InstagramAdapter

LEAK_MARKER = "IGQVJ-instagram-token-NEVER-IN-MESSAGES-9c1"
CREDENTIALS = {"access_token": LEAK_MARKER}
BASE = "https://graph.facebook.com"
VERSION = "v26.0"
IG_USER = "17841400000000001"
CONTAINER = "17889455560051444"
MEDIA = "17899702154554435"
IMAGE_URL = "https://media.example.pk/cards/dar-istanbul.jpg"
CAPTION = "Dar meets Fidan in Istanbul for Gaza talks. Link in bio. #Pakistan #Gaza"

Route = Callable[[httpx.Request], httpx.Response]


class FakeGraph:
    """A scripted Graph API: per (method, path) a list of responses served in order."""

    def __init__(self, routes: dict[tuple[str, str], list[httpx.Response | Route]]) -> None:
        self.routes = routes
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        path = request.url.path.removeprefix(f"/{VERSION}/")
        queue = self.routes.get((request.method, path))
        if not queue:
            return httpx.Response(
                400, json={"error": {"message": f"no route {request.method} {path}", "code": 100}}
            )
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        return item(request) if callable(item) else item

    def calls(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.seen if r.method == method and r.url.path == f"/{VERSION}/{path}"]


def make_adapter(graph: FakeGraph, *, attempts: int = 5) -> tuple[InstagramAdapter, list[float]]:
    client = httpx.Client(transport=httpx.MockTransport(graph), timeout=httpx.Timeout(5.0))
    adapter = InstagramAdapter(
        client=client, base_url=BASE, api_version=VERSION, poll_interval=2.5, poll_attempts=attempts
    )
    slept: list[float] = []
    adapter.sleep = slept.append
    return adapter, slept


def payload() -> Payload:
    media = MediaItem(url=IMAGE_URL, path="media/cards/dar-istanbul.jpg", width=1080, height=1350)
    return Payload(channel="instagram", text=CAPTION, media=[media])


def ok(body: dict[str, Any], **headers: str) -> httpx.Response:
    return httpx.Response(200, json=body, headers=headers)


def status(code: str, text: str | None = None) -> httpx.Response:
    body: dict[str, Any] = {"status_code": code, "id": CONTAINER}
    if text:
        body["status"] = text
    return ok(body)


def graph_error(code: int, subcode: int | None = None, message: str = "error") -> dict[str, Any]:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    return {"error": error}


def form(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


def assert_no_secret(exc: DeliveryError) -> None:
    assert LEAK_MARKER not in str(exc) and LEAK_MARKER not in exc.message


def happy_routes() -> dict[tuple[str, str], list[httpx.Response | Route]]:
    return {
        ("POST", f"{IG_USER}/media"): [ok({"id": CONTAINER})],
        ("GET", CONTAINER): [status("FINISHED")],
        ("POST", f"{IG_USER}/media_publish"): [
            ok({"id": MEDIA}, **{"X-App-Usage": '{"call_count":3,"total_time":1}'})
        ],
        ("GET", MEDIA): [ok({"permalink": "https://www.instagram.com/p/DAbc123/", "id": MEDIA})],
    }
