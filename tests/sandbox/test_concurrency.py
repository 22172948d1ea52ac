"""Concurrency: parallel creates are recorded exactly once; the CLI entry point stops cleanly."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from adapters.sandbox import SandboxClient, SandboxServer, serve
from tests.sandbox.tokens import graph_token, x_auth


@pytest.fixture
def pool_client(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    """One client shared by the threads (httpx.Client is thread-safe), a connection each."""
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    with httpx.Client(base_url=sandbox.url, timeout=10, limits=limits) as client:
        yield client


def test_fifty_parallel_creates_are_all_recorded_exactly_once(
    sandbox: SandboxServer, admin: SandboxClient, pool_client: httpx.Client
) -> None:
    def create(n: int) -> int:
        if n % 2:
            return pool_client.post(
                "/2/tweets", json={"text": f"post {n}"}, headers=x_auth(f"u{n % 5}")
            ).status_code
        return pool_client.post(
            f"/v26.0/p{n % 5}/feed", data={"message": f"post {n}", **graph_token(f"p{n % 5}")}
        ).status_code

    with ThreadPoolExecutor(max_workers=50) as pool:
        codes = list(pool.map(create, range(50)))

    texts = sorted(p["text"] for p in admin.posts())
    assert sorted(codes) == [200] * 25 + [201] * 25
    assert texts == sorted(f"post {n}" for n in range(50))
    assert len(admin.requests(kind="create")) == 50


def test_concurrent_identical_x_creates_make_exactly_one_post(
    admin: SandboxClient, pool_client: httpx.Client
) -> None:
    def create(_: int) -> int:
        return pool_client.post(
            "/2/tweets", json={"text": "race"}, headers=x_auth("42")
        ).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        codes = list(pool.map(create, range(20)))

    assert sorted(codes) == [201] + [403] * 19
    assert len(admin.posts(platform="x")) == 1


def test_latency_does_not_serialise_requests(
    admin: SandboxClient, pool_client: httpx.Client
) -> None:
    admin.set_fault(None, latency_ms=200)

    def create(n: int) -> int:
        return pool_client.post(
            "/2/tweets", json={"text": f"t{n}"}, headers=x_auth("42")
        ).status_code

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=20) as pool:
        codes = list(pool.map(create, range(20)))
    elapsed = time.monotonic() - started

    assert codes == [201] * 20
    assert elapsed < 1.5


def test_serve_runs_until_sigterm_and_returns_cleanly() -> None:
    # serve() installs its signal handlers, so it must run in the main thread; a helper thread
    # waits until it answers (handlers are installed by then) and sends this process SIGTERM.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    answered: list[bool] = []

    def stop_when_up() -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                answered.append(
                    httpx.get(f"http://127.0.0.1:{port}/_sandbox/health").json() == {"ok": True}
                )
                break
            except httpx.TransportError:
                time.sleep(0.02)
        os.kill(os.getpid(), signal.SIGTERM)

    previous = signal.getsignal(signal.SIGTERM)
    helper = threading.Thread(target=stop_when_up)
    helper.start()
    started = time.monotonic()
    serve("127.0.0.1", port)
    helper.join()

    assert answered == [True]
    assert time.monotonic() - started < 5
    assert signal.getsignal(signal.SIGTERM) is previous
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/_sandbox/health")
