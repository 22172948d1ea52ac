"""Time zones for the web UI: the newsroom's day, a channel's wall clock, and picker values."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone(name: str) -> ZoneInfo:
    """The zone by IANA name; an unknown name falls back to UTC rather than break a page."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local(at: datetime, tz: str) -> datetime:
    return at.astimezone(zone(tz))


def fmt_time(at: datetime | None, tz: str) -> str:
    """``14:05 PKT`` in the given zone (abbreviation, or the UTC offset where there is none)."""
    if at is None:
        return "—"
    value = local(at, tz)
    return f"{value:%H:%M} {zone_abbr(value)}"


def fmt_datetime(at: datetime | None, tz: str) -> str:
    """``Mon 3 Nov 2025, 14:05 PKT`` in the given zone."""
    if at is None:
        return "—"
    value = local(at, tz)
    return f"{value:%a} {value.day} {value:%b %Y, %H:%M} {zone_abbr(value)}"


def zone_abbr(value: datetime) -> str:
    name = value.tzname() or ""
    # tzdata gives numeric names ("+05") for zones without an abbreviation; say UTC+05 then.
    return f"UTC{name}" if name[:1] in "+-" else name


def day_bounds(day: date, tz: str) -> tuple[datetime, datetime]:
    """The UTC instants at which ``day`` starts and ends in the zone (DST-safe)."""
    z = zone(tz)
    start = datetime.combine(day, time.min, tzinfo=z)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=z)
    return start.astimezone(UTC), end.astimezone(UTC)


def today(tz: str, *, now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(zone(tz)).date()


def week_start(day: date) -> date:
    """The Monday of the ISO week containing ``day``."""
    return day - timedelta(days=day.weekday())


def parse_week(value: str | None, tz: str) -> date:
    """``2025-W45`` or any date in the week (``2025-11-05``); default: this week."""
    if value:
        try:
            if "W" in value:
                year, week = value.split("-W")
                return date.fromisocalendar(int(year), int(week), 1)
            return week_start(date.fromisoformat(value))
        except ValueError:
            pass
    return week_start(today(tz))


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def picker_value(at: datetime | None, tz: str) -> str:
    """A ``datetime-local`` value (wall clock in the zone, to the minute)."""
    if at is None:
        return ""
    return f"{local(at, tz):%Y-%m-%dT%H:%M}"


def parse_picker(value: str, tz: str) -> datetime:
    """A ``datetime-local`` value read as wall-clock time in the zone, returned in UTC.

    Raises ValueError with a sentence for an editor.  A wall time that does not exist (skipped
    by a DST change) or happens twice is resolved by ``fold=0``, the earlier reading.
    """
    try:
        naive = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError("Pick a date and time to schedule the post.") from None
    if naive.tzinfo is not None:
        raise ValueError("Pick a wall-clock time; the channel's time zone is applied to it.")
    return naive.replace(tzinfo=zone(tz)).astimezone(UTC)


def fmt_iso(value: str | None, tz: str) -> str:
    """An ISO-8601 timestamp string (as stored in service state) shown in the zone."""
    if not value:
        return "—"
    try:
        return fmt_datetime(datetime.fromisoformat(value), tz)
    except ValueError:
        return value
