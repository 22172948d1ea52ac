"""PostgreSQL: the fence and its read in one statement, the outcome in one autocommit statement.

Data-modifying CTEs fold what the generic store does in several round trips into one each.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.engine import Connection, Engine

from scheduler.delivery import statements as sql
from scheduler.delivery.outcome import OutcomeDecision
from scheduler.delivery.stores.base import (
    DeliveryStore,
    FencedRow,
    OutcomeRows,
    attempt_values,
    outcome_params,
)


class PostgreSQLStore(DeliveryStore):
    """The delivery statements as PostgreSQL runs them fastest."""

    def fence(
        self, conn: Connection, *, attempt_id: uuid.UUID, now: datetime, worker: str
    ) -> FencedRow | None:
        params = {"b_attempt": attempt_id, "b_now": now, "b_worker": worker}
        row = conn.execute(sql.FENCE_CONTEXT_PG, params).first()
        if row is None:
            return None
        # The outer join leaves the channel's columns empty when the channel is gone.
        return FencedRow(row.post_id, row.channel_id, row if row.status is not None else None)

    def record(self, engine: Engine, rows: OutcomeRows, decision: OutcomeDecision) -> int:
        # One statement (data-modifying CTEs, each gated on the attempt update), run in
        # autocommit: atomic on its own, and no BEGIN/COMMIT round trips.
        stmt = sql.outcome_statement_pg(
            tuple(sorted(attempt_values(rows, decision))),
            decision.attempt_from,
            tuple(sorted(decision.post)),
            decision.post_from,
            tuple(sorted(decision.channel)),
            decision.touch_channel,
            decision.hold_channel_posts,
        )
        params = outcome_params(rows, decision)
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT")
            return int(conn.execute(stmt, params).scalar_one())
