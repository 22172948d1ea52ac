"""Engine and session factory for PostgreSQL (production) and SQLite (embedded default).

SQLite gets WAL, a busy timeout and ``BEGIN IMMEDIATE`` transactions so that the dispatcher's
conditional ``UPDATE … RETURNING`` claims serialise across processes (pysqlite otherwise defers
BEGIN and silently drops ``FOR UPDATE``; see reference/ENGINEERING.md §3.3).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from config import Settings, get_settings


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


T = TypeVar("T")


def make_engine(url: str, *, ping_idle_after: float | None = None, **kw: Any) -> Engine:
    """An engine with the pragmas and pooling each backend needs.

    PostgreSQL connections are checked with a ping on every checkout (``pool_pre_ping``) unless
    ``ping_idle_after`` is given: then only a connection idle longer than that many seconds is
    pinged.  A busy worker's connections are never idle, and a round trip less per transaction
    is a tenth of its CPU per delivery; the hot path pairs this with ``run_in_transaction`` and
    ``retry_on_disconnect``.
    """
    url = normalise_url(url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url, connect_args={"timeout": 30, "check_same_thread": False}, **kw
        )

        @sa.event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @sa.event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    kw.setdefault("pool_pre_ping", ping_idle_after is None)
    kw.setdefault("pool_size", 10)
    kw.setdefault("max_overflow", 20)
    engine = sa.create_engine(url, **kw)
    if ping_idle_after is not None:
        _ping_when_idle(engine, ping_idle_after)
    return engine


def _ping_when_idle(engine: Engine, seconds: float) -> None:
    @sa.event.listens_for(engine, "checkin")
    def _returned(_dbapi_conn: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned < seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:
            # The pool discards this connection and checks out another (SQLAlchemy's
            # "pessimistic disconnect handling, custom" recipe).
            raise sa.exc.DisconnectionError(f"pooled connection is dead: {exc}") from exc


def retry_on_disconnect(run: Callable[[], T]) -> T:
    """Run ``run`` once more if its connection turned out to be dead (a server restart).

    For one autocommit statement or a read: ``run`` must be safe to repeat even when its first
    try committed and only the answer was lost.  SQLAlchemy invalidates the dead connection and
    every older pooled one on the first error, so the repeat gets a fresh connection.
    """
    try:
        return run()
    except sa.exc.DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
    return run()


def run_in_transaction(engine: Engine, body: Callable[[Connection], T]) -> T:
    """``body`` in one transaction, run once more on a fresh connection if the first one turns
    out dead before the commit (the server rolled back whatever it had received).

    A connection lost during the commit itself is not retried: the commit may have happened,
    and the caller's usual recovery (leases, the reaper) applies.
    """
    for last_try in (False, True):
        with engine.connect() as conn:
            try:
                transaction = conn.begin()
                result = body(conn)
            except sa.exc.DBAPIError as exc:
                if last_try or not exc.connection_invalidated:
                    raise
                continue
            transaction.commit()
            return result
    raise AssertionError("unreachable")  # pragma: no cover


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


@lru_cache
def _cached_engine(url: str) -> Engine:
    return make_engine(url)


def get_engine(settings: Settings | None = None) -> Engine:
    """The process-wide engine for the configured database."""
    settings = settings or get_settings()
    return _cached_engine(settings.resolved_database_url)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session committed on success and rolled back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
