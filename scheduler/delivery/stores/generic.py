"""Any other database (SQLite): the same writes as separate statements in one transaction."""

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


class GenericStore(DeliveryStore):
    """The delivery statements for databases without data-modifying CTEs."""

    def fence(
        self, conn: Connection, *, attempt_id: uuid.UUID, now: datetime, worker: str
    ) -> FencedRow | None:
        params = {"b_attempt": attempt_id, "b_now": now, "b_worker": worker}
        started = conn.execute(sql.FENCE, params).first()
        if started is None:
            return None
        post_id, channel_id = started
        context = conn.execute(
            sql.CONTEXT, {"b_post": post_id, "b_attempt": attempt_id, "b_channel": channel_id}
        ).first()
        return FencedRow(post_id, channel_id, context)

    def record(self, engine: Engine, rows: OutcomeRows, decision: OutcomeDecision) -> int:
        params = outcome_params(rows, decision)
        attempt_keys = tuple(sorted(attempt_values(rows, decision)))
        with engine.connect() as conn, conn.begin():
            recorded = _update(
                conn, "delivery_attempt", attempt_keys, decision.attempt_from, params
            )
            if not recorded:
                return 0  # a late result: the reaper or a person moved on; write nothing
            _update(conn, "post", tuple(sorted(decision.post)), decision.post_from, params)
            if decision.channel:
                _update(conn, "channel", tuple(sorted(decision.channel)), (), params)
            if decision.touch_channel:
                conn.execute(
                    sql.CHANNEL_SUCCESS,
                    _only(params, "b_channel", "b_since", "b_now", "b_rate_limit"),
                )
            if decision.hold_channel_posts:
                conn.execute(sql.HOLD_CHANNEL_POSTS, _only(params, "b_channel", "b_now"))
            return recorded


def _update(
    conn: Connection,
    table: str,
    keys: tuple[str, ...],
    allowed: tuple[str, ...],
    params: dict[str, object],
) -> int:
    prefix = sql.VALUE_PREFIX[table]
    names = (sql.ROW_BIND[table], *(prefix + k for k in keys))
    result = conn.execute(sql.update_by_id(table, keys, allowed), _only(params, *names))
    return int(result.rowcount)


def _only(params: dict[str, object], *names: str) -> dict[str, object]:
    return {n: params[n] for n in names}
