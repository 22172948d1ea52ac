"""What the X adapter tests share: the token that must never leak, a mocked adapter, a payload."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from adapters.base import Payload
from adapters.errors import (
    DeliveryError,
)
from adapters.x import XAdapter

LEAK_MARKER = "x-user-token-SHOULD-NEVER-APPEAR-7f3a"
CREDENTIALS = {"access_token": LEAK_MARKER}
BASE = "https://api.x.com"
TEXT = "Dar meets Fidan in Istanbul for Gaza talks https://example.pk/news/dar-istanbul #Pakistan"

Handler = Callable[[httpx.Request], httpx.Response]


def make_adapter(handler: Handler, seen: list[httpx.Request] | None = None) -> XAdapter:
    def record(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return handler(request)

    client = httpx.Client(transport=httpx.MockTransport(record), timeout=httpx.Timeout(5.0))
    return XAdapter(client=client, base_url=BASE)


def payload(text: str = TEXT) -> Payload:
    return Payload(channel="x", text=text, link="https://example.pk/news/dar-istanbul")


def assert_no_secret(exc: DeliveryError) -> None:
    assert LEAK_MARKER not in str(exc)
    assert LEAK_MARKER not in exc.message
    assert LEAK_MARKER not in repr(exc.args)
