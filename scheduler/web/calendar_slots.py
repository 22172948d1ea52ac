"""The channels' posting slots for the calendar week shown (``ChannelSettings.slots``).

Each slot instant comes from :func:`scheduler.delivery.slots.next_slot` in the channel's own
zone (so DST is handled once, there), and is placed on the newsroom day it falls in.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col

from adapters.slot_spec import parse_slot_spec
from scheduler.delivery.slots import next_slot
from scheduler.models import Channel
from scheduler.web import clock


@dataclass(frozen=True)
class SlotMark:
    """One posting slot of one channel, as the calendar shows it."""

    at: datetime
    channel_name: str
    platform: str
    channel_tz: str

    @property
    def local_time(self) -> str:
        return clock.local(self.at, self.channel_tz).strftime("%H:%M")


def week_slots(
    *,
    session: Session,
    start: datetime,
    end: datetime,
    newsroom_tz: str,
    channel_id: uuid.UUID | None = None,
) -> dict[date, list[SlotMark]]:
    """Every channel's slots in ``[start, end)``, by newsroom day, soonest first (one query)."""
    stmt = sa.select(
        col(Channel.name), col(Channel.platform), col(Channel.timezone), col(Channel.settings)
    )
    if channel_id is not None:
        stmt = stmt.where(col(Channel.id) == channel_id)
    marks: list[SlotMark] = []
    for name, platform, tz, settings in session.execute(stmt).all():
        spec = (settings or {}).get("slots")
        if not spec:
            continue
        table = parse_slot_spec(spec)
        if not any(table.values()):
            continue
        moment = next_slot(start - timedelta(microseconds=1), table, tz)
        while moment < end:
            marks.append(SlotMark(moment, name, str(platform), tz))
            moment = next_slot(moment, table, tz)
    by_day: dict[date, list[SlotMark]] = {}
    for mark in sorted(marks, key=lambda m: (m.at, m.platform, m.channel_name)):
        by_day.setdefault(clock.local(mark.at, newsroom_tz).date(), []).append(mark)
    return by_day
