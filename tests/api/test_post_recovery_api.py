"""Undo a cancel, retry a needs_review post once checked, and mark one as published, over HTTP
with real keys, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session, col, select

from scheduler.models import AttemptStatus, AuditEvent, DeliveryAttempt, Post, PostStatus
from tests.api.conftest import ApiHarness
from tests.utils.factories import add_attempt, by_platform, seed_article, set_post

PROBLEM = "application/problem+json"


def _send(api: ApiHarness, path: str, body: Any = None, role: str = "editor") -> Any:
    return api.client.post(f"/api/v1{path}", headers=api.headers(role), json=body)


def _needs_review(api: ApiHarness, article_json: dict[str, Any]) -> dict[str, Post]:
    posts = by_platform(seed_article(api.engine, article_json))
    for post in posts.values():
        add_attempt(api.engine, post, status=AttemptStatus.UNKNOWN, message="connection dropped")
        set_post(api.engine, post.id, status=PostStatus.NEEDS_REVIEW)
    return posts


def test_cancel_then_restore_brings_the_post_back_and_a_second_restore_is_409(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    fb = by_platform(seed_article(api.engine, article_json))["facebook"]
    cancelled = _send(api, f"/posts/{fb.id}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    restored = _send(api, f"/posts/{fb.id}/restore")
    assert restored.status_code == 200, restored.text
    body = restored.json()
    assert body["status"] == "scheduled"
    assert body["scheduled_at"] == cancelled.json()["scheduled_at"]  # the same time
    again = _send(api, f"/posts/{fb.id}/restore")
    assert again.status_code == 409 and again.headers["content-type"] == PROBLEM
    assert again.json()["detail"] == "This post cannot be restored: it is already scheduled."
    with Session(api.engine) as s:
        actions = s.exec(
            select(AuditEvent.action, AuditEvent.actor)
            .where(col(AuditEvent.post_id) == fb.id)
            .order_by(col(AuditEvent.at))
        ).all()
    assert [tuple(a) for a in actions] == [
        ("post.cancel", "key:editor-key"),
        ("post.restore", "key:editor-key"),
    ]


def test_restore_of_an_unknown_post_is_404_and_ops_may_not_restore(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    assert _send(api, f"/posts/{uuid.uuid4()}/restore").status_code == 404
    fb = by_platform(seed_article(api.engine, article_json))["facebook"]
    assert _send(api, f"/posts/{fb.id}/restore", role="ops").status_code == 403


def test_retry_of_a_needs_review_post_is_409_until_the_caller_says_they_checked(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    x = _needs_review(api, article_json)["x"]
    blind = _send(api, f"/posts/{x.id}/retry")
    assert blind.status_code == 409
    assert blind.json()["detail"].startswith("This post may already be live: check the account")
    unchecked = _send(api, f"/posts/{x.id}/retry", {"checked_not_on_platform": False})
    assert unchecked.status_code == 409
    typo = _send(api, f"/posts/{x.id}/retry", {"checked": True})
    assert typo.status_code == 422 and "checked: unknown field" in typo.json()["errors"]
    not_bool = _send(api, f"/posts/{x.id}/retry", {"checked_not_on_platform": "yes"})
    assert not_bool.status_code == 422
    checked = _send(api, f"/posts/{x.id}/retry", {"checked_not_on_platform": True})
    assert checked.status_code == 200 and checked.json()["status"] == "scheduled"


def test_mark_published_validates_the_address_with_a_precise_422(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    x = _needs_review(api, article_json)["x"]
    path = f"/posts/{x.id}/mark-published"
    cases = {
        "https://example.com/newsroom/status/1": (
            "url: example.com is not X: an X post's address is on x.com or twitter.com"
        ),
        "http://x.com/newsroom/status/1": (
            "url: must start with https:// (this one starts with http://)"
        ),
        "https://x.com/newsroom": "url: an X post's address ends in /status/ and the post's "
        "number, e.g. https://x.com/newsroom/status/1850000000000000000",
    }
    for url, error in cases.items():
        refused = _send(api, path, {"url": url})
        assert refused.status_code == 422, url
        assert refused.headers["content-type"] == PROBLEM
        assert refused.json()["errors"] == [error]
    for body in (None, {}, {"url": ""}, {"url": "https://x.com/" + "a" * 2000}, {"url": 5}):
        assert _send(api, path, body).status_code == 422, body
    extra = _send(api, path, {"url": "https://x.com/a/status/1", "status": "published"})
    assert extra.status_code == 422 and "status: unknown field" in extra.json()["errors"]
    with Session(api.engine) as s:
        stored = s.get(Post, x.id)
        assert stored is not None and stored.status == PostStatus.NEEDS_REVIEW


def test_mark_published_publishes_with_the_link_and_confirms_the_attempt(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    ig = _needs_review(api, article_json)["instagram"]
    url = "https://www.instagram.com/p/C1a2B3c4D5e/"
    done = _send(api, f"/posts/{ig.id}/mark-published", {"url": url})
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["status"] == "published" and body["external_url"] == url
    assert body["attempts"]["last_status"] == "succeeded"
    with Session(api.engine) as s:
        attempt = s.exec(select(DeliveryAttempt).where(col(DeliveryAttempt.post_id) == ig.id)).one()
    assert (
        attempt.message == "published (confirmed by key:editor-key, who found it on the platform)"
    )
    again = _send(api, f"/posts/{ig.id}/mark-published", {"url": url})
    assert again.status_code == 409
    assert (
        again.json()["detail"]
        == "This post cannot be marked as published: it is already published."
    )
    missing = _send(api, f"/posts/{uuid.uuid4()}/mark-published", {"url": url})
    assert missing.status_code == 404
