"""The editor API over HTTP with real keys, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from scheduler.models import Article, AuditEvent, Post, PostStatus, utcnow
from tests.api.conftest import ApiHarness
from tests.utils.factories import seed_article, set_post

PROBLEM = "application/problem+json"
LONG_X_TEXT = "Breaking: " + "word " * 61  # over X's 280


def _post(api: ApiHarness, platform: str, posts: list[Post]) -> str:
    return str(next(p.id for p in posts if p.platform == platform))


def _set_status(api: ApiHarness, post_id: str, status: PostStatus, **extra: Any) -> None:
    set_post(api.engine, uuid.UUID(post_id), status=status, **extra)


def _get(api: ApiHarness, path: str, **params: Any) -> Any:
    response = api.client.get(f"/api/v1{path}", headers=api.headers("editor"), params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _send(api: ApiHarness, method: str, path: str, body: Any = None) -> Any:
    return api.client.request(method, f"/api/v1{path}", headers=api.headers("editor"), json=body)


def test_edit_over_280_on_x_returns_the_problems_and_approval_is_refused_with_the_reason(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    x = _post(api, "x", seed_article(api.engine, article_json))
    edited = _send(api, "PATCH", f"/posts/{x}", {"text": LONG_X_TEXT})
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert body["status"] == "draft" and body["text"] == LONG_X_TEXT
    assert body["problems"] and "characters by X's count" in body["problems"][0]
    assert body["weighted_length"] > 280
    refused = _send(api, "POST", f"/posts/{x}/approve")
    assert refused.status_code == 409
    assert refused.headers["content-type"] == PROBLEM
    assert refused.json()["detail"].startswith("This post cannot be approved: The post is ")
    fixed = _send(api, "PATCH", f"/posts/{x}", {"text": "Dar in Istanbul for Gaza talks"})
    assert fixed.json()["problems"] == [] and fixed.json()["status"] == "scheduled"


def test_edit_request_refuses_unknown_fields_and_oversized_text(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    fb = _post(api, "facebook", seed_article(api.engine, article_json))
    extra = _send(api, "PATCH", f"/posts/{fb}", {"text": "ok", "status": "published"})
    assert extra.status_code == 422 and "status: unknown field" in extra.json()["errors"]
    huge = _send(api, "PATCH", f"/posts/{fb}", {"text": "x" * 10_001})
    assert huge.status_code == 422 and huge.json()["errors"][0].startswith("text:")
    nul = _send(api, "PATCH", f"/posts/{fb}", {"text": "a\x00b"})
    assert nul.status_code == 422
    assert _get(api, f"/posts/{fb}")["text_override"] is None


def test_unknown_post_is_404_and_a_malformed_id_is_422(api: ApiHarness) -> None:
    missing = _send(api, "POST", f"/posts/{uuid.uuid4()}/approve")
    assert missing.status_code == 404 and missing.headers["content-type"] == PROBLEM
    malformed = _send(api, "GET", "/posts/not-a-uuid")
    assert malformed.status_code == 422 and malformed.headers["content-type"] == PROBLEM


def test_schedule_with_plus_five_offset_stores_the_utc_instant(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    x = _post(api, "x", seed_article(api.engine, article_json))
    day = (utcnow() + timedelta(days=3)).date().isoformat()
    response = _send(api, "POST", f"/posts/{x}/schedule", {"at": f"{day}T18:00:00+05:00"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert datetime.fromisoformat(body["scheduled_at"]) == datetime.fromisoformat(
        f"{day}T13:00:00+00:00"
    )
    assert body["scheduled_at_local"] == f"{day}T18:00:00+05:00"  # the channel is Asia/Karachi
    with Session(api.engine) as s:
        stored = s.get(Post, uuid.UUID(x))
        assert stored is not None and stored.scheduled_at is not None
        assert stored.scheduled_at.astimezone(UTC).hour == 13


def test_schedule_without_an_offset_is_422_with_a_readable_error(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    x = _post(api, "x", seed_article(api.engine, article_json))
    response = _send(api, "POST", f"/posts/{x}/schedule", {"at": "2026-11-25T18:00:00"})
    assert response.status_code == 422
    assert response.json()["errors"] == ["at: must include a time zone offset"]
    far = (utcnow() + timedelta(days=500)).isoformat()
    assert _send(api, "POST", f"/posts/{x}/schedule", {"at": far}).status_code == 422


def test_post_now_cancel_and_their_refusals(api: ApiHarness, article_json: dict[str, Any]) -> None:
    posts = seed_article(api.engine, article_json)
    fb, ig = _post(api, "facebook", posts), _post(api, "instagram", posts)
    now = _send(api, "POST", f"/posts/{fb}/post-now")
    assert now.status_code == 200
    assert datetime.fromisoformat(now.json()["scheduled_at"]) <= utcnow()
    cancelled = _send(api, "POST", f"/posts/{ig}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    _set_status(api, fb, PostStatus.PUBLISHED)
    refused = _send(api, "POST", f"/posts/{fb}/cancel")
    assert refused.status_code == 409
    assert refused.json()["detail"] == "This post cannot be cancelled: it is already published."


def test_retry_over_http_touches_only_that_post(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    posts = seed_article(api.engine, article_json)
    for p in posts:
        _set_status(api, str(p.id), PostStatus.FAILED, last_error="Refused by the platform.")
    x = _post(api, "x", posts)
    response = _send(api, "POST", f"/posts/{x}/retry")
    assert response.status_code == 200 and response.json()["status"] == "scheduled"
    with Session(api.engine) as s:
        others = s.exec(select(Post).where(col(Post.id) != uuid.UUID(x))).all()
    assert {p.status for p in others} == {PostStatus.FAILED}
    assert {p.version for p in others} == {1}
    assert _send(api, "POST", f"/posts/{x}/retry").status_code == 409


def test_actions_are_audited_with_the_key_that_did_them(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    x = _post(api, "x", seed_article(api.engine, article_json))
    _set_status(api, x, PostStatus.PENDING_APPROVAL)
    assert _send(api, "POST", f"/posts/{x}/approve").status_code == 200
    assert _send(api, "PATCH", f"/posts/{x}", {"text": "New copy"}).status_code == 200
    assert _send(api, "POST", f"/posts/{x}/cancel").status_code == 200
    with Session(api.engine) as s:
        events = s.exec(
            select(AuditEvent)
            .where(AuditEvent.post_id == uuid.UUID(x))
            .order_by(col(AuditEvent.at))
        ).all()
    assert [e.action for e in events] == ["post.approve", "post.edit", "post.cancel"]
    assert {e.actor for e in events} == {"key:editor-key"}
    assert events[0].before["status"] == "pending_approval"
    assert events[1].after["text"] == "New copy"


def test_listing_posts_pages_with_a_cursor_and_filters(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    for i in range(3):
        seed_article(api.engine, article_json, tag=f"page{i}")
    ids: list[str] = []
    cursor = None
    while True:
        page = _get(api, "/posts", limit=4, **({"cursor": cursor} if cursor else {}))
        ids += [p["id"] for p in page["posts"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(ids) == 9 and len(set(ids)) == 9
    xs = _get(api, "/posts", channel="x")["posts"]
    assert len(xs) == 3 and {p["channel"] for p in xs} == {"x"}
    window = _get(
        api,
        "/posts",
        status="scheduled",
        **{"from": utcnow().isoformat(), "to": (utcnow() + timedelta(hours=2)).isoformat()},
    )
    assert len(window["posts"]) == 9
    bad = api.client.get(
        "/api/v1/posts", headers=api.headers("editor"), params={"cursor": "garbage"}
    )
    assert bad.status_code == 422 and bad.json()["errors"][0].startswith("cursor:")
    too_many = api.client.get("/api/v1/posts", headers=api.headers("editor"), params={"limit": 201})
    assert too_many.status_code == 422


def test_post_detail_over_http(api: ApiHarness, article_json: dict[str, Any]) -> None:
    ig = _post(api, "instagram", seed_article(api.engine, article_json))
    detail = _get(api, f"/posts/{ig}")
    assert detail["article_title"] == article_json["title"]
    assert detail["channel"] == "instagram" and detail["channel_timezone"] == "Asia/Karachi"
    assert detail["attempts"] == {"count": 0, "last_status": None, "items": []}


def test_submitting_an_article_creates_its_posts_and_lists_it(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    created = _send(api, "POST", "/articles", article_json)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["created"] is True and len(body["posts"]) == 3
    assert {p["status"] for p in body["posts"]} == {"rendering"}
    again = _send(api, "POST", "/articles", article_json)
    assert again.status_code == 200 and again.json()["created"] is False
    listed = _get(api, "/articles")
    assert [a["id"] for a in listed["articles"]] == [body["id"]]
    detail = _get(api, f"/articles/{body['id']}")
    assert detail["title"] == article_json["title"] and len(detail["posts"]) == 3
    assert _send(api, "GET", f"/articles/{uuid.uuid4()}").status_code == 404


def test_an_invalid_article_is_refused_field_by_field_and_nothing_is_written(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    bad = dict(article_json, url="not a url", published_at="2025-11-03T16:35:00", colour="red")
    del bad["title"]
    response = _send(api, "POST", "/articles", bad)
    assert response.status_code == 422 and response.headers["content-type"] == PROBLEM
    errors = response.json()["errors"]
    assert {e.split(":")[0] for e in errors} == {"url", "published_at", "colour", "title"}
    with Session(api.engine) as s:
        assert s.exec(select(Article)).all() == []


def test_articles_page_newest_first_with_a_cursor(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    for i in range(5):
        seed_article(api.engine, article_json, tag=f"a{i}")
    first = _get(api, "/articles", limit=2)
    second = _get(api, "/articles", limit=2, cursor=first["next_cursor"])
    third = _get(api, "/articles", limit=2, cursor=second["next_cursor"])
    ids = [a["id"] for page in (first, second, third) for a in page["articles"]]
    assert len(ids) == 5 == len(set(ids)) and third["next_cursor"] is None


def test_requiring_approval_on_a_channel_sends_its_posts_to_approval(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    posts = seed_article(api.engine, article_json)
    x = next(p for p in posts if p.platform == "x")
    response = _send(api, "PUT", f"/channels/{x.channel_id}/approval", {"required": True})
    assert response.status_code == 200, response.text
    assert response.json() == {
        "channel_id": str(x.channel_id),
        "required": True,
        "posts_held": 1,
        "posts_released": 0,
    }
    assert _get(api, f"/posts/{x.id}")["status"] == "pending_approval"
    approved = _send(api, "POST", f"/posts/{x.id}/approve").json()
    assert approved["status"] == "scheduled" and approved["approved_by"] == "key:editor-key"
    missing = _send(api, "PUT", f"/channels/{uuid.uuid4()}/approval", {"required": True})
    assert missing.status_code == 404


def test_requiring_approval_for_a_source_sends_its_posts_to_approval(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    posts = seed_article(api.engine, article_json)
    source = article_json["source"]
    held = _send(api, "PUT", f"/sources/{source}/approval", {"required": True})
    assert held.status_code == 200 and held.json()["posts_held"] == 3
    assert {_get(api, f"/posts/{p.id}")["status"] for p in posts} == {"pending_approval"}
    released = _send(api, "PUT", f"/sources/{source}/approval", {"required": False}).json()
    assert released["required"] is False and released["posts_released"] == 3


def test_ops_keys_may_not_use_the_editor_api(api: ApiHarness, article_json: dict[str, Any]) -> None:
    x = _post(api, "x", seed_article(api.engine, article_json))
    response = api.client.post(f"/api/v1/posts/{x}/cancel", headers=api.headers("ops"))
    assert response.status_code == 403
    assert api.client.post(f"/api/v1/posts/{x}/cancel", headers=api.headers("admin")).is_success
