"""The API takes API keys only: a signed-in browser's session cookie authorizes no API call,
neither a read nor a change, not even with the session's CSRF token (README, "HTTP API")."""

from __future__ import annotations

from sqlmodel import Session

from scheduler.models import Role
from scheduler.ops.state import global_pause
from tests.api.conftest import ApiHarness
from tests.security.webclient import csrf_token, make_user, sign_in, signed_in


def test_a_web_session_cookie_does_not_authorize_the_api(api: ApiHarness) -> None:
    make_user(api.engine, "olga", Role.ADMIN)
    assert sign_in(api.client, "olga").status_code == 303
    assert signed_in(api.client)
    token = csrf_token(api.client, "/")

    read = api.client.get("/api/v1/posts")
    assert read.status_code == 401, read.text
    assert read.headers["content-type"] == "application/problem+json"
    assert "does not authorize the API" in read.json()["detail"]

    for headers in ({}, {"X-CSRF-Token": token}):
        change = api.client.post("/api/v1/pause", json={"reason": "cookie"}, headers=headers)
        assert change.status_code == 401, change.text
    with Session(api.engine) as s:
        assert global_pause(session=s) is None

    # The same browser with a key is an ordinary API client.
    assert api.client.get("/api/v1/posts", headers=api.headers("editor")).status_code == 200
