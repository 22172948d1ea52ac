"""Sign-in is throttled per account and per address with a doubling delay (429, Retry-After, a
sentence saying how long), shared by every API process through the database; every failure is
in the audit trail without the password; unknown and known usernames cost the same."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from scheduler.access.auth import set_user_disabled
from scheduler.api.app import create_app
from scheduler.db.engine import session_scope
from scheduler.models import AuditEvent, LoginThrottle
from tests.api.conftest import ApiHarness, build_harness
from tests.security.webclient import make_user, sign_in, signed_in

WRONG = "wrong-password-1234"


@pytest.fixture
def web(tmp_path: Path, db_url: str) -> Iterator[ApiHarness]:
    for harness in build_harness(tmp_path, db_url):
        make_user(harness.engine, "alice")
        yield harness


def _unblock(web: ApiHarness, key: str) -> None:
    """Let the current delay pass (the clock is the database row's, not a mock)."""
    with session_scope(web.engine) as s:
        s.execute(
            sa.update(LoginThrottle).where(col(LoginThrottle.key) == key).values(blocked_until=None)
        )


def test_repeated_failures_for_one_account_meet_a_doubling_delay(web: ApiHarness) -> None:
    answers = [sign_in(web.client, "alice", WRONG) for _ in range(4)]
    assert [a.status_code for a in answers] == [401] * 4
    assert all("Retry-After" not in a.headers for a in answers)
    fifth = sign_in(web.client, "alice", WRONG)
    assert fifth.status_code == 401 and fifth.headers["Retry-After"] == "5"
    # Refused before the password is checked: the right one does not get in either.
    refused = sign_in(web.client, "alice")
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 5
    assert "Too many failed sign-ins for this account; try again in" in refused.text
    assert not signed_in(web.client)

    _unblock(web, "user:alice")
    assert sign_in(web.client, "alice", WRONG).headers["Retry-After"] == "10"
    _unblock(web, "user:alice")
    assert sign_in(web.client, "alice", WRONG).headers["Retry-After"] == "20"
    third = sign_in(web.client, "alice")
    assert third.status_code == 429
    assert "try again in 20 seconds" in third.text or "try again in 19 seconds" in third.text

    # Once the delay has passed, the right password gets in and clears the account's count.
    _unblock(web, "user:alice")
    assert sign_in(web.client, "alice").status_code == 303
    with Session(web.engine) as s:
        assert s.get(LoginThrottle, "user:alice") is None


def test_one_address_guessing_many_accounts_is_throttled(web: ApiHarness) -> None:
    for n in range(19):
        assert sign_in(web.client, f"guess{n}", WRONG).status_code == 401
    twentieth = sign_in(web.client, "guess-last", WRONG)
    assert twentieth.headers["Retry-After"] == "5"
    refused = sign_in(web.client, "alice")
    assert refused.status_code == 429
    assert "Too many failed sign-ins for your address" in refused.text


def test_throttle_is_shared_by_separate_api_processes(web: ApiHarness) -> None:
    # A second app instance on the same database stands in for a second API process: the
    # counters are rows, not process memory.
    with TestClient(create_app(web.settings)) as other:
        for client in (web.client, other, web.client, other, web.client):
            sign_in(client, "alice", WRONG)
        assert sign_in(other, "alice").status_code == 429


def test_failures_are_audited_without_the_password(web: ApiHarness) -> None:
    sign_in(web.client, "alice", WRONG)
    sign_in(web.client, "nobody", WRONG)
    with Session(web.engine) as s:
        events = s.exec(select(AuditEvent).where(AuditEvent.action == "user.login_failed")).all()
    assert sorted(e.actor for e in events) == ["login:testclient/alice", "login:testclient/nobody"]
    assert {e.after["username"] for e in events} == {"alice", "nobody"}
    assert all(WRONG not in str(e.model_dump()) for e in events)


@pytest.fixture
def scrypt_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the standard library's scrypt calls (the real function still runs)."""
    calls: list[int] = []
    real: Callable[..., bytes] = hashlib.scrypt

    def counted(*args: Any, **kw: Any) -> bytes:
        calls.append(kw.get("n", 0))
        return real(*args, **kw)

    monkeypatch.setattr(hashlib, "scrypt", counted)
    return calls


def test_unknown_and_known_usernames_cost_one_scrypt_each(
    web: ApiHarness, scrypt_calls: list[int]
) -> None:
    make_user(web.engine, "dora")
    with session_scope(web.engine) as s:
        set_user_disabled(session=s, username="dora", disabled=True, actor="test")
    costs = {}
    for name in ("alice", "nobody-by-this-name", "dora"):
        scrypt_calls.clear()
        assert sign_in(web.client, name, WRONG).status_code == 401
        costs[name] = list(scrypt_calls)
    # Exactly one full-cost verification each: the answer's timing does not tell them apart.
    assert costs == {name: [2**14] for name in costs}, costs
