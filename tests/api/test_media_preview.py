"""The article page's previews of posts with an image (server-rendered HTML): an X post with an
attached image shows the image with its alt text instead of the link card, and a Facebook photo
post shows the photo instead of the link card; posts without media keep their link cards."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scheduler.models import Role
from tests.api.conftest import ApiHarness, build_harness
from tests.security.webclient import make_user, sign_in
from tests.utils.factories import by_platform, seed_article, set_post

ALT = "Ishaq Dar and Hakan Fidan in Istanbul"


@pytest.fixture
def web(tmp_path: Path, db_url: str) -> Iterator[ApiHarness]:
    for harness in build_harness(tmp_path, db_url):
        make_user(harness.engine, "alice", Role.EDITOR)
        yield harness


def preview(html: str, platform: str) -> str:
    """The preview block of one platform's post card."""
    match = re.search(rf'<div class="pv pv-{platform}".*?\n  </div>', html, re.S)
    assert match, platform
    return match.group(0)


def media(name: str, *, alt_text: str = "") -> list[dict[str, Any]]:
    item = {
        "url": f"http://127.0.0.1:1/media/{name}",
        "path": f"/data/media/{name}",
        "width": 1080,
        "height": 608,
        "content_type": "image/jpeg",
    }
    return [{**item, "alt_text": alt_text} if alt_text else item]


def test_x_and_facebook_previews_show_the_attached_image(
    web: ApiHarness, article_json: dict[str, Any]
) -> None:
    posts = by_platform(seed_article(web.engine, article_json))
    link = "https://southasiandesk.example/news/dar?utm_source=x"
    set_post(web.engine, posts["x"].id, media=media("a1.jpg", alt_text=ALT), link=link)
    set_post(web.engine, posts["facebook"].id, media=media("b2.jpg", alt_text=ALT), link=link)
    assert sign_in(web.client, "alice").status_code == 303
    page = web.client.get(f"/articles/{posts['x'].article_id}")
    assert page.status_code == 200
    x = preview(page.text, "x")
    assert re.search(rf'<img class="pv-media pv-x-media" src="[^"]*a1\.jpg" alt="{ALT}"', x), x
    assert 'width="1080" height="608"' in x and "pv-linkcard" not in x
    fb = preview(page.text, "fb")
    assert re.search(rf'<img class="pv-media pv-fb-photo" src="[^"]*b2\.jpg" alt="{ALT}"', fb), fb
    assert "pv-fb-card" not in fb


def test_posts_without_media_keep_their_link_cards(
    web: ApiHarness, article_json: dict[str, Any]
) -> None:
    posts = by_platform(seed_article(web.engine, article_json))
    link = "https://southasiandesk.example/news/dar?utm_source=x"
    set_post(web.engine, posts["x"].id, link=link)
    assert sign_in(web.client, "alice").status_code == 303
    page = web.client.get(f"/articles/{posts['x'].article_id}").text
    assert "pv-linkcard" in preview(page, "x") and "pv-media" not in preview(page, "x")
    assert "pv-fb-card" in preview(page, "fb") and "pv-media" not in preview(page, "fb")
