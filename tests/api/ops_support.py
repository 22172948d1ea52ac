"""What the ops and admin API tests share: a GET that must answer 200, posts by platform,
forcing a post's status."""

from __future__ import annotations

import uuid
from typing import Any

from scheduler.db.engine import session_scope
from scheduler.models import Post, PostStatus
from tests.api.conftest import ApiHarness

ZERO = uuid.UUID(int=0)


def _get(api: ApiHarness, path: str, role: str = "ops", **params: Any) -> Any:
    response = api.client.get(path, headers=api.headers(role), params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _by_platform(posts: list[Post]) -> dict[str, Post]:
    return {str(p.platform): p for p in posts}


def _set_status(api: ApiHarness, post_id: Any, status: PostStatus) -> None:
    with session_scope(api.engine) as s:
        post = s.get(Post, post_id)
        assert post is not None
        post.status = status
        s.add(post)
