"""What a WordPress site's feed sends reaches the previews clean: the "The post … appeared first
on …" footer and the excerpt's "[…]" never show in the Facebook or Instagram preview, and an
article with 60 tags (more than the 50 once refused) is accepted, its Instagram caption
keeping Instagram's 30 hashtags."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session

from scheduler.models import Article
from tests.web.service import RunningService, variant

pytestmark = pytest.mark.browser

TITLE = "Rain floods the old city's markets"
OWN_WORDS = "Traders moved their stock to upper floors as the water rose overnight."
FOOTER = f"The post {TITLE} appeared first on Desk News."
TAGS = [f"market{i}" for i in range(60)]


def wordpress_rss(link: str) -> bytes:
    """One item as WordPress's feed writes it: the excerpt ends in "[…]" and both it and the
    content carry the Yoast/core footer; each tag is a <category>."""
    categories = "".join(f"<category><![CDATA[{t}]]></category>" for t in TAGS)
    content = f"<p>{OWN_WORDS}</p><p>Shops reopen tomorrow.</p><p>{FOOTER}</p>"
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>Desk News</title><link>{escape(link)}</link><description>news</description>
<item><title>{escape(TITLE)}</title><link>{escape(link)}</link>
<guid isPermaLink="false">{escape(link)}?p=4242</guid>
<pubDate>{format_datetime(datetime.now(UTC))}</pubDate>{categories}
<description><![CDATA[<p>{OWN_WORDS} [&hellip;]</p><p>{FOOTER}</p>]]></description>
<content:encoded><![CDATA[{content}]]></content:encoded>
</item></channel></rss>""".encode()


@pytest.fixture(scope="module")
def feed_url() -> Iterator[str]:
    class Feed(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = wordpress_rss("https://desk.example/2026/rain-floods-markets/")
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Feed)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/feed/"
    server.shutdown()
    server.server_close()


def _article(service: RunningService, article_id: Any) -> Article:
    with Session(service.engine) as s:
        found = s.get(Article, article_id)
        assert found is not None
        return found


def _open_article(page: Page, article_id: Any) -> None:
    page.goto(f"/articles/{article_id}")
    for platform in ("instagram", "facebook"):
        expect(page.locator(f'.post-card[data-platform="{platform}"] .pv-text')).to_be_visible()


def test_a_wordpress_feed_item_shows_no_footer_and_keeps_its_60_tags(
    editor_page: Page, service: RunningService, feed_url: str
) -> None:
    service.cli("feeds", "add", "desk-wp", feed_url, "--source", "desknews")
    assert "1 new" in service.cli("feeds", "poll", "--name", "desk-wp")
    guid = "https://desk.example/2026/rain-floods-markets/?p=4242"
    posts = service.wait_posts(guid, {"instagram": {"published"}, "facebook": {"published"}})
    article = _article(service, posts["facebook"].article_id)
    assert list(article.tags) == TAGS
    assert "appeared first" not in (article.summary or "") + (article.body or "")

    page = editor_page
    _open_article(page, article.id)
    for platform in ("instagram", "facebook"):
        card = page.locator(f'.post-card[data-platform="{platform}"] .pv')
        expect(card).to_contain_text(OWN_WORDS.removesuffix("."))
        expect(card).not_to_contain_text("appeared first")
        expect(card).not_to_contain_text("Desk News.")
        expect(card).not_to_contain_text("[…]")
        expect(card).not_to_contain_text("[...]")
    expect(page.locator(".hashtag-count")).to_contain_text("30 hashtags (Instagram allows 30)")


def test_an_article_with_60_tags_is_accepted_with_30_hashtags_on_instagram(
    editor_page: Page, service: RunningService
) -> None:
    data = variant("sixty-tags", tags=[f"Topic {i}" for i in range(60)])
    service.add_article(data)
    posts = service.wait_posts(
        data["external_id"], {"instagram": {"published"}, "facebook": {"published"}}
    )
    assert len(_article(service, posts["instagram"].article_id).tags) == 60
    page = editor_page
    _open_article(page, posts["instagram"].article_id)
    expect(page.locator(".hashtag-count")).to_contain_text("30 hashtags (Instagram allows 30)")
    caption = page.locator('.post-card[data-platform="instagram"] .pv-text').inner_text()
    assert caption.count("#") == 30
    assert "#Topic0" in caption
