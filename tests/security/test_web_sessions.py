"""Web sessions live on the server: signing out, disabling the user or changing the password
ends a session at once, even for a copy of the cookie taken before; expired sessions are
refused and pruned."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from scheduler.access.auth import set_user_disabled, set_user_password
from scheduler.access.sessions import session_key, session_principal
from scheduler.db.engine import session_scope
from scheduler.models import AuditEvent, User, WebSession, utcnow
from scheduler.web.session import COOKIE_NAME, SessionSigner
from tests.api.conftest import ApiHarness, build_harness
from tests.security.webclient import PASSWORD, csrf_token, make_user, sign_in, signed_in


@pytest.fixture
def web(tmp_path: Path, db_url: str) -> Iterator[ApiHarness]:
    """The app on a fresh database (SQLite and PostgreSQL) with an editor and an ops user."""
    for harness in build_harness(tmp_path, db_url):
        make_user(harness.engine, "alice")
        make_user(harness.engine, "bob")
        yield harness


def _browser(web: ApiHarness, cookie: str) -> TestClient:
    """Another browser holding a copy of a session cookie."""
    client = TestClient(web.client.app)
    client.cookies.set(COOKIE_NAME, cookie)
    return client


def _sessions(web: ApiHarness) -> list[WebSession]:
    with Session(web.engine) as s:
        return list(s.exec(select(WebSession)).all())


def test_sign_out_ends_the_session_for_a_copied_cookie_too(web: ApiHarness) -> None:
    assert sign_in(web.client, "alice").status_code == 303
    copied = web.client.cookies[COOKIE_NAME]
    thief = _browser(web, copied)
    assert signed_in(thief)
    # The cookie names no user: only an opaque session id whose hash keys the row.
    assert len(_sessions(web)) == 1
    assert "alice" not in copied

    token = csrf_token(web.client, "/")
    out = web.client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303
    assert not signed_in(web.client)
    assert not signed_in(thief), "a cookie copied before sign-out still works"
    assert _sessions(web) == []


def test_signing_in_again_ends_the_previous_session(web: ApiHarness) -> None:
    assert sign_in(web.client, "alice").status_code == 303
    first = web.client.cookies[COOKIE_NAME]
    assert sign_in(web.client, "bob").status_code == 303
    assert not signed_in(_browser(web, first))
    assert len(_sessions(web)) == 1


def test_changing_the_password_ends_every_session_of_that_user_only(web: ApiHarness) -> None:
    alice, bob = web.client, TestClient(web.client.app)
    sign_in(alice, "alice")
    sign_in(bob, "bob")
    with session_scope(web.engine) as s:
        set_user_password(session=s, username="alice", password="a-new-long-one", actor="cli")
    assert not signed_in(alice)
    assert signed_in(bob)
    assert sign_in(alice, "alice", PASSWORD).status_code == 401
    assert sign_in(alice, "alice", "a-new-long-one").status_code == 303
    with Session(web.engine) as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "user.password")).one()
    assert event.after == {"username": "alice", "sessions_ended": 1}
    assert "a-new-long-one" not in str(event.model_dump())


def test_revoking_a_user_ends_their_sessions_for_good(web: ApiHarness) -> None:
    assert sign_in(web.client, "alice").status_code == 303
    copied = web.client.cookies[COOKIE_NAME]
    with session_scope(web.engine) as s:
        set_user_disabled(session=s, username="alice", disabled=True, actor="cli")
    assert not signed_in(_browser(web, copied))
    # Enabling the account again does not bring an old session back.
    with session_scope(web.engine) as s:
        set_user_disabled(session=s, username="alice", disabled=False, actor="cli")
    assert not signed_in(_browser(web, copied))
    assert sign_in(TestClient(web.client.app), "alice").status_code == 303


def test_unknown_user_is_a_clear_error(web: ApiHarness) -> None:
    with session_scope(web.engine) as s, pytest.raises(ValueError, match="no user 'carol'"):
        set_user_disabled(session=s, username="carol", disabled=True, actor="cli")
    with session_scope(web.engine) as s, pytest.raises(ValueError, match="at least 10"):
        set_user_password(session=s, username="alice", password="short", actor="cli")


def test_expired_sessions_are_refused_and_pruned_at_the_next_sign_in(web: ApiHarness) -> None:
    assert sign_in(web.client, "alice").status_code == 303
    signer = SessionSigner(web.settings.secret_key.get_secret_value())
    cookie = signer.loads(web.client.cookies[COOKIE_NAME])
    assert cookie is not None and set(cookie) == {"sid", "csrf"}
    with session_scope(web.engine) as s:
        assert session_principal(session=s, token=cookie["sid"]) is not None
        later = utcnow() + timedelta(hours=12, seconds=1)
        assert session_principal(session=s, token=cookie["sid"], now=later) is None
        assert session_principal(session=s, token="not-a-session") is None
        user = s.exec(select(User).where(User.username == "alice")).one()
        s.add(
            WebSession(
                id=session_key("stale"),
                user_id=user.id,
                created_at=utcnow() - timedelta(hours=13),
                expires_at=utcnow() - timedelta(hours=1),
            )
        )
    assert sign_in(TestClient(web.client.app), "bob").status_code == 303
    keys = {r.id for r in _sessions(web)}
    assert session_key("stale") not in keys
    assert len(keys) == 2  # alice's (still valid) and bob's new one


def _cli(*args: str, database_url: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSRELAY_")}
    env |= {"NEWSRELAY_DATABASE_URL": database_url, "NEWSRELAY_DATA_DIR": str(data_dir)}
    command = [sys.executable, "-m", "scheduler.cli.app", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, check=False)


def test_the_cli_revokes_users_and_changes_passwords(tmp_path: Path, sqlite_url: str) -> None:
    for web in build_harness(tmp_path, sqlite_url):
        make_user(web.engine, "alice")
        run = functools.partial(_cli, database_url=sqlite_url, data_dir=tmp_path / "data")
        assert sign_in(web.client, "alice").status_code == 303
        done = run("users", "password", "alice", "--password", "another-long-one")
        assert done.returncode == 0, done.stderr
        assert "sessions are ended" in done.stdout and "another-long-one" not in done.stdout
        assert not signed_in(web.client)
        assert sign_in(web.client, "alice", "another-long-one").status_code == 303
        assert run("users", "disable", "alice").returncode == 0
        assert not signed_in(web.client)
        assert sign_in(web.client, "alice", "another-long-one").status_code == 401
        assert run("users", "enable", "alice").returncode == 0
        assert sign_in(web.client, "alice", "another-long-one").status_code == 303
        unknown = run("users", "disable", "carol")
        assert unknown.returncode != 0 and "no user 'carol'" in unknown.stdout + unknown.stderr
