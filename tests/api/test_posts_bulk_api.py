"""``POST /api/v1/posts/bulk`` over HTTP with real keys, on SQLite and PostgreSQL: a per-post
report, and 422 with a precise message for an invalid body (nothing changes then)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from scheduler.models import PostStatus
from tests.api.conftest import ApiHarness
from tests.utils.factories import by_platform, seed_article, set_post

PROBLEM = "application/problem+json"


def _bulk(api: ApiHarness, body: Any, role: str = "editor") -> Any:
    return api.client.post("/api/v1/posts/bulk", headers=api.headers(role), json=body)


def test_bulk_approve_reports_each_post(api: ApiHarness, article_json: dict[str, Any]) -> None:
    posts = by_platform(seed_article(api.engine, article_json, status=PostStatus.PENDING_APPROVAL))
    set_post(api.engine, posts["facebook"].id, status=PostStatus.PUBLISHED)
    ids = [str(posts[p].id) for p in ("x", "instagram", "facebook")]
    response = _bulk(api, {"action": "approve", "post_ids": ids})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["summary"] == "2 approved; 1 skipped: already published"
    assert (body["applied"], body["skipped"]) == (2, 1)
    assert body["results"][2] == {
        "post_id": ids[2],
        "applied": False,
        "status": "published",
        "reason": "already published",
    }
    assert body["results"][0]["status"] == "scheduled"


def test_bulk_schedule_takes_an_aware_time(api: ApiHarness, article_json: dict[str, Any]) -> None:
    posts = by_platform(seed_article(api.engine, article_json))
    at = (datetime.now(UTC) + timedelta(hours=6)).replace(microsecond=0)
    body = {
        "action": "schedule",
        "post_ids": [str(p.id) for p in posts.values()],
        "at": at.isoformat(),
    }
    response = _bulk(api, body)
    assert response.status_code == 200, response.text
    assert response.json()["summary"] == "3 scheduled"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            {"action": "publish", "post_ids": ["ID"]},
            "(body): Input tag 'publish' found using 'action' does not match any of the",
        ),
        ({"action": "cancel", "post_ids": []}, "cancel.post_ids: List should have at least 1 item"),
        (
            {"action": "cancel", "post_ids": ["ID"] * 201},
            "cancel.post_ids: List should have at most 200 items",
        ),
        (
            {"action": "cancel", "post_ids": ["ID", "walk-20"]},
            "cancel.post_ids.1: Input should be a valid UUID",
        ),
        (
            {"action": "schedule", "post_ids": ["ID"]},
            "schedule.at: required field is missing",
        ),
        (
            {"action": "schedule", "post_ids": ["ID"], "at": "2030-01-01T10:00:00"},
            "schedule.at: must include a time zone offset",
        ),
        (
            {"action": "schedule", "post_ids": ["ID"], "at": "2020-01-01T10:00:00+05:00"},
            "at: That time has passed",
        ),
        (
            {"action": "cancel", "post_ids": ["ID"], "at": "2030-01-01T10:00:00+05:00"},
            "cancel.at: unknown field",
        ),
        ({"action": "cancel", "post_ids": ["ID"], "why": "x"}, "cancel.why: unknown field"),
    ],
)
def test_an_invalid_body_is_422_with_the_field_and_nothing_changes(
    api: ApiHarness, article_json: dict[str, Any], body: dict[str, Any], error: str
) -> None:
    posts = by_platform(seed_article(api.engine, article_json))
    post_id = str(posts["x"].id)
    body = {**body, "post_ids": [post_id if v == "ID" else v for v in body["post_ids"]]}
    response = _bulk(api, body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert any(line.startswith(error) for line in response.json()["errors"]), response.json()
    assert {str(p.status) for p in api.posts()} == {"scheduled"}


def test_ops_may_not_bulk_act(api: ApiHarness) -> None:
    response = _bulk(api, {"action": "cancel", "post_ids": [str(uuid.uuid4())]}, role="ops")
    assert response.status_code == 403
