"""The queue's filters as the page reads them from its query string: post filters (channel,
status), article filters (words, section, source) and the day window, with a sentence for each
value that could not be used (the page then shows the rest, never an error page)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from scheduler.models import PostStatus
from scheduler.web import clock
from scheduler.web.queue_groups import QueueFilters

STATUSES = [s.value for s in PostStatus]
#: Without an end day, a search reads this many days from the first one.
DEFAULT_WINDOW = timedelta(days=7)
#: The widest window a search may read: an ``ILIKE`` on titles reads every post scheduled in it
#: before a page fills (at 18,000 posts a day that is the cost to keep in mind).
MAX_WINDOW = timedelta(days=31)
TEXT_MAX = 100


@dataclass
class QueueQuery:
    """The parsed filters, the newsroom days they cover and what could not be used."""

    filters: QueueFilters
    first_day: date
    last_day: date | None
    problems: list[str] = field(default_factory=list)

    def bounds(self, tz: str) -> tuple[datetime, datetime | None]:
        """The UTC instants the window starts and (if bounded) ends."""
        start, _ = clock.day_bounds(self.first_day, tz)
        end = clock.day_bounds(self.last_day, tz)[1] if self.last_day else None
        return start, end

    @property
    def params(self) -> dict[str, str]:
        """The query string that reproduces these filters (for the pager's links)."""
        f = self.filters
        values = {
            "from": self.first_day.isoformat(),
            "to": self.last_day.isoformat() if self.last_day else "",
            "q": f.text or "",
            "section": f.section or "",
            "source": f.source or "",
            "channel": str(f.channel_id) if f.channel_id else "",
            "status": f.status or "",
        }
        return {k: v for k, v in values.items() if v}

    def query_string(self, *, leave_out: tuple[str, ...] = ("from",)) -> str:
        """``&k=v…`` of the filters but ``leave_out``, for links that set those themselves."""
        kept = {k: v for k, v in self.params.items() if k not in leave_out}
        return "&" + urlencode(kept) if kept else ""


def _day(value: str | None, name: str, problems: list[str]) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        problems.append(f"The {name} day {value!r} is not a date (YYYY-MM-DD); it was left out.")
        return None


def _channel(value: str | None, problems: list[str]) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        problems.append("That channel is not one of the list; all channels are shown.")
        return None


def _words(value: str | None) -> str | None:
    text = " ".join((value or "").split())[:TEXT_MAX]
    return text or None


def parse_queue_query(
    *,
    tz: str,
    channel: str | None,
    status: str | None,
    start: str | None,
    end: str | None,
    text: str | None,
    section: str | None,
    source: str | None,
) -> QueueQuery:
    """The queue's filters from the query string; the window starts yesterday by default."""
    problems: list[str] = []
    if status and status not in STATUSES:
        problems.append(f"{status!r} is not a post status; all statuses are shown.")
        status = None
    filters = QueueFilters(
        channel_id=_channel(channel, problems),
        status=status or None,
        text=_words(text),
        section=_words(section),
        source=_words(source),
    )
    first = _day(start, "from", problems) or clock.today(tz) - timedelta(days=1)
    last = _day(end, "to", problems)
    if last is not None and last < first:
        problems.append("The to day is before the from day; it was left out.")
        last = None
    if filters.on_article:
        # A search reads every post of its window (no index serves ILIKE '%word%'): bound it.
        widest = first + MAX_WINDOW - timedelta(days=1)
        if last is None:
            last = first + DEFAULT_WINDOW - timedelta(days=1)
        elif last > widest:
            problems.append(
                f"A search covers at most {MAX_WINDOW.days} days; it stops on {widest:%d %b %Y}."
            )
            last = widest
    return QueueQuery(filters, first, last, problems)
