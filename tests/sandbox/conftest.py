"""A real sandbox server on a loopback port, shared by the module and reset before each test."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from adapters.sandbox import SandboxClient, SandboxServer


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    server = SandboxServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> SandboxServer:
    sandbox_server.state.reset()
    return sandbox_server


@pytest.fixture
def http(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url, timeout=httpx.Timeout(10.0)) as client:
        yield client


@pytest.fixture
def admin(sandbox: SandboxServer, http: httpx.Client) -> SandboxClient:
    return SandboxClient(sandbox.url, client=http)
