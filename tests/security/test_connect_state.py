"""The callback's ``state``: a replayed, foreign or expired state, or the admin declining at the
platform, gets a clear 400 page and stores nothing; and no token, code or secret reaches a
log line (with httpx's own request log at INFO), a response or the audit trail."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from adapters.sandbox import SandboxServer
from config.settings import SANDBOX_META_APP_SECRET, SANDBOX_X_CLIENT_SECRET
from scheduler.access.oauth_models import OAuthConnection
from scheduler.db.engine import session_scope
from scheduler.models import AuditEvent, Role, utcnow
from scheduler.runtime.logs import configure_logging
from tests.api.conftest import ApiHarness
from tests.api.connect_support import (
    audit,
    callback_query,
    channels,
    client_for,
    connect_api,
    connection,
    consent,
    sandbox,
    sandbox_login,
    sandbox_server,
    start,
    status,
    tokens_of,
)
from tests.security.webclient import make_user, sign_in

__all__ = ["connect_api", "sandbox", "sandbox_server"]  # fixtures
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _stored(api: ApiHarness) -> tuple[int, int]:
    return len(channels(api)), len(audit(api))


def test_a_replayed_callback_is_refused_and_stores_nothing(
    connect_api: ApiHarness, sandbox: SandboxServer
) -> None:
    api = connect_api
    sandbox_login(sandbox, "x", "1700000000000000555")
    callback = consent(start(api, "x")["authorize_url"])
    assert api.client.get(callback).status_code == 200
    before = _stored(api)

    replay = api.client.get(callback)

    assert replay.status_code == 400
    assert "already used" in replay.text
    assert _stored(api) == before


def test_an_expired_or_unknown_state_is_refused(connect_api: ApiHarness) -> None:
    api = connect_api
    started = start(api, "x")
    callback = consent(started["authorize_url"])
    with session_scope(api.engine) as s:
        row = s.get(OAuthConnection, connection(api, started["connection_id"]).id)
        assert row is not None
        row.expires_at = utcnow() - timedelta(seconds=1)
    before = _stored(api)

    expired = api.client.get(callback)
    forged = api.client.get("/oauth/callback/x?code=abc&state=not-one-we-issued")
    wrong_platform = api.client.get(callback.replace("/callback/x", "/callback/meta"))

    assert expired.status_code == 400 and "expired" in expired.text
    assert forged.status_code == 400 and "not one newsrelay issued" in forged.text
    assert wrong_platform.status_code == 400
    assert status(api, "x", started["connection_id"])["status"] == "expired"
    assert _stored(api) == before
    # The next connection closes it: its PKCE verifier is not kept past the deadline.
    assert connection(api, started["connection_id"]).secrets_encrypted != ""
    start(api, "x")
    assert connection(api, started["connection_id"]).secrets_encrypted == ""
    assert status(api, "x", started["connection_id"])["status"] == "failed"


def test_access_denied_at_the_platform_is_a_clear_page_and_spends_the_state(
    connect_api: ApiHarness,
) -> None:
    api = connect_api
    started = start(api, "meta")
    state = callback_query(consent(started["authorize_url"]))["state"]
    before = _stored(api)

    denied = api.client.get(f"/oauth/callback/meta?error=access_denied&state={state}")

    assert denied.status_code == 400
    assert "You declined the authorization on Facebook" in denied.text
    assert status(api, "meta", started["connection_id"])["status"] == "failed"
    assert _stored(api) == before
    assert api.client.get(f"/oauth/callback/meta?code=x&state={state}").status_code == 400


def _web_admin(api: ApiHarness, name: str) -> TestClient:
    make_user(api.engine, name, Role.ADMIN)
    browser = client_for(api)
    assert sign_in(browser, name).status_code == 303
    return browser


def test_a_state_started_in_the_web_ui_belongs_to_that_admin(
    connect_api: ApiHarness, sandbox: SandboxServer
) -> None:
    api = connect_api
    alice, bob = _web_admin(api, "alice"), _web_admin(api, "bob")
    sandbox_login(sandbox, "x", "1700000000000000556")
    page = alice.get("/channels")
    found = _CSRF.search(page.text)
    assert page.status_code == 200 and found
    to_x = alice.post(
        "/channels/connect/x", data={"csrf_token": found.group(1)}, follow_redirects=False
    )
    assert to_x.status_code == 303
    callback = consent(to_x.headers["location"])
    before = _stored(api)

    foreign = bob.get(callback)
    anonymous = client_for(api).get(callback)

    assert foreign.status_code == 400 and "another admin" in foreign.text
    assert anonymous.status_code == 400 and "sign in as the admin" in anonymous.text
    assert _stored(api) == before
    own = alice.get(callback, follow_redirects=False)
    assert own.status_code == 303 and own.headers["location"] == "/channels"
    assert "X @sandbox_1700000000000000556" in alice.get("/channels").text


@pytest.fixture
def service_log() -> Iterator[io.StringIO]:
    """The service's own log configuration (JSON, scrubbed), with httpx's request log at INFO
    so that the URLs it would log are checked too; restored afterwards."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    configure_logging(level="DEBUG", json_output=True)
    logging.getLogger("httpx").setLevel(logging.INFO)
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(root.handlers[0].formatter)
    root.addHandler(handler)
    yield buffer
    root.handlers[:], _ = saved[0], root.setLevel(saved[1])
    logging.getLogger("httpx").setLevel(logging.WARNING)


def callback_state(started: dict[str, str]) -> str:
    return callback_query("/?" + started["authorize_url"].split("?", 1)[1])["state"]


def test_no_token_code_or_secret_in_logs_responses_or_audit(
    connect_api: ApiHarness, sandbox: SandboxServer, service_log: io.StringIO
) -> None:
    api = connect_api
    sandbox_login(sandbox, "x", "1700000000000000557")
    bodies, secrets = [], [SANDBOX_X_CLIENT_SECRET, SANDBOX_META_APP_SECRET]
    for platform in ("x", "meta"):
        started = start(api, platform)
        # The authorize URL carries the state by design (it is what the platform sends back).
        bodies.append(json.dumps(started).replace(callback_state(started), ""))
        callback = consent(started["authorize_url"])
        query = callback_query(callback)
        secrets += [query["code"], query["state"]]
        bodies.append(api.client.get(callback).text)
        bodies.append(api.client.get(callback).text)  # the refused replay too
        view = api.client.get(
            f"/api/v1/admin/channels/connect/{platform}/{started['connection_id']}",
            headers=api.headers("admin"),
        )
        bodies.append(view.text)
    chosen = api.client.post(
        f"/api/v1/admin/channels/connect/meta/{started['connection_id']}",
        json={"pages": ["100000000000001", "100000000000002"], "instagram": ["17841400000000001"]},
        headers=api.headers("admin"),
    )
    bodies.append(chosen.text)
    bodies.append(api.client.get("/api/v1/admin/channels", headers=api.headers("admin")).text)
    for channel in channels(api).values():
        secrets += [v for v in tokens_of(api, channel).values() if not v.startswith("sandbox-")]
    with Session(api.engine) as s:
        trail = json.dumps([e.model_dump(mode="json") for e in s.exec(select(AuditEvent))])
    logged = service_log.getvalue()

    assert "oauth_connected" in logged and "HTTP Request" in logged  # the logs were captured
    assert len(secrets) >= 10
    for secret in secrets:
        assert secret not in logged
        assert secret not in trail
        assert [b for b in bodies if secret in b] == [], secret[:6]
