"""The connect flow end to end: the real app (TestClient) talking to a real sandbox server over
HTTP for every platform call, and the consent step played by following the sandbox's
authorize redirect, as a browser would."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from adapters.sandbox import SandboxServer
from scheduler.access.oauth_models import OAuthConnection
from scheduler.channels import channel_credentials
from scheduler.models import AuditEvent, Channel
from tests.api.conftest import ApiHarness, build_harness


@pytest.fixture(scope="module")
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
def connect_api(tmp_path: Path, db_url: str, sandbox: SandboxServer) -> Iterator[ApiHarness]:
    """The API whose X and Meta hosts (API, authorize, Login dialog) are the sandbox."""
    yield from build_harness(tmp_path, db_url, sandbox_port=sandbox.port)


def sandbox_login(sandbox: SandboxServer, platform: str, user: str) -> None:
    """Pick the platform user who approves the next authorizations."""
    httpx.post(
        f"{sandbox.url}/_sandbox/oauth/login", json={"platform": platform, "user": user}
    ).raise_for_status()


def start(api: ApiHarness, platform: str, **body: Any) -> dict[str, Any]:
    response = api.client.post(
        f"/api/v1/admin/channels/connect/{platform}",
        json=body or None,
        headers=api.headers("admin"),
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


def consent(authorize_url: str) -> str:
    """Open the authorize URL (the sandbox approves at once); the callback path and query."""
    response = httpx.get(authorize_url, follow_redirects=False)
    assert response.status_code == 302, response.text
    parts = urlsplit(response.headers["location"])
    assert parts.path.startswith("/oauth/callback/")
    return f"{parts.path}?{parts.query}"


def callback_query(callback: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(callback).query))


def status(api: ApiHarness, platform: str, connection_id: str) -> dict[str, Any]:
    response = api.client.get(
        f"/api/v1/admin/channels/connect/{platform}/{connection_id}", headers=api.headers("admin")
    )
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def channels(api: ApiHarness) -> dict[tuple[str, str], Channel]:
    with Session(api.engine) as s:
        return {(str(c.platform), c.account_id): c for c in s.exec(select(Channel)).all()}


def audit(api: ApiHarness, *actions: str) -> list[AuditEvent]:
    with Session(api.engine) as s:
        query = select(AuditEvent).order_by(col(AuditEvent.at))
        if actions:
            query = query.where(col(AuditEvent.action).in_(actions))
        return list(s.exec(query).all())


def connection(api: ApiHarness, connection_id: str) -> OAuthConnection:
    with Session(api.engine) as s:
        row = s.exec(
            select(OAuthConnection).where(col(OAuthConnection.id) == uuid.UUID(connection_id))
        ).one()
        return row


def tokens_of(api: ApiHarness, channel: Channel) -> dict[str, str]:
    return channel_credentials(channel, settings=api.settings)


def client_for(api: ApiHarness) -> TestClient:
    """A second browser on the same app (its own cookie jar)."""
    return TestClient(api.client.app, raise_server_exceptions=False)
