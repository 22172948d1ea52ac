"""Signing in to the real app through its login form (no shortcut into the session store)."""

from __future__ import annotations

import re

import httpx
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from scheduler.access.auth import create_user
from scheduler.db.engine import session_scope
from scheduler.models import Role

PASSWORD = "correct-horse-battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_user(engine: Engine, username: str, role: Role = Role.EDITOR) -> None:
    with session_scope(engine) as s:
        create_user(session=s, username=username, password=PASSWORD, role=role, actor="test")


def csrf_token(client: TestClient, path: str = "/login") -> str:
    """The CSRF token of this client's session, as a page's forms carry it."""
    found = _CSRF.search(client.get(path, follow_redirects=False).text)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> httpx.Response:
    """Submit the login form; the answer unfollowed (303 on success)."""
    form = {"csrf_token": csrf_token(client), "username": username, "password": password}
    return client.post("/login", data=form, follow_redirects=False)


def signed_in(client: TestClient) -> bool:
    """Whether the queue page opens (a signed-out browser is sent to /login)."""
    response = client.get("/", follow_redirects=False)
    assert response.status_code in (200, 303), response.text
    return response.status_code == 200
