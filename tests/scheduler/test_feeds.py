"""RSS/Atom polling against a feed served over real HTTP by a local server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from adapters.deadline import make_client
from config import Settings
from scheduler.channels import ensure_sandbox_channels
from scheduler.db.engine import session_scope
from scheduler.intake.feeds import FETCH_TIMEOUT, add_feed, poll_due_feeds, poll_feed
from scheduler.models import Article, FeedSource, Post, utcnow
from tests.utils.slow_server import SlowServer


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    etag: str | None = None
    content_type: str = "application/rss+xml; charset=utf-8"


@dataclass
class FeedServer:
    """Routes by path; every request is logged with its conditional headers."""

    routes: dict[str, Route] = field(default_factory=dict)
    log: list[dict[str, Any]] = field(default_factory=list)
    base_url: str = ""


@pytest.fixture
def server() -> Iterator[FeedServer]:
    state = FeedServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            route = state.routes.get(self.path)
            sent_etag = self.headers.get("If-None-Match")
            entry = {"path": self.path, "if_none_match": sent_etag}
            if route is None:
                status, body = 404, b"not found"
            elif route.etag is not None and sent_etag == route.etag:
                status, body = 304, b""
            else:
                status, body = route.status, route.body
            entry["status"] = status
            state.log.append(entry)
            self.send_response(status)
            if route is not None and route.etag is not None:
                self.send_header("ETag", route.etag)
            self.send_header("Content-Type", route.content_type if route else "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base_url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client() as c:
        yield c


@pytest.fixture
def channels(engine: Engine, settings: Settings) -> None:
    with session_scope(engine) as s:
        ensure_sandbox_channels(session=s, settings=settings)


def rss_item(n: int, *, at: datetime, guid: bool = True, extra: str = "") -> str:
    guid_xml = f'<guid isPermaLink="false">desk-{n}</guid>' if guid else ""
    return f"""
    <item>
      <title>Story {n}: Dar&#8217;s talks &amp; more</title>
      <link>https://southasiandesk.example/story-{n}/</link>
      {guid_xml}
      <pubDate>{format_datetime(at)}</pubDate>
      <description><![CDATA[<p>Summary <b>{n}</b> &amp; details.</p>]]></description>
      <category>Pakistan</category><category>Gaza</category>
      {extra}
    </item>"""


def rss(*items: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/">
  <channel>
    <title>South Asian Desk</title>
    <link>https://southasiandesk.example/</link>
    <description>News</description>
    <language>en</language>
    {"".join(items)}
  </channel>
</rss>""".encode()


def _feed(engine: Engine, url: str, name: str = "desk", now: datetime | None = None) -> Any:
    with session_scope(engine) as s:
        return add_feed(session=s, name=name, url=url, source="southasiandesk", now=now).id


def _articles(engine: Engine) -> dict[str, Article]:
    with Session(engine) as s:
        return {a.external_id: a for a in s.exec(select(Article)).all()}


def test_new_items_become_articles_and_repeats_are_ignored(
    engine: Engine, channels: None, server: FeedServer, client: httpx.Client
) -> None:
    now = utcnow()
    image = '<media:content url="https://southasiandesk.example/img/1.jpg" medium="image"/>'
    server.routes["/feed.xml"] = Route(
        body=rss(
            rss_item(1, at=now - timedelta(minutes=30), extra=image),
            rss_item(2, at=now - timedelta(minutes=10)),
            rss_item(2, at=now - timedelta(minutes=10)),  # the same guid twice
        ),
        etag='"v1"',
    )
    feed_id = _feed(engine, f"{server.base_url}/feed.xml", now=now)

    result = poll_feed(engine=engine, feed_id=feed_id, client=client, now=now)

    assert (result.outcome, result.new, result.known, result.invalid) == ("fetched", 2, 1, [])
    articles = _articles(engine)
    assert set(articles) == {"desk-1", "desk-2"}
    first = articles["desk-1"]
    assert first.source == "southasiandesk" and first.revision == 1
    assert first.title == "Story 1: Dar\u2019s talks & more"
    assert first.summary == "Summary 1 & details."
    assert first.url == "https://southasiandesk.example/story-1/"
    assert first.tags == ["Pakistan", "Gaza"]
    assert first.image_url == "https://southasiandesk.example/img/1.jpg"
    assert first.published_at == (now - timedelta(minutes=30)).replace(microsecond=0)
    with Session(engine) as s:
        assert len(s.exec(select(Post)).all()) == 6
        feed = s.get(FeedSource, feed_id)
        assert feed is not None and feed.etag == '"v1"' and feed.items_seen == 2
        assert feed.next_poll_at == now + timedelta(seconds=300)


def test_second_poll_with_the_same_etag_fetches_nothing(
    engine: Engine, channels: None, server: FeedServer, client: httpx.Client
) -> None:
    now = utcnow()
    server.routes["/feed.xml"] = Route(body=rss(rss_item(1, at=now)), etag='"v1"')
    feed_id = _feed(engine, f"{server.base_url}/feed.xml", now=now)
    poll_feed(engine=engine, feed_id=feed_id, client=client, now=now)

    later = now + timedelta(seconds=301)
    results = poll_due_feeds(engine=engine, client=client, now=later)

    assert [(r.outcome, r.http_status, r.new) for r in results] == [("not_modified", 304, 0)]
    assert server.log == [
        {"path": "/feed.xml", "if_none_match": None, "status": 200},
        {"path": "/feed.xml", "if_none_match": '"v1"', "status": 304},
    ]
    assert len(_articles(engine)) == 1
    # Not due again until the interval has passed.
    assert poll_due_feeds(engine=engine, client=client, now=later + timedelta(seconds=10)) == []


def test_item_matching_an_existing_article_is_not_ingested_again(
    engine: Engine, channels: None, server: FeedServer, client: httpx.Client
) -> None:
    now = utcnow()
    server.routes["/a.xml"] = Route(body=rss(rss_item(1, at=now)))  # no ETag: full fetch
    feed_id = _feed(engine, f"{server.base_url}/a.xml", now=now)
    poll_feed(engine=engine, feed_id=feed_id, client=client, now=now)
    server.routes["/a.xml"] = Route(body=rss(rss_item(1, at=now), rss_item(3, at=now)))

    again = poll_feed(engine=engine, feed_id=feed_id, client=client, now=now, force=True)

    assert (again.outcome, again.new, again.known) == ("fetched", 1, 1)
    assert set(_articles(engine)) == {"desk-1", "desk-3"}
    assert server.log[-1]["if_none_match"] is None


def test_atom_feed_works(
    engine: Engine, channels: None, server: FeedServer, client: httpx.Client
) -> None:
    now = utcnow()
    stamp = (now - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    server.routes["/atom.xml"] = Route(
        content_type="application/atom+xml",
        body=f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">
  <title>South Asian Desk</title>
  <id>urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6</id>
  <updated>{stamp}</updated>
  <entry>
    <title type="html">Karachi port &lt;b&gt;reopens&lt;/b&gt;</title>
    <link rel="alternate" href="https://southasiandesk.example/karachi-port/"/>
    <link rel="enclosure" type="image/jpeg" href="https://southasiandesk.example/img/port.jpg"/>
    <id>tag:southasiandesk.example,2025:karachi-port</id>
    <updated>{stamp}</updated>
    <summary>The port reopened after the storm.</summary>
    <content type="html">&lt;p&gt;Full story.&lt;/p&gt;
      &lt;p&gt;Second paragraph.&lt;/p&gt;</content>
    <category term="Karachi"/>
    <author><name>Desk</name></author>
  </entry>
</feed>""".encode(),
    )
    feed_id = _feed(engine, f"{server.base_url}/atom.xml", now=now)

    result = poll_feed(engine=engine, feed_id=feed_id, client=client, now=now)

    assert (result.outcome, result.new) == ("fetched", 1)
    article = _articles(engine)["tag:southasiandesk.example,2025:karachi-port"]
    assert article.title == "Karachi port reopens"
    assert article.url == "https://southasiandesk.example/karachi-port/"
    assert article.body == "Full story.\n\nSecond paragraph."
    assert article.image_url == "https://southasiandesk.example/img/port.jpg"
    assert article.tags == ["Karachi"] and article.author == "Desk"


def test_broken_feed_is_recorded_and_retried_with_backoff(
    engine: Engine, channels: None, server: FeedServer, client: httpx.Client
) -> None:
    now = utcnow()
    server.routes["/feed.xml"] = Route(status=500, body=b"oops")
    feed_id = _feed(engine, f"{server.base_url}/feed.xml", now=now)

    [first] = poll_due_feeds(engine=engine, client=client, now=now)
    assert (first.outcome, first.http_status) == ("failed", 500)
    with Session(engine) as s:
        feed = s.get(FeedSource, feed_id)
        assert feed is not None
        assert (feed.consecutive_failures, feed.last_status) == (1, 500)
        assert feed.last_error == "the feed answered HTTP 500"
        assert feed.next_poll_at is not None and feed.next_poll_at > now
        retry_at = feed.next_poll_at

    server.routes["/feed.xml"] = Route(
        body=b"\x00\xffthis is <not a feed", content_type="text/html"
    )
    [second] = poll_due_feeds(engine=engine, client=client, now=retry_at)
    assert second.outcome == "failed" and second.error is not None
    assert second.error.startswith("the feed could not be parsed")
    with Session(engine) as s:
        feed = s.get(FeedSource, feed_id)
        assert feed is not None and feed.consecutive_failures == 2
        assert feed.next_poll_at is not None and feed.next_poll_at > retry_at
        retry_at = feed.next_poll_at

    server.routes["/feed.xml"] = Route(body=rss(rss_item(1, at=now)))
    [third] = poll_due_feeds(engine=engine, client=client, now=retry_at)
    assert (third.outcome, third.new) == ("fetched", 1)
    with Session(engine) as s:
        feed = s.get(FeedSource, feed_id)
        assert feed is not None and feed.consecutive_failures == 0 and feed.last_error is None


def test_unreachable_feed_never_raises(engine: Engine, client: httpx.Client) -> None:
    now = utcnow()
    with session_scope(engine) as s:
        add_feed(session=s, name="gone", url="http://127.0.0.1:9/feed", source="x", now=now)
    [result] = poll_due_feeds(engine=engine, client=client, now=now)
    assert result.outcome == "failed"
    assert result.error is not None and "could not be fetched" in result.error


def test_item_without_guid_falls_back_to_link_and_invalid_items_are_skipped(
    engine: Engine, channels: None, server: FeedServer, client: httpx.Client
) -> None:
    now = utcnow()
    no_link = "<item><title>No link</title><guid>desk-9</guid></item>"
    old = rss_item(8, at=now - timedelta(days=30))
    server.routes["/feed.xml"] = Route(body=rss(rss_item(5, at=now, guid=False), no_link, old))
    feed_id = _feed(engine, f"{server.base_url}/feed.xml", now=now)

    result = poll_feed(engine=engine, feed_id=feed_id, client=client, now=now)

    assert (result.new, result.stale, len(result.invalid)) == (1, 1, 1)
    assert "url" in result.invalid[0]
    assert set(_articles(engine)) == {"https://southasiandesk.example/story-5/"}


WORDPRESS_RSS = """<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"
  xmlns:content="http://purl.org/rss/1.0/modules/content/"
  xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">
<channel>
  <title>South Asian Desk</title>
  <atom:link href="https://southasiandesk.example/feed/" rel="self" type="application/rss+xml" />
  <link>https://southasiandesk.example</link>
  <description>News from South Asia</description>
  <language>en-US</language>
  <generator>https://wordpress.org/?v=6.8.3</generator>
  <item>
    <title>Pakistan FM Dar reaches Istanbul for Gaza talks</title>
    <link>https://southasiandesk.example/2025/11/03/dar-istanbul/</link>
    <dc:creator><![CDATA[SouthAsianDesk]]></dc:creator>
    <pubDate>{pub}</pubDate>
    <category><![CDATA[South Asia]]></category>
    <guid isPermaLink="false">https://southasiandesk.example/?p=48213</guid>
    <description><![CDATA[<p>Pakistan&#8217;s Foreign Minister Ishaq Dar reached Istanbul \
on Monday for talks aimed at bolstering the [&hellip;]</p>
<p>The post <a href="https://southasiandesk.example/2025/11/03/dar-istanbul/">Pakistan FM Dar \
reaches Istanbul for Gaza talks</a> appeared first on <a href="https://southasiandesk.example">\
South Asian Desk</a>.</p>
]]></description>
    <content:encoded><![CDATA[<p>Pakistan&#8217;s Foreign Minister Ishaq Dar reached Istanbul.</p>
<p>Officials stress coordinated action.</p>
<p>The post <a href="https://southasiandesk.example/2025/11/03/dar-istanbul/">Pakistan FM Dar \
reaches Istanbul for Gaza talks</a> appeared first on <a href="https://southasiandesk.example">\
South Asian Desk</a>.</p>
]]></content:encoded>
  </item>
</channel></rss>"""


def test_wordpress_feed_boilerplate_never_reaches_the_article(
    engine: Engine, channels: None, server: FeedServer, client: httpx.Client
) -> None:
    now = utcnow()
    body = WORDPRESS_RSS.replace("{pub}", format_datetime(now - timedelta(minutes=5)))
    server.routes["/feed/"] = Route(body=body.encode())
    feed_id = _feed(engine, f"{server.base_url}/feed/", now=now)

    result = poll_feed(engine=engine, feed_id=feed_id, client=client, now=now)

    assert result.new == 1, result.invalid
    [article] = _articles(engine).values()
    assert article.summary == (
        "Pakistan\u2019s Foreign Minister Ishaq Dar reached Istanbul on Monday for talks aimed "
        "at bolstering the…"
    )
    assert article.body == (
        "Pakistan\u2019s Foreign Minister Ishaq Dar reached Istanbul.\n\n"
        "Officials stress coordinated action."
    )


@pytest.mark.parametrize("plain_client", [False, True], ids=["feed-client", "plain-client"])
def test_a_feed_trickled_one_byte_at_a_time_fails_at_its_deadline(
    engine: Engine, channels: None, plain_client: bool
) -> None:
    slow = SlowServer(interval=0.2, length=300).start()  # a minute of trickle unless cut off
    try:
        now = utcnow()
        feed_id = _feed(engine, f"{slow.url}/trickle.xml", now=now)
        client = (
            httpx.Client() if plain_client else make_client(timeout=FETCH_TIMEOUT, per_request=30.0)
        )
        start = time.monotonic()
        [result] = poll_due_feeds(engine=engine, client=client, now=now, fetch_deadline=1.5)
        assert time.monotonic() - start < 3.5
        assert result.outcome == "failed"
        assert result.error == "the feed did not answer or finish sending in time"
        with Session(engine) as s:
            feed = s.get(FeedSource, feed_id)
            assert feed is not None and feed.consecutive_failures == 1
            assert feed.last_error == result.error
    finally:
        slow.stop()


def test_items_with_nul_characters_are_skipped_with_a_reason_and_the_rest_ingested(
    engine: Engine, channels: None, server: FeedServer, client: httpx.Client
) -> None:
    # XML forbids NUL, but feedparser's lenient parser passes "&#0;" through as U+0000.
    now = utcnow()
    nul_guid = rss_item(6, at=now).replace("desk-6", "desk-6&#0;")
    nul_author = rss_item(7, at=now, extra="<author>desk&#0;@example.com</author>")
    server.routes["/feed.xml"] = Route(body=rss(nul_guid, nul_author, rss_item(3, at=now)))
    feed_id = _feed(engine, f"{server.base_url}/feed.xml", now=now)

    result = poll_feed(engine=engine, feed_id=feed_id, client=client, now=now)

    assert (result.outcome, result.new) == ("fetched", 1)
    assert sorted(result.invalid) == [
        "item 'desk-6\\x00': external_id: must not contain NUL characters",
        "item desk-7: author: must not contain NUL characters",
    ]
    assert set(_articles(engine)) == {"desk-3"}
