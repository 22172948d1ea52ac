"""Admin endpoints: the request log (never a token), posts, reset, health."""

from __future__ import annotations

import json

import httpx

from adapters.sandbox import SandboxClient, SandboxServer, sandbox_token
from tests.sandbox.tokens import graph_token, x_auth


def test_request_log_never_contains_tokens(
    http: httpx.Client, sandbox: SandboxServer, admin: SandboxClient
) -> None:
    http.post("/2/tweets", json={"text": "hi"}, headers=x_auth("42"))
    http.post("/v26.0/77/feed", data={"message": "m", **graph_token("77")})
    http.post("/v26.0/77/feed", params={"message": "n", **graph_token("77")})
    http.get("/v26.0/77/feed", headers={"Authorization": f"Bearer {sandbox_token('77')}"})

    raw = http.get("/_sandbox/requests").text

    assert len(json.loads(raw)["requests"]) == 4
    assert "sandbox-token" not in raw
    assert "access_token" not in raw
    assert "Bearer" not in raw


def test_request_log_records_what_was_sent_and_filters(
    http: httpx.Client, admin: SandboxClient
) -> None:
    http.post("/2/tweets", json={"text": "hello"}, headers=x_auth("42"))
    http.post("/2/tweets", json={"text": "hello"}, headers=x_auth("42"))
    http.get("/2/users/42/tweets", headers=x_auth("42"))
    http.post("/v26.0/77/feed", data={"message": "m", **graph_token("77")})

    creates = admin.requests(account="42", kind="create")
    facebook = admin.requests(platform="facebook")

    assert [(r["status"], r["text"]) for r in creates] == [(201, "hello"), (403, "hello")]
    assert creates[0]["created_id"] and creates[1]["created_id"] is None
    assert creates[0]["path"] == "/2/tweets" and creates[0]["method"] == "POST"
    assert facebook[0]["message"] == "m" and facebook[0]["account"] == "77"


def test_reset_forgets_posts_requests_and_faults(http: httpx.Client, admin: SandboxClient) -> None:
    http.post("/2/tweets", json={"text": "hello"}, headers=x_auth("42"))
    admin.set_fault("42", error_rate=1.0)

    admin.reset()

    assert admin.posts() == [] and admin.requests() == [] and admin.faults() == []


def test_health_and_unknown_admin_path(http: httpx.Client, admin: SandboxClient) -> None:
    assert admin.health() is True
    assert http.get("/_sandbox/nope").status_code == 404


def test_stopped_sandbox_stops_answering() -> None:
    server = SandboxServer()
    server.start()
    url = server.url
    with httpx.Client(base_url=url) as client:
        assert client.get("/_sandbox/health").status_code == 200
        server.stop()
        try:
            client.get("/_sandbox/health")
        except httpx.TransportError:
            return
    raise AssertionError("the stopped sandbox still answered")
