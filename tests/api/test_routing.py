"""Channel routing through the HTTP API: a channel takes only the articles its rules match, an
article no channel takes creates no post and the answer says so, a re-published article follows
the rules in force, and bad rules are refused with the field named."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from scheduler.intake.routing import NO_ROUTE_NOTE, UNROUTED_REASON
from scheduler.models import Channel, Post, PostStatus
from tests.api.conftest import ApiHarness

ARTICLES = "/api/v1/articles"


def _channel_ids(api: ApiHarness) -> dict[str, uuid.UUID]:
    with Session(api.engine) as s:
        return {str(c.platform): c.id for c in s.exec(select(Channel)).all()}


def _route(api: ApiHarness, platform: str, routing: dict[str, Any]) -> Any:
    channel_id = _channel_ids(api)[platform]
    r = api.client.get(f"/api/v1/admin/channels/{channel_id}", headers=api.headers("admin"))
    current = r.json().get("settings", {}) if r.status_code == 200 else {}
    return api.client.patch(
        f"/api/v1/admin/channels/{channel_id}",
        json={"settings": {**current, "routing": routing}},
        headers=api.headers("admin"),
    )


def _article(base: dict[str, Any], ext: str, section: str, tags: list[str]) -> dict[str, Any]:
    return {**base, "external_id": ext, "section": section, "tags": tags}


def _platforms_of(api: ApiHarness, article_id: str) -> dict[str, str]:
    with Session(api.engine) as s:
        posts = s.exec(select(Post).where(Post.article_id == uuid.UUID(article_id))).all()
        return {str(p.platform): str(p.status) for p in posts}


def test_sports_only_channel_receives_posts_only_for_sports_articles(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    r = _route(api, "x", {"sections": ["Sports"], "exclude_tags": ["advertorial"]})
    assert r.status_code == 200, r.text
    editor = api.headers("editor")

    sports = api.client.post(
        ARTICLES, json=_article(article_json, "s-1", "sports", ["cricket"]), headers=editor
    )
    politics = api.client.post(
        ARTICLES, json=_article(article_json, "p-1", "Politics", ["gaza"]), headers=editor
    )
    advert = api.client.post(
        ARTICLES, json=_article(article_json, "s-2", "Sports", ["Advertorial"]), headers=editor
    )
    assert sports.status_code == politics.status_code == advert.status_code == 201
    # The sports article reaches every channel (the other two take everything) …
    assert set(_platforms_of(api, sports.json()["id"])) == {"x", "instagram", "facebook"}
    assert sports.json()["posts_created"] == 3 and sports.json()["note"] is None
    # … politics and an excluded tag reach only the two that take everything.
    assert set(_platforms_of(api, politics.json()["id"])) == {"instagram", "facebook"}
    assert set(_platforms_of(api, advert.json()["id"])) == {"instagram", "facebook"}


def test_article_no_channel_takes_creates_no_post_and_the_answer_says_so(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    for platform in ("x", "instagram", "facebook"):
        assert _route(api, platform, {"sources": ["other-desk"]}).status_code == 200
    r = api.client.post(ARTICLES, json=article_json, headers=api.headers("editor"))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["posts_created"] == 0
    assert body["note"] == NO_ROUTE_NOTE
    assert _platforms_of(api, body["id"]) == {}


def test_republished_article_follows_the_rules_in_force(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    editor = api.headers("editor")
    first = api.client.post(ARTICLES, json={**article_json, "revision": 1}, headers=editor)
    assert set(_platforms_of(api, first.json()["id"])) == {"x", "instagram", "facebook"}
    # X now takes only sports; Facebook now excludes the article's section.
    assert _route(api, "x", {"sections": ["Sports"]}).status_code == 200
    assert _route(api, "facebook", {"exclude_sections": ["south asia"]}).status_code == 200
    again = api.client.post(
        ARTICLES, json={**article_json, "revision": 2, "title": "Updated"}, headers=editor
    )
    assert again.status_code == 200, again.text
    assert again.json()["posts_cancelled"] == 2
    statuses = _platforms_of(api, first.json()["id"])
    assert statuses["x"] == statuses["facebook"] == PostStatus.CANCELLED.value
    assert statuses["instagram"] == PostStatus.RENDERING.value
    with Session(api.engine) as s:
        reasons = {p.last_error for p in s.exec(select(Post)).all() if p.status == "cancelled"}
    assert reasons == {UNROUTED_REASON}


def test_bad_routing_rules_are_refused_with_the_field_named(api: ApiHarness) -> None:
    unknown = _route(api, "x", {"section": ["Sports"]})
    assert unknown.status_code == 422, unknown.text
    assert "routing" in unknown.text and "section" in unknown.text
    blank = _route(api, "x", {"tags_any": ["  "]})
    assert blank.status_code == 422, blank.text
    assert "tags_any" in blank.text and "empty name" in blank.text
    with Session(api.engine) as s:
        x = s.exec(select(Channel).where(Channel.platform == "x")).one()
        stored = (x.settings or {}).get("routing") or {}
        assert not stored.get("tags_any") and not stored.get("sections")  # nothing stored


def test_scheduling_in_the_past_is_refused_with_a_422_sentence(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    created = api.client.post(ARTICLES, json=article_json, headers=api.headers("editor"))
    post_id = next(p for p in api.posts() if p.platform == "x").id
    before = next(p for p in api.posts() if p.id == post_id).scheduled_at
    karachi = datetime.now(ZoneInfo("Asia/Karachi")) - timedelta(hours=2)
    r = api.client.post(
        f"/api/v1/posts/{post_id}/schedule",
        json={"at": karachi.isoformat()},
        headers=api.headers("editor"),
    )
    assert created.status_code == 201 and r.status_code == 422, r.text
    zone = next(c for c in r.json()["errors"])
    assert "That time has passed (" in zone and "Choose a later time, or use Post now." in zone
    assert next(p for p in api.posts() if p.id == post_id).scheduled_at == before
