"""Fixed posting slots in a channel's own time zone: the next slot after a moment.

Slots are local wall-clock times per weekday (:func:`adapters.slot_spec.parse_slot_spec`), so
they follow the channel's daylight-saving changes.  Two rules settle the moments a local time
does not name exactly once:

* **Spring forward** (a local time that does not exist, e.g. 02:30 in New York on the second
  Sunday of March): the slot is shifted forward by the length of the gap (02:30 → 03:30 EDT),
  the reading PostgreSQL and ``zoneinfo`` (``fold=0``) both give.  Slots that land on the same
  instant this way are one slot, taken once.
* **Fall back** (a local time that happens twice): the slot is the first occurrence only.

Every slot is therefore one instant per local day, and :func:`next_slot` walks them in order
without skipping or repeating one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from adapters.slot_spec import parse_slot_spec

#: Weekday (Monday = 0) → sorted local times.
SlotTable = Mapping[int, tuple[time, ...]]

__all__ = ["SlotTable", "next_slot", "parse_slot_spec", "slot_instant"]


def slot_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of local ``day`` ``at`` in ``tz`` (gap: shifted forward; fold: first)."""
    # fold=0 is the default: the earlier offset, so an ambiguous time is its first occurrence
    # and a nonexistent one is read with the pre-transition offset, i.e. shifted forward.
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def next_slot(after: datetime, slots: SlotTable, tz: ZoneInfo | str) -> datetime:
    """The first slot instant strictly after ``after`` (timezone-aware); UTC.

    ``slots`` must name at least one time; every weekday with times has one within a week.
    """
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    if after.tzinfo is None:
        raise ValueError("next_slot needs a timezone-aware moment")
    if not any(slots.values()):
        raise ValueError("next_slot needs at least one slot")
    # Start a day early: a shifted (gap) slot of yesterday can still lie ahead of ``after``.
    first_day = after.astimezone(zone).date() - timedelta(days=1)
    best: datetime | None = None
    for offset in range(9):  # yesterday, today and the next week: every weekday, and
        # no early exit, since a gap-shifted slot may pass the next local midnight
        day = first_day + timedelta(days=offset)
        for at in slots.get(day.weekday(), ()):
            moment = slot_instant(day, at, zone)
            if moment > after and (best is None or moment < best):
                best = moment
    assert best is not None  # some weekday has a time, and the loop spans a week
    return best
