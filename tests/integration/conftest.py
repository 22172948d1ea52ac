"""Integration fixtures: a whole running newsrelay per test module, on PostgreSQL + Redis or on
the embedded defaults (SQLite + SQLite broker)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.conftest import REDIS_URL, _pg_url_for
from tests.utils.stack import Stack


@pytest.fixture(scope="module")
def module_pg_url(pg_admin: Engine, pg_template: str) -> Iterator[str]:
    name = f"nr_it_{uuid.uuid4().hex[:10]}"
    with pg_admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    yield _pg_url_for(name)
    with pg_admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="module")
def module_redis_url() -> Iterator[str]:
    # Its own Redis database (8 by default), apart from the per-test one.
    db = os.environ.get("NEWSRELAY_TEST_REDIS_MODULE_DB", "8")
    url = REDIS_URL.rsplit("/", 1)[0] + "/" + db
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except Exception as exc:  # pragma: no cover - environment failure
        pytest.fail(f"Redis is required at {url} and is not reachable: {exc}")
    client.flushdb()
    yield url
    client.flushdb()


def make_stack(
    request: pytest.FixtureRequest, tmp: Path, backend: str, overrides: dict[str, Any] | None = None
) -> Stack:
    if backend == "postgres+redis":
        db = request.getfixturevalue("module_pg_url")
        broker = request.getfixturevalue("module_redis_url")
    else:
        db, broker = f"sqlite:///{tmp / 'data' / 'newsrelay.sqlite'}", None
    return Stack(tmp, database_url=db, broker_url=broker, overrides=overrides)
