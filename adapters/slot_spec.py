"""The shape of a channel's posting slots, checked where the channel's settings are validated.

A slot spec maps day groups to local times::

    {"mon-fri": ["08:00", "12:30", "18:00"], "sat-sun": ["10:00"]}

A key is a day (``mon`` … ``sun``), a range (``mon-fri``; ``fri-mon`` wraps over the weekend)
or a comma list of either (``mon,wed,fri``); a value is a list of ``HH:MM`` 24-hour times.  A day
named by two keys takes the times of both.  Each error is a sentence naming the key or time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import time

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_TIMES_PER_DAY = 48
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def _days(key: str) -> list[int]:
    days: list[int] = []
    for part in key.lower().replace(" ", "").split(","):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ValueError(
                f"slot key {key!r}: name days as mon … sun, a range like mon-fri or a list like "
                "mon,wed,fri"
            )
        start, end = DAYS.index(first), DAYS.index(last or first)
        days += [(start + i) % 7 for i in range((end - start) % 7 + 1)]
    return days


def _time(key: str, value: object) -> time:
    match = _TIME.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"slot {value!r} under {key!r} is not a 24-hour time like 08:00 or 18:30")
    return time(int(match[1]), int(match[2]))


def parse_slot_spec(spec: Mapping[str, Sequence[object]]) -> dict[int, tuple[time, ...]]:
    """Weekday (Monday = 0) → its sorted, distinct local times; ``ValueError`` with a sentence."""
    if not spec:
        raise ValueError("slots must name at least one day with one time (or be null for none)")
    table: dict[int, set[time]] = {}
    for key, times in spec.items():
        if isinstance(times, str) or not isinstance(times, Sequence) or not times:
            raise ValueError(f"slot key {key!r} needs a non-empty list of times like ['08:00']")
        parsed = {_time(key, value) for value in times}
        for day in _days(key):
            table.setdefault(day, set()).update(parsed)
    for day, times_of_day in table.items():
        if len(times_of_day) > MAX_TIMES_PER_DAY:
            raise ValueError(f"{DAYS[day]} has more than {MAX_TIMES_PER_DAY} slots")
    return {day: tuple(sorted(times_of_day)) for day, times_of_day in sorted(table.items())}
