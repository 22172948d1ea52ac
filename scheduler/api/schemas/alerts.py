"""Alert history as the API returns it."""

from __future__ import annotations

from pydantic import BaseModel


class AlertOut(BaseModel):
    """One alert key's state: when it opened, when it was last sent and where, when resolved."""

    key: str
    condition: str
    label: str
    text: str
    count: int
    open: bool
    first_seen: str
    last_seen: str
    last_sent: str | None
    sends: int
    sent_to: list[str]
    last_error: str | None
    resolved_at: str | None
    resolved_sent_at: str | None


class AlertList(BaseModel):
    """Open alerts first, then recently resolved ones, newest first."""

    alerts: list[AlertOut]
