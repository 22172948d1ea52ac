"""Migrations go from empty to head on SQLite and PostgreSQL and match the models exactly."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import scheduler.models  # noqa: F401
from scheduler.db.engine import make_engine


def test_migrations_reach_head_and_autogenerate_finds_no_difference(db_url: str) -> None:
    engine = make_engine(db_url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        assert ctx.get_current_revision() is not None
        diff = compare_metadata(ctx, SQLModel.metadata)
    engine.dispose()
    assert diff == [], f"models and migrations differ: {diff}"


def test_partial_unique_index_refuses_a_second_successful_attempt(db_url: str) -> None:
    engine = make_engine(db_url)
    names = {ix["name"] for ix in sa.inspect(engine).get_indexes("delivery_attempt")}
    engine.dispose()
    assert {"uq_attempt_active", "uq_attempt_success"} <= names
