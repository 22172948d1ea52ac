"""The alert state table: one row per (condition, subject), so an outage is one alert, not 500.

Kept out of :mod:`scheduler.models` (which is at its size limit); the migrations' ``env.py``
imports it so autogenerate sees the table.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Column, Field, SQLModel

from scheduler.models import UTCDateTime, utcnow


class AlertState(SQLModel, table=True):
    """An alert key's life: opened, reminded, resolved.

    ``sends`` is the compare-and-set version: a replica owns a send only if its
    ``UPDATE … WHERE sends = <the value it read>`` changed the row.
    """

    __tablename__ = "alert_state"

    key: str = Field(primary_key=True, max_length=200)
    condition: str = Field(max_length=40, index=True)
    subject: str = Field(default="", max_length=200)
    text: str = Field(default="", max_length=2000)
    count: int = Field(default=1)
    first_seen: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    last_seen: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    last_sent: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    sends: int = Field(default=0)
    resolved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), index=True))
    resolved_sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    sent_to: str = Field(default="", max_length=200)
    last_error: str | None = Field(default=None, max_length=500)
