"""Shared fixtures: real PostgreSQL and Redis (failing, never skipping, when they are missing),
fresh migrated databases per test, the reference article from examples/ and test images from
../shared."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from config import Settings
from scheduler.db.engine import make_engine
from scheduler.db.migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("NEWSRELAY_SHARED_DIR", ROOT.parent / "shared"))
# The reference article ships with the repository (examples/), so a clone runs the tests.
FIXTURE_ARTICLE = ROOT / "examples" / "articles" / "dar-istanbul-gaza-talks.json"
FIXTURE_IMAGES = SHARED / "fixtures" / "images"

PG_ADMIN_URL = os.environ.get(
    "NEWSRELAY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("NEWSRELAY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _pg_url_for(db_name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + db_name


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[Engine]:
    """An autocommit engine on the server's ``test`` database; fails the run if unreachable."""
    engine = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:  # pragma: no cover - environment failure
        pytest.fail(f"PostgreSQL is required at {PG_ADMIN_URL} and is not reachable: {exc}")
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def pg_template(pg_admin: Engine) -> Iterator[str]:
    """A migrated template database, copied for each test that wants PostgreSQL."""
    name = f"nr_tpl_{os.getpid()}"
    with pg_admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    upgrade(_pg_url_for(name))
    yield name
    with pg_admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def pg_url(pg_admin: Engine, pg_template: str) -> Iterator[str]:
    """A fresh migrated PostgreSQL database for one test."""
    name = f"nr_{uuid.uuid4().hex[:12]}"
    with pg_admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    yield _pg_url_for(name)
    with pg_admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh migrated SQLite database for one test."""
    url = f"sqlite:///{tmp_path / 'newsrelay.sqlite'}"
    upgrade(url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """A fresh migrated database, once on SQLite and once on PostgreSQL."""
    name = "sqlite_url" if request.param == "sqlite" else "pg_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A real Redis database (index 7 by default), flushed before and after; fails if absent."""
    url = REDIS_URL.rsplit("/", 1)[0] + "/" + os.environ.get("NEWSRELAY_TEST_REDIS_DB", "7")
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except Exception as exc:  # pragma: no cover - environment failure
        pytest.fail(f"Redis is required at {url} and is not reachable: {exc}")
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for an isolated data dir on the embedded defaults."""
    return Settings(environment="test", data_dir=tmp_path / "data")


@pytest.fixture
def article_json() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FIXTURE_ARTICLE.read_text(encoding="utf-8"))
    return data
