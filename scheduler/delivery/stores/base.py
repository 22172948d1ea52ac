"""What a delivery store does, and the statements every database runs the same way."""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection, Engine, Row

from scheduler.delivery import statements as sql
from scheduler.delivery.outcome import OutcomeDecision


@dataclass(frozen=True)
class FencedRow:
    """An attempt the fence started: its post and channel, and the context read with it.

    ``context`` has the channel's columns and ``pause``, ``revision``, ``budget_used`` and
    ``ambiguous`` (``statements.CONTEXT``); None when the channel no longer exists.
    """

    post_id: uuid.UUID
    channel_id: uuid.UUID
    context: Row[Any] | None


@dataclass(frozen=True)
class OutcomeRows:
    """The rows an outcome is written to, and the attempt's measured latency."""

    attempt_id: uuid.UUID
    post_id: uuid.UUID
    channel_id: uuid.UUID
    latency_ms: int


class DeliveryStore(ABC):
    """Runs the hot path's statements (``statements``); decides nothing.

    Only the fence and the outcome differ by database; the rest is shared here.
    """

    @abstractmethod
    def fence(
        self, conn: Connection, *, attempt_id: uuid.UUID, now: datetime, worker: str
    ) -> FencedRow | None:
        """Flip the attempt ``enqueued → started`` and read its context; None if it was not
        ``enqueued`` (a duplicate or stale message)."""

    @abstractmethod
    def record(self, engine: Engine, rows: OutcomeRows, decision: OutcomeDecision) -> int:
        """Write the decision atomically; 1 if the attempt update matched (then every other
        write ran), 0 if not (then none did).  ``decision.attempt['finished_at']`` is the
        call's clock (``b_now``)."""

    def start_post(
        self, conn: Connection, *, post_id: uuid.UUID, now: datetime, lease_until: datetime
    ) -> Row[Any] | None:
        """Flip the post ``queued → publishing`` with its lease; its rendered columns, or None."""
        params = {"b_post": post_id, "b_now": now, "b_lease": lease_until}
        return conn.execute(sql.POST_START, params).first()

    def parent_external_id(self, conn: Connection, *, parent_id: uuid.UUID) -> str | None:
        """The platform id of a follow-up's parent, if it is published."""
        found: str | None = conn.execute(
            sql.PARENT_EXTERNAL_ID, {"b_parent": parent_id}
        ).scalar_one_or_none()
        return found

    def hold_post(
        self, conn: Connection, *, post_id: uuid.UUID, status: str, now: datetime
    ) -> None:
        """Send a still ``queued`` post back to ``status`` (a pause came after the claim)."""
        conn.execute(sql.POST_HOLD, {"b_post": post_id, "b_status": status, "b_now": now})

    def supersede(
        self, conn: Connection, *, attempt_id: uuid.UUID, now: datetime, why: str
    ) -> None:
        """Void an attempt that will not be sent."""
        conn.execute(sql.SUPERSEDE, {"b_attempt": attempt_id, "b_now": now, "b_message": why})

    def article_and_settings(
        self, conn: Connection, *, article_id: uuid.UUID, channel_id: uuid.UUID
    ) -> tuple[Row[Any], Any]:
        """The article row and the channel's settings, for a re-render."""
        article = conn.execute(sql.ARTICLE_ROW, {"b_article": article_id}).one()
        settings = conn.execute(sql.CHANNEL_SETTINGS, {"b_channel": channel_id}).scalar_one()
        return article, settings

    def update_post(self, conn: Connection, *, post_id: uuid.UUID, values: dict[str, Any]) -> int:
        """Set ``values`` on the post, unconditionally; the rowcount."""
        keys = tuple(sorted(values))
        params = {"b_post": post_id, **{"vp_" + k: values[k] for k in keys}}
        return int(conn.execute(sql.update_by_id("post", keys), params).rowcount)

    def merge_platform_state(
        self, conn: Connection, *, post_id: uuid.UUID, update: dict[str, Any]
    ) -> None:
        """Merge ``update`` into the post's platform state (a None value removes the key)."""
        current = conn.execute(sql.POST_STATE, {"b_post": post_id}).first()
        if current is not None:
            state = {**(current.platform_state or {}), **update}
            kept = {k: v for k, v in state.items() if v is not None}
            conn.execute(sql.SET_POST_STATE, {"b_post": post_id, "b_state": kept})

    def finished_at(self, engine: Engine, attempt_id: uuid.UUID) -> datetime | None:
        """The attempt's recorded finish time."""
        with engine.connect() as conn:
            found = conn.execute(sql.FINISHED_AT, {"b_attempt": attempt_id}).scalar_one_or_none()
        return found


def outcome_params(rows: OutcomeRows, decision: OutcomeDecision) -> dict[str, Any]:
    """The bind parameters of an outcome: ``b_…`` for the rows, ``va_/vp_/vc_`` for values."""
    now = decision.attempt["finished_at"]
    params: dict[str, Any] = {
        "b_attempt": rows.attempt_id,
        "b_post": rows.post_id,
        "b_channel": rows.channel_id,
        "b_now": now,
        "b_since": decision.since,
        "b_rate_limit": decision.success_rate_limit,
    }
    params.update({"va_" + k: v for k, v in attempt_values(rows, decision).items()})
    params.update({"vp_" + k: v for k, v in decision.post.items()})
    params.update({"vc_" + k: v for k, v in decision.channel.items()})
    return params


def attempt_values(rows: OutcomeRows, decision: OutcomeDecision) -> dict[str, Any]:
    """The attempt's new columns: the decision's, plus the measured latency."""
    return {**decision.attempt, "latency_ms": rows.latency_ms}
