"""``first_comment`` through ``PATCH /api/v1/admin/channels/{id}``: a template with a field that
does not exist is refused with a 422 naming the field and the setting; a good one is stored.
And the article page shows the follow-up small under its parent's card."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlmodel import Session, select

from scheduler.db.engine import session_scope
from scheduler.models import Channel, Role
from tests.api.conftest import ApiHarness
from tests.conftest import FIXTURE_ARTICLE
from tests.security.webclient import make_user, sign_in
from tests.utils.factories import seed_article, set_post


def _instagram(api: ApiHarness) -> uuid.UUID:
    with Session(api.engine) as s:
        return s.exec(select(Channel.id).where(Channel.platform == "instagram")).one()


def test_first_comment_with_unknown_placeholder_is_a_precise_422(sqlite_api: ApiHarness) -> None:
    url = f"/api/v1/admin/channels/{_instagram(sqlite_api)}"
    bad = sqlite_api.client.patch(
        url,
        json={"settings": {"first_comment": "Read: {link} {headline}"}},
        headers=sqlite_api.headers("admin"),
    )
    assert bad.status_code == 422, bad.text
    assert "settings.first_comment" in bad.text
    assert "The template uses {headline}, which is not a field" in bad.text
    good = sqlite_api.client.patch(
        url,
        json={"settings": {"first_comment": "Read the full story: {link}"}},
        headers=sqlite_api.headers("admin"),
    )
    assert good.status_code == 200, good.text
    assert good.json()["settings"]["first_comment"] == "Read the full story: {link}"
    cleared = sqlite_api.client.patch(
        url, json={"settings": {"first_comment": None}}, headers=sqlite_api.headers("admin")
    )
    assert cleared.json()["settings"]["first_comment"] is None


def test_article_page_shows_the_followup_small_under_its_parent(sqlite_api: ApiHarness) -> None:
    with session_scope(sqlite_api.engine) as s:
        channel = s.get(Channel, _instagram(sqlite_api))
        assert channel is not None
        channel.settings = {**channel.settings, "first_comment": "Read the full story: {link}"}
        s.add(channel)
    article: dict[str, Any] = json.loads(FIXTURE_ARTICLE.read_text(encoding="utf-8"))
    posts = seed_article(sqlite_api.engine, article, "page")
    comment = next(p for p in posts if p.kind == "comment")
    set_post(
        sqlite_api.engine,
        comment.id,
        text="Read the full story: https://example.pk/a",
        wait_code="parent",
        wait_reason="Goes out once its parent post is live.",
    )
    make_user(sqlite_api.engine, "alice", Role.EDITOR)
    assert sign_in(sqlite_api.client, "alice").status_code == 303
    html = sqlite_api.client.get(f"/articles/{comment.article_id}").text
    parent_card = html.index(f'id="post-{comment.parent_id}"')
    followup = html.index(f'id="post-{comment.id}"')
    next_card = html.find('<article class="post-card', parent_card + 1)
    # Inside the Instagram card: after it opens, before the next card.
    assert parent_card < followup and (next_card == -1 or followup < next_card)
    section = html[followup : html.index("</section>", followup)]
    assert "First comment" in section and "badge-scheduled" in section
    assert "Read the full story: https://example.pk/a" in section
    assert "Goes out once its parent post is live." in section
    assert html.count('class="post-card') == 3  # the follow-up is not a card of its own
