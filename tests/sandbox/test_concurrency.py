"""Concurrency: parallel creates are recorded exactly once; the CLI entry point stops cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from adapters.sandbox import SandboxClient, SandboxServer
from tests.sandbox.tokens import graph_token, x_auth

ROOT = Path(__file__).resolve().parents[2]


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


def test_serve_runs_until_sigterm_and_exits_cleanly() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code = f"from adapters.sandbox import serve; serve('127.0.0.1', {port})"
    process = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env={**os.environ})
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/_sandbox/health").json() == {"ok": True}:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0
    finally:
        if process.poll() is None:
            process.kill()
