"""Posting slots in a channel's zone (scheduler/delivery/slots.py): properties over random
zones, dates and slot sets, and the DST rules at the transitions they are about."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.slot_spec import parse_slot_spec
from scheduler.delivery.slots import SlotTable, next_slot, slot_instant

ZONES = [
    "Europe/London",
    "America/New_York",
    "Asia/Karachi",
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "America/Santiago",  # transitions at local midnight
    "Asia/Kathmandu",
    "UTC",
]
times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 1, 15, 30, 45, 59]))
tables = st.dictionaries(
    st.integers(0, 6), st.lists(times, min_size=1, max_size=5, unique=True), min_size=1
).map(lambda d: {day: tuple(sorted(ts)) for day, ts in d.items()})
# Moments around the 2020s, with transitions in both directions well covered.
moments = st.datetimes(
    min_value=datetime(2021, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
)


def _resolutions(moment: datetime, table: SlotTable, tz: ZoneInfo) -> set[datetime]:
    """Every slot instant of the local days around ``moment``, resolved the documented way."""
    local_day = moment.astimezone(tz).date()
    found = set()
    for delta in (-1, 0):
        day = local_day + timedelta(days=delta)
        found |= {slot_instant(day, at, tz) for at in table.get(day.weekday(), ())}
    return found


@settings(max_examples=300, deadline=None)
@given(after=moments, table=tables, zone=st.sampled_from(ZONES))
def test_a_computed_slot_is_in_the_future_and_one_of_the_channels_local_times(
    after: datetime, table: SlotTable, zone: str
) -> None:
    tz = ZoneInfo(zone)
    slot = next_slot(after, table, tz)
    assert slot > after
    assert slot - after <= timedelta(days=8)
    # It is one of the channel's local times on its local day (a nonexistent local time is
    # shifted forward by the gap, so it is found by resolving the slot, not by its wall time).
    assert slot in _resolutions(slot, table, tz)
    wall = slot.astimezone(tz)
    if wall.replace(tzinfo=None).time() not in table.get(wall.weekday(), ()):
        assert zone not in ("Asia/Karachi", "UTC", "Asia/Kathmandu")  # only DST gaps shift


@settings(max_examples=150, deadline=None)
@given(start=moments, table=tables, zone=st.sampled_from(ZONES))
def test_walking_the_slots_never_skips_or_doubles_one(
    start: datetime, table: SlotTable, zone: str
) -> None:
    tz = ZoneInfo(zone)
    walked, moment = [], start
    while True:
        moment = next_slot(moment, table, tz)
        if moment > start + timedelta(days=9):
            break
        walked.append(moment)
    # Never doubled: strictly increasing, so no instant (and no fall-back repeat) comes twice.
    assert walked == sorted(set(walked))
    # Never skipped: every resolved slot instant inside the walked span was visited.
    expected = set()
    first_day = start.astimezone(tz).date() - timedelta(days=1)
    for offset in range(12):
        day = first_day + timedelta(days=offset)
        expected |= {slot_instant(day, at, tz) for at in table.get(day.weekday(), ())}
    inside = {m for m in expected if start < m <= walked[-1]}
    assert inside == set(walked)
    # Each local day has at most its number of slots (ambiguous times are taken once).
    per_day: dict[date, int] = defaultdict(int)
    for m in walked:
        per_day[m.astimezone(tz).date()] += 1
    for day, n in per_day.items():
        allowed = len(table.get(day.weekday(), ())) + len(
            table.get((day - timedelta(days=1)).weekday(), ())
        )
        assert n <= allowed


SPEC = {"mon-fri": ["08:00", "12:30", "18:00"], "sat-sun": ["10:00", "01:30"]}


def _walk(start: datetime, zone: str, n: int) -> list[str]:
    tz, out, moment = ZoneInfo(zone), [], start
    for _ in range(n):
        moment = next_slot(moment, parse_slot_spec(SPEC), tz)
        out.append(moment.astimezone(tz).strftime("%a %H:%M %Z"))
    return out


def test_london_spring_forward_shifts_the_missing_0130_to_0230_bst_once() -> None:
    # 2025-03-30 01:00 GMT the clocks jump to 02:00 BST; 01:30 does not exist that day.
    start = datetime(2025, 3, 29, 23, 0, tzinfo=UTC)
    assert _walk(start, "Europe/London", 3) == ["Sun 02:30 BST", "Sun 10:00 BST", "Mon 08:00 BST"]


def test_new_york_fall_back_takes_the_repeated_0130_once_the_first_time() -> None:
    # 2025-11-02 02:00 EDT the clocks go back to 01:00 EST; 01:30 happens twice.
    start = datetime(2025, 11, 2, 4, 0, tzinfo=UTC)
    assert _walk(start, "America/New_York", 3) == [
        "Sun 01:30 EDT",
        "Sun 10:00 EST",
        "Mon 08:00 EST",
    ]


def test_karachi_has_no_transition_and_keeps_its_times() -> None:
    start = datetime(2025, 11, 3, 0, 0, tzinfo=UTC)  # Monday 05:00 PKT
    assert _walk(start, "Asia/Karachi", 4) == [
        "Mon 08:00 PKT",
        "Mon 12:30 PKT",
        "Mon 18:00 PKT",
        "Tue 08:00 PKT",
    ]


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ({"mon-fry": ["08:00"]}, "slot key 'mon-fry'"),
        ({"mon": ["8:00"]}, "'8:00' under 'mon' is not a 24-hour time"),
        ({"mon": ["24:00"]}, "'24:00' under 'mon'"),
        ({"mon": []}, "needs a non-empty list"),
        ({}, "at least one day"),
    ],
)
def test_a_bad_slot_spec_is_refused_with_a_sentence(spec: dict[str, list[str]], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        parse_slot_spec(spec)


def test_day_ranges_wrap_over_the_weekend() -> None:
    assert sorted(parse_slot_spec({"fri-mon": ["09:00"]})) == [0, 4, 5, 6]
