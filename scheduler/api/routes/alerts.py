"""API route for ops: alert history (open and recent alerts, when sent and where)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from scheduler.api.deps import OpsDep, SessionDep
from scheduler.api.schemas.alerts import AlertList
from scheduler.api.schemas.ops import PROBLEMS
from scheduler.ops.alert_models import AlertState
from scheduler.ops.alerts import CONDITION_LABELS, alert_history

router = APIRouter(tags=["ops"], responses=PROBLEMS)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def alert_row(row: AlertState) -> dict[str, Any]:
    """One alert as the API and the Alerts page show it (no destination URL, no secret)."""
    return {
        "key": row.key,
        "condition": row.condition,
        "label": CONDITION_LABELS.get(row.condition, row.condition),
        "text": row.text,
        "count": row.count,
        "open": row.resolved_at is None,
        "first_seen": row.first_seen.isoformat(),
        "last_seen": row.last_seen.isoformat(),
        "last_sent": _iso(row.last_sent),
        "sends": row.sends,
        "sent_to": [d for d in row.sent_to.split(", ") if d],
        "last_error": row.last_error,
        "resolved_at": _iso(row.resolved_at),
        "resolved_sent_at": _iso(row.resolved_sent_at),
    }


@router.get("/alerts", response_model=AlertList)
def list_alerts(
    session: SessionDep,
    _: OpsDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """Open alerts first, then the most recently resolved (ops)."""
    return {"alerts": [alert_row(r) for r in alert_history(session=session, limit=limit)]}
