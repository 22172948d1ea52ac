"""Platform credentials are write-only and encrypted at rest: a recognisable token given to the
admin API is found nowhere else, not in the SQLite file (or its WAL), not in a pg_dump of the
PostgreSQL database, not in any API response, the delivery log, the audit trail or the logs,
even after a delivery with that token failed at the platform."""

from __future__ import annotations

import logging
import subprocess
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import structlog
from sqlmodel import Session, select

from adapters.sandbox import SandboxServer
from scheduler.channels import channel_credentials
from scheduler.db.engine import session_scope
from scheduler.delivery.attempt import deliver_attempt
from scheduler.delivery.dispatch import claim_due_posts
from scheduler.models import Channel, Post, utcnow
from scheduler.runtime.logs import configure_logging
from tests.api.conftest import ApiHarness, build_harness
from tests.utils.factories import seed_article


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    server = SandboxServer("127.0.0.1", 0)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def secured_api(tmp_path: Path, db_url: str, sandbox: SandboxServer) -> Iterator[ApiHarness]:
    yield from build_harness(
        tmp_path, db_url, x={"base_url": sandbox.url}, meta={"base_url": sandbox.url}
    )


@pytest.fixture
def json_logs() -> Iterator[None]:
    """The service's own JSON logging (with its scrubber), restored afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    saved = structlog.get_config()
    configure_logging(level="DEBUG", json_output=True)
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.configure(**saved)


def _deliver_due_posts_of(api: ApiHarness, channel_id: uuid.UUID) -> list[str]:
    """Make the channel's post due and run its delivery through the sandbox platform."""
    with session_scope(api.engine) as s:
        for post in s.exec(select(Post).where(Post.channel_id == channel_id)).all():
            post.scheduled_at = utcnow() - timedelta(seconds=1)
            s.add(post)
    messages = claim_due_posts(engine=api.engine, now=utcnow(), batch=10, lease_seconds=60)
    with httpx.Client(timeout=10) as client:
        return [
            deliver_attempt(
                engine=api.engine,
                attempt_id=uuid.UUID(m.task_id),
                settings=api.settings,
                client=client,
            )
            for m in messages
        ]


def _stored_bytes(api: ApiHarness, db_url: str) -> bytes:
    """Everything the database holds on disk (SQLite) or in a full dump (PostgreSQL)."""
    if db_url.startswith("sqlite"):
        path = Path(db_url.split("///", 1)[1])
        files = [path, path.with_name(path.name + "-wal")]
        return b"".join(f.read_bytes() for f in files if f.exists())
    name = db_url.rsplit("/", 1)[1]
    dump = subprocess.run(
        ["pg_dump", "-h", "127.0.0.1", "-U", "postgres", "--no-owner", name],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return dump.stdout


def _create_channel_and_refusals(
    api: ApiHarness, token: str
) -> tuple[uuid.UUID, list[httpx.Response]]:
    """Create an X channel with ``token``, then make two refused calls that carry it.

    Returns the channel's id and every response, for the caller to search for the token.
    """
    admin = api.headers("admin")
    responses: list[httpx.Response] = []
    created = api.client.post(
        "/api/v1/admin/channels",
        json={
            "platform": "x",
            "name": "Dawn Urdu on X",
            "account_id": "1700000000000000777",
            "credentials": {"access_token": token},
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    channel_id = uuid.UUID(created.json()["id"])
    responses.append(created)
    # Refusals must not echo what was sent either.
    responses.append(
        api.client.post(
            "/api/v1/admin/channels",
            json={
                "platform": "x",
                "name": "Dawn Urdu on X",
                "account_id": "1",
                "credentials": {"access_token": token},
            },
            headers=admin,
        )
    )
    assert responses[-1].status_code == 409
    responses.append(
        api.client.put(
            f"/api/v1/admin/channels/{channel_id}/credentials",
            json={"credentials": {"access_token": token + "\x00"}},
            headers=admin,
        )
    )
    assert responses[-1].status_code == 422
    return channel_id, responses


def _replace_token_and_read_back(
    api: ApiHarness, channel_id: uuid.UUID, token: str
) -> list[httpx.Response]:
    """Replace the channel's token with ``token`` and read every admin and ops listing back.

    The delivery log must show the failed attempt and the audit trail the replacement.
    """
    admin = api.headers("admin")
    responses: list[httpx.Response] = []
    replaced = api.client.put(
        f"/api/v1/admin/channels/{channel_id}/credentials",
        json={"credentials": {"access_token": token}},
        headers=admin,
    )
    assert replaced.status_code == 200, replaced.text
    responses.append(replaced)
    for path in (
        "/api/v1/admin/channels",
        "/api/v1/channels",
        "/api/v1/deliveries",
        "/api/v1/audit?limit=200",
    ):
        responses.append(api.client.get(path, headers=admin))
        assert responses[-1].status_code == 200, responses[-1].text
    deliveries = responses[-2].json()["deliveries"]
    assert any(d["channel_name"] == "Dawn Urdu on X" and d["message"] for d in deliveries)
    audit = responses[-1].json()["events"]
    assert any(e["detail"] == "credentials replaced" for e in audit)
    return responses


def test_channel_token_is_encrypted_at_rest_and_never_echoed(
    secured_api: ApiHarness,
    db_url: str,
    article_json: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    json_logs: None,
) -> None:
    api = secured_api
    caplog.set_level(logging.DEBUG)
    first = f"tok-SECRET-{uuid.uuid4().hex}"
    second = f"tok-SECRET-{uuid.uuid4().hex}"
    channel_id, responses = _create_channel_and_refusals(api, first)

    # The platform refuses the token: the failure is recorded in the delivery log.
    seed_article(api.engine, article_json, tag="secret")
    outcomes = _deliver_due_posts_of(api, channel_id)
    assert outcomes and outcomes != ["stale"], outcomes
    responses += _replace_token_and_read_back(api, channel_id, second)

    with Session(api.engine) as s:
        channel = s.exec(select(Channel).where(Channel.id == channel_id)).one()
        assert channel_credentials(channel, settings=api.settings) == {"access_token": second}
        # Every text column of every table, as the database returns it.
        dumped = [
            str(row)
            for table in ("delivery_attempt", "audit_event", "post", "channel")
            for row in s.execute(sa.text(f"SELECT * FROM {table}")).all()  # noqa: S608
        ]
    stored = _stored_bytes(api, db_url)
    assert b"Dawn Urdu on X" in stored  # the search does see plain text
    logs = caplog.text + "".join(str(r.msg) for r in caplog.records) + "".join(capfd.readouterr())
    for token in (first, second):
        assert token.encode() not in stored
        for response in responses:
            assert token not in response.text, response.request.url
        assert not [row for row in dumped if token in row]
        assert token not in logs
    assert channel.status == "active"
