"""RSS/Atom polling: the fallback trigger for a CMS that cannot call the webhook.

Each due feed is claimed with a compare-and-set on ``next_poll_at`` (replicas never poll one
feed twice), fetched with a conditional GET outside any transaction, parsed with feedparser; each
new item goes through ``ingest_article`` with an explicit revision (a repeat is a no-op).  A broken
feed is recorded on its :class:`FeedSource` and retried with back-off; polling never raises.
"""

from __future__ import annotations

import calendar
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser
import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from adapters.deadline import check, deadline
from scheduler.db.engine import session_scope
from scheduler.errors import NotFound
from scheduler.intake.articles import ingest_article
from scheduler.intake.htmltext import html_to_text, strip_cms_boilerplate
from scheduler.intake.schemas import MAX_TAGS, ArticleIn, InvalidInput, parse_article
from scheduler.models import Article, FeedSource, clip_text, utcnow
from scheduler.runtime.logs import get_logger

log = get_logger(__name__)

MAX_FEED_BYTES = 5 * 1024 * 1024
FETCH_TIMEOUT = httpx.Timeout(15.0, connect=5.0)
FETCH_DEADLINE = 30.0  # redirects and body included; callers pass settings.feeds.fetch_deadline
#: Longer than a fetch can take, so a crashed poller's claim expires and another one polls.
CLAIM_SECONDS = 120
#: Items older than this are not posted: adding a feed must not re-announce its back catalogue.
MAX_ITEM_AGE = timedelta(days=2)
USER_AGENT = "newsrelay-feed-poller/0.1 (+https://github.com/newsrelay)"


class FeedNotFound(NotFound):
    """No feed with that id or name."""


@dataclass
class PollResult:
    """What one poll of one feed did."""

    feed_id: uuid.UUID
    name: str
    outcome: str  # fetched | not_modified | failed | skipped
    http_status: int | None = None
    new: int = 0
    known: int = 0
    stale: int = 0
    invalid: list[str] = field(default_factory=list)
    error: str | None = None


class _FetchFailed(Exception):
    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def add_feed(
    *,
    session: Session,
    name: str,
    url: str,
    source: str,
    interval_seconds: int = 300,
    now: datetime | None = None,
) -> FeedSource:
    """Register a feed, due for its first poll now."""
    if not url.startswith(("http://", "https://")):
        raise InvalidInput(["url: must be an absolute http(s) URL"])
    if interval_seconds < 30:
        raise InvalidInput(["interval: at least 30 seconds; be kind to the publisher's server"])
    if session.exec(select(FeedSource).where(FeedSource.name == name)).first() is not None:
        raise InvalidInput([f"name: a feed called {name!r} exists already"])
    feed = FeedSource(
        name=name,
        url=url,
        source=source,
        interval_seconds=interval_seconds,
        next_poll_at=now or utcnow(),
    )
    session.add(feed)
    session.flush()
    return feed


def list_feeds(*, session: Session) -> list[FeedSource]:
    """All feeds, by name."""
    return list(session.exec(select(FeedSource).order_by(col(FeedSource.name))).all())


def get_feed(*, session: Session, name: str) -> FeedSource:
    feed = session.exec(select(FeedSource).where(FeedSource.name == name)).first()
    if feed is None:
        raise FeedNotFound(f"no feed called {name!r}")
    return feed


def retry_delay(failures: int, interval_seconds: int) -> timedelta:
    """Back-off after ``failures`` failures in a row: a minute up to an hour (or the interval)."""
    base = min(60.0, float(interval_seconds))
    cap = max(3600.0, float(interval_seconds))
    # Doubling with equal jitter, so that feeds failing together do not retry in lockstep.
    ceiling = min(cap, base * 2 ** max(0, failures - 1))
    return timedelta(seconds=ceiling / 2 + random.uniform(0, ceiling / 2))


def poll_due_feeds(
    *,
    engine: Engine,
    client: httpx.Client,
    now: datetime | None = None,
    limit: int = 20,
    fetch_deadline: float = FETCH_DEADLINE,
) -> list[PollResult]:
    """Poll every feed whose ``next_poll_at`` has come; never raises for one feed's failure."""
    now = now or utcnow()
    with Session(engine) as session:
        due = session.exec(
            select(FeedSource.id)
            .where(col(FeedSource.next_poll_at).is_(None) | (col(FeedSource.next_poll_at) <= now))
            .order_by(col(FeedSource.next_poll_at))
            .limit(limit)
        ).all()
    results = []
    for feed_id in due:
        try:
            polled = poll_feed(
                engine=engine,
                feed_id=feed_id,
                client=client,
                now=now,
                fetch_deadline=fetch_deadline,
            )
            results.append(polled)
        except Exception as exc:  # a database hiccup on one feed must not stop the others
            log.error("feed_poll_failed", feed_id=str(feed_id), error=str(exc), exc_info=True)
    return results


def _claim(engine: Engine, feed_id: uuid.UUID, now: datetime) -> bool:
    # Compare-and-set: only the poller that moves next_poll_at forward polls this time.
    with session_scope(engine) as session:
        result = session.execute(
            sa.update(FeedSource)
            .where(
                col(FeedSource.id) == feed_id,
                col(FeedSource.next_poll_at).is_(None) | (col(FeedSource.next_poll_at) <= now),
            )
            .values(next_poll_at=now + timedelta(seconds=CLAIM_SECONDS))
        )
        return bool(getattr(result, "rowcount", 0))


def poll_feed(
    *,
    engine: Engine,
    feed_id: uuid.UUID,
    client: httpx.Client,
    now: datetime | None = None,
    force: bool = False,
    fetch_deadline: float = FETCH_DEADLINE,
) -> PollResult:
    """Fetch one feed (conditional GET), ingest its new items and record the outcome.

    Unless ``force``, the feed is polled only if it is due and this caller wins the claim.
    """
    now = now or utcnow()
    with Session(engine) as session:
        feed = session.get(FeedSource, feed_id)
        if feed is None:
            raise FeedNotFound(f"no feed with id {feed_id}")
        name, url, etag, modified = feed.name, feed.url, feed.etag, feed.last_modified
    if not force and not _claim(engine, feed_id, now):
        return PollResult(feed_id=feed_id, name=name, outcome="skipped")
    result = PollResult(feed_id=feed_id, name=name, outcome="fetched")
    try:
        with deadline(fetch_deadline):
            response, body = _fetch(client, url, etag=etag, last_modified=modified)
        result.http_status = response.status_code
        if response.status_code == 304:
            result.outcome = "not_modified"
            entries: list[Any] = []
            language = None
        else:
            entries, language = _parse(body)
    except _FetchFailed as exc:
        result.outcome, result.error, result.http_status = "failed", str(exc), exc.status
        _record_failure(engine, feed_id, result, now)
        return result
    with session_scope(engine) as session:
        feed = session.get(FeedSource, feed_id)
        assert feed is not None
        _ingest_entries(session, feed, entries, language, result, now)
        feed.last_polled_at = now
        feed.last_status = result.http_status
        feed.last_error = None
        feed.consecutive_failures = 0
        feed.next_poll_at = now + timedelta(seconds=feed.interval_seconds)
        feed.items_seen += result.new
        if result.outcome == "fetched":
            # Validators as the server sent them; none means no conditional GET next time.
            feed.etag = response.headers.get("etag")
            feed.last_modified = response.headers.get("last-modified")
        session.add(feed)
    log.info(
        "feed_polled",
        feed=name,
        outcome=result.outcome,
        new=result.new,
        known=result.known,
        stale=result.stale,
        invalid=len(result.invalid),
    )
    return result


def _fetch(
    client: httpx.Client, url: str, *, etag: str | None, last_modified: str | None
) -> tuple[httpx.Response, bytes]:
    headers = {"User-Agent": USER_AGENT, "Accept": "application/rss+xml, application/atom+xml, "
               "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"}  # fmt: skip
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        with client.stream(
            "GET", url, headers=headers, timeout=FETCH_TIMEOUT, follow_redirects=True
        ) as response:
            if response.status_code == 304:
                return response, b""
            if response.status_code != 200:
                raise _FetchFailed(
                    f"the feed answered HTTP {response.status_code}", response.status_code
                )
            chunks, size = [], 0
            # Count while streaming: Content-Length may be absent or wrong.
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_FEED_BYTES:
                    raise _FetchFailed(
                        f"the feed is larger than {MAX_FEED_BYTES // (1024 * 1024)} MB",
                        response.status_code,
                    )
                chunks.append(chunk)
                check()  # a client without DeadlineTransport still stops between chunks
            return response, b"".join(chunks)
    except httpx.TimeoutException:
        raise _FetchFailed("the feed did not answer or finish sending in time") from None
    except httpx.HTTPError as exc:
        raise _FetchFailed(f"the feed could not be fetched: {type(exc).__name__}: {exc}") from None


def _parse(body: bytes) -> tuple[list[Any], str | None]:
    # Bytes, not text: feedparser honours the XML encoding declaration itself.
    parsed = feedparser.parse(body)
    entries = list(parsed.entries)
    if not entries and (parsed.bozo or not parsed.version):
        reason = parsed.get("bozo_exception") or "not an RSS or Atom document"
        raise _FetchFailed(f"the feed could not be parsed: {reason}", 200)
    language = parsed.feed.get("language")
    return entries, language if isinstance(language, str) else None


def _record_failure(engine: Engine, feed_id: uuid.UUID, result: PollResult, now: datetime) -> None:
    with session_scope(engine) as session:
        feed = session.get(FeedSource, feed_id)
        if feed is None:
            return
        feed.consecutive_failures += 1
        feed.last_polled_at = now
        feed.last_status = result.http_status
        feed.last_error = clip_text(result.error or "unknown error")
        feed.next_poll_at = now + retry_delay(feed.consecutive_failures, feed.interval_seconds)
        session.add(feed)
        failures, next_at = feed.consecutive_failures, feed.next_poll_at
    log.warning(
        "feed_poll_failed",
        feed=result.name,
        error=result.error,
        consecutive_failures=failures,
        next_poll_at=next_at.isoformat(),
    )


def _ingest_entries(
    session: Session,
    feed: FeedSource,
    entries: list[Any],
    language: str | None,
    result: PollResult,
    now: datetime,
) -> None:
    items: dict[str, ArticleIn] = {}
    for index, entry in enumerate(entries):
        item = entry_article(entry, source=feed.source, language=language, now=now)
        key = item.get("external_id")
        if not key:
            result.invalid.append(f"item {index + 1}: no guid, id or link")
        elif key in items:
            result.known += 1  # the same item twice in one document
        elif item["published_at"] < now - MAX_ITEM_AGE:
            result.stale += 1
        else:
            # Validated before any query: feedparser passes "&#0;" through as NUL (PG refuses it).
            try:
                items[key] = parse_article(
                    {**item, "published_at": item["published_at"].isoformat()}
                )
            except InvalidInput as exc:
                shown = key if key.isprintable() else repr(key)
                result.invalid.append(f"item {shown}: {'; '.join(exc.errors)}")
    if not items:
        return
    known = set(
        session.exec(
            select(Article.external_id).where(
                Article.source == feed.source, col(Article.external_id).in_(list(items))
            )
        ).all()
    )
    result.known += len(known)
    for key, data in items.items():
        if key in known:
            continue
        # Revision 1, explicitly: a feed item seen again is never a new revision.
        outcome = ingest_article(session=session, data=data, actor="feed", revision=1, now=now)
        if outcome.created:
            result.new += 1
        else:
            result.known += 1


def entry_article(
    entry: Any, *, source: str, language: str | None, now: datetime
) -> dict[str, Any]:
    """The article JSON for one feedparser entry (``published_at`` as a datetime)."""
    link = entry.get("link")
    summary = html_to_text(entry.get("summary"), paragraphs=False)
    item: dict[str, Any] = {
        "source": source,
        # The guid identifies an item; feeds without one are keyed on the link.
        "external_id": (entry.get("id") or link or "").strip()[:300],
        "url": link,
        "title": html_to_text(entry.get("title"), paragraphs=False)[:500],
        "summary": strip_cms_boilerplate(summary)[:5000],
        "published_at": _entry_time(entry) or now,
    }
    content = entry.get("content") or []
    if content and content[0].get("value") and content[0].get("value") != entry.get("summary"):
        item["body"] = strip_cms_boilerplate(html_to_text(content[0]["value"]))[:200_000]
    tags = []
    for tag in entry.get("tags") or []:
        term = html_to_text(tag.get("term"), paragraphs=False)[:100]
        if term and term not in tags:
            tags.append(term)
    item["tags"] = tags[:MAX_TAGS]  # an empty list is the schema's own default
    image = _entry_image(entry)
    if image:
        item["image_url"] = image
    if entry.get("author"):
        item["author"] = str(entry["author"])[:300]
    if language and 2 <= len(language) <= 20:
        item["language"] = language
    return item


def _entry_time(entry: Any) -> datetime | None:
    # feedparser normalises dates to UTC struct_time.
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if not parsed:
        return None
    return datetime.fromtimestamp(calendar.timegm(parsed), UTC)


def _entry_image(entry: Any) -> str | None:
    for media in entry.get("media_content") or []:
        kind = media.get("medium") or media.get("type") or ""
        # Media RSS makes medium/type optional; without either, an item's media is its image.
        if media.get("url") and (not kind or kind == "image" or kind.startswith("image/")):
            return str(media["url"])
    for thumb in entry.get("media_thumbnail") or []:
        if thumb.get("url"):
            return str(thumb["url"])
    for enclosure in entry.get("enclosures") or []:
        if str(enclosure.get("type", "")).startswith("image/") and enclosure.get("href"):
            return str(enclosure["href"])
    return None
