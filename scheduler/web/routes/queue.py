"""The queue (posts by day in the newsroom's zone) and the week calendar."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from scheduler.api.deps import SessionDep, SettingsDep
from scheduler.db.cursors import InvalidCursor
from scheduler.editorial.bulk import MAX_BULK_POSTS
from scheduler.editorial.lifecycle import SHOWS_REASON
from scheduler.web import clock
from scheduler.web.calendar_slots import week_slots
from scheduler.web.deps import UserDep, render
from scheduler.web.queries import (
    QueueRow,
    channel_options,
    day_counts,
    next_out,
    status_counts,
    window_rows,
)
from scheduler.web.queue_filters import STATUSES, parse_queue_query
from scheduler.web.queue_groups import ArticleEntry, QueuePage, grouped_queue_page, known_sources
from scheduler.web.routes.bulk import pop_bulk_result
from scheduler.web.waiting import waiting_for_you

router = APIRouter()

PAGE_SIZE = 60
CALENDAR_PER_DAY = 12


@dataclass
class Day:
    """A newsroom day with its posts."""

    day: date
    rows: list[QueueRow] = field(default_factory=list)
    more: int = 0

    @property
    def label(self) -> str:
        return f"{self.day:%A} {self.day.day} {self.day:%B %Y}"


def _channel_filter(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def _status_filter(value: str | None) -> str | None:
    return value if value in STATUSES else None


ChannelQ = Annotated[str | None, Query(max_length=64)]
StatusQ = Annotated[str | None, Query(max_length=32)]


@dataclass
class EntryDay:
    """A newsroom day with the articles whose first post (on this page) goes out that day."""

    day: date
    entries: list[ArticleEntry] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.day:%A} {self.day.day} {self.day:%B %Y}"


def _entries_by_day(entries: list[ArticleEntry], tz: str) -> list[EntryDay]:
    days: dict[date, EntryDay] = {}
    for entry in entries:
        d = clock.local(entry.first_at, tz).date()
        days.setdefault(d, EntryDay(d)).entries.append(entry)
    return list(days.values())


TextQ = Annotated[str | None, Query(max_length=200)]
DayQ = Annotated[str | None, Query(max_length=10)]


@router.get("/", response_class=HTMLResponse)
def queue(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: UserDep,
    channel: ChannelQ = None,
    status: StatusQ = None,
    start: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    end: Annotated[DayQ, Query(alias="to")] = None,
    q: TextQ = None,
    section: TextQ = None,
    source: TextQ = None,
    cursor: Annotated[str | None, Query(max_length=300)] = None,
) -> HTMLResponse:
    tz = settings.newsroom_timezone
    query = parse_queue_query(
        tz=tz,
        channel=channel,
        status=status,
        start=start,
        end=end,
        text=q,
        section=section,
        source=source,
    )
    channel_id, status_value = query.filters.channel_id, query.filters.status
    first_day = query.first_day
    since, until = query.bounds(tz)
    try:
        page = grouped_queue_page(
            session=session, start=since, end=until, filters=query.filters, cursor=cursor
        )
    except InvalidCursor:
        page = QueuePage([], None)
    return render(
        request,
        "queue.html",
        session=session,
        days=_entries_by_day(page.entries, tz),
        next_cursor=page.next_cursor,
        cursor=cursor,
        first_day=first_day,
        earlier=(first_day - timedelta(days=7)).isoformat(),
        counts=status_counts(session=session, channel_id=channel_id),
        waiting=waiting_for_you(session=session, settings=settings),
        next_out=next_out(session=session),
        channels=channel_options(session=session),
        statuses=STATUSES,
        shows_reason=SHOWS_REASON,
        channel=str(channel_id) if channel_id else "",
        status=status_value or "",
        query=query,
        params=query.params,
        keep_qs=query.query_string(),
        filter_qs=query.query_string(leave_out=("from", "to")),
        sources=known_sources(session=session),
        bulk=pop_bulk_result(request),
        max_bulk=MAX_BULK_POSTS,
        today=clock.today(tz),
    )


@router.get("/calendar", response_class=HTMLResponse)
def calendar(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: UserDep,
    week: Annotated[str | None, Query(max_length=10)] = None,
    channel: ChannelQ = None,
    status: StatusQ = None,
) -> HTMLResponse:
    tz = settings.newsroom_timezone
    channel_id, status_value = _channel_filter(channel), _status_filter(status)
    monday = clock.parse_week(week, tz)
    week_days = [monday + timedelta(days=i) for i in range(7)]
    bounds = [clock.day_bounds(d, tz) for d in week_days]
    # A count per day and the first few posts of each: the page costs the same however busy
    # the week is.
    counts = day_counts(session=session, days=bounds, channel_id=channel_id, status=status_value)
    days = []
    for d, (lo, hi), n in zip(week_days, bounds, counts, strict=True):
        rows = []
        if n:
            rows = window_rows(
                session=session,
                start=lo,
                end=hi,
                channel_id=channel_id,
                status=status_value,
                limit=CALENDAR_PER_DAY,
            )
        days.append(Day(d, rows, more=n - len(rows)))
    return render(
        request,
        "calendar.html",
        session=session,
        days=days,
        week=clock.iso_week(monday),
        prev_week=clock.iso_week(monday - timedelta(days=7)),
        next_week=clock.iso_week(monday + timedelta(days=7)),
        this_week=clock.iso_week(clock.week_start(clock.today(tz))),
        today=clock.today(tz),
        total=sum(counts),
        slots=week_slots(
            session=session,
            start=bounds[0][0],
            end=bounds[-1][1],
            newsroom_tz=tz,
            channel_id=channel_id,
        ),
        channels=channel_options(session=session),
        statuses=STATUSES,
        channel=str(channel_id) if channel_id else "",
        status=status_value or "",
    )
