"""Right-to-left titles and post texts read right: previews and text boxes carry dir="auto"."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scheduler.models import Role
from tests.api.conftest import ApiHarness, build_harness
from tests.security.webclient import make_user, sign_in
from tests.utils.factories import seed_article

URDU_TITLE = "وزیر خارجہ اسحاق ڈار غزہ مذاکرات کے لیے استنبول پہنچ گئے"


@pytest.fixture
def web(tmp_path: Path, db_url: str) -> Iterator[ApiHarness]:
    for harness in build_harness(tmp_path, db_url):
        make_user(harness.engine, "alice", Role.ADMIN)
        yield harness


def _tags_around(html: str, text: str) -> list[str]:
    """The opening tag of each element whose text starts with ``text``."""
    return re.findall(r"<(?:h1|a|p|strong|textarea)\b[^>]*>\s*" + re.escape(text[:20]), html)


def test_urdu_titles_and_texts_get_dir_auto_on_every_page(
    web: ApiHarness, article_json: dict[str, Any]
) -> None:
    posts = seed_article(web.engine, dict(article_json, title=URDU_TITLE, language="ur"))
    assert sign_in(web.client, "alice").status_code == 303
    article = web.client.get(f"/articles/{posts[0].article_id}")
    queue = web.client.get("/")
    assert article.status_code == 200 and queue.status_code == 200
    # The h1, three previews, three text boxes (and link cards) on the article page.
    on_article = _tags_around(article.text, URDU_TITLE)
    assert len(on_article) >= 7 and all('dir="auto"' in tag for tag in on_article), on_article
    on_queue = _tags_around(queue.text, URDU_TITLE)
    assert on_queue and all('dir="auto"' in tag for tag in on_queue), on_queue
