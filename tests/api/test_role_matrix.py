"""Every API route, called with no key and with an editor, ops and admin key: 401 without a
key, 403 for a role the route does not admit, and past authentication for the roles it does
(2xx, or a 4xx that is neither 401 nor 403, e.g. 404 for a random id).  The table below is the
declared policy; a route in the app without a row fails the suite, so no endpoint ships without
a decision about who may call it.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.api.conftest import ApiHarness
from tests.conftest import FIXTURE_ARTICLE
from tests.utils.factories import seed_article

EDITOR, OPS, ADMIN = "editor", "ops", "admin"
ROLES = (EDITOR, OPS, ADMIN)


@dataclass(frozen=True)
class Rule:
    """Who may call a route, a body that passes validation, and the status allowed callers get."""

    roles: frozenset[str]
    body: dict[str, Any] | None = None
    expect: tuple[int, ...] = (200,)
    params: dict[str, Any] = field(default_factory=dict)


def rule(*roles: str, **kw: Any) -> Rule:
    return Rule(roles=frozenset({*roles, ADMIN}), **kw)


SANDBOX_X_TOKEN = "sandbox-token-1700000000000000001"
TOMORROW = (datetime.now(UTC) + timedelta(days=1)).isoformat()
ARTICLE: dict[str, Any] = json.loads(FIXTURE_ARTICLE.read_text(encoding="utf-8")) | {
    "external_id": "role-matrix-article"
}

#: (method, path) → rule.  Webhooks are HMAC-signed, not key-authenticated (tested apart).
TABLE: dict[tuple[str, str], Rule] = {
    # The editor's desk: the post queue, its actions (the post's state may refuse with 409),
    # articles, and the approval rules.
    ("GET", "/api/v1/posts"): rule(EDITOR),
    ("GET", "/api/v1/posts/{post_id}"): rule(EDITOR),
    ("PATCH", "/api/v1/posts/{post_id}"): rule(EDITOR, body={"text": "Edited copy {n}"}),
    ("POST", "/api/v1/posts/{post_id}/approve"): rule(EDITOR, expect=(200, 409)),
    ("POST", "/api/v1/posts/{post_id}/schedule"): rule(
        EDITOR, body={"at": TOMORROW}, expect=(200, 409)
    ),
    ("POST", "/api/v1/posts/{post_id}/post-now"): rule(EDITOR, expect=(200, 409)),
    ("POST", "/api/v1/posts/{post_id}/cancel"): rule(EDITOR, expect=(200, 409)),
    ("POST", "/api/v1/posts/{post_id}/retry"): rule(EDITOR, expect=(200, 409)),
    ("POST", "/api/v1/posts/{post_id}/restore"): rule(EDITOR, expect=(200, 409)),
    ("POST", "/api/v1/posts/{post_id}/mark-published"): rule(
        EDITOR, body={"url": "https://x.com/newsroom/status/1"}, expect=(200, 409)
    ),
    # A random id: 200 with "0 cancelled; 1 skipped: no such post".
    ("POST", "/api/v1/posts/bulk"): rule(
        EDITOR, body={"action": "cancel", "post_ids": [str(uuid.uuid4())]}
    ),
    ("GET", "/api/v1/articles"): rule(EDITOR),
    ("GET", "/api/v1/articles/{article_id}"): rule(EDITOR),
    ("POST", "/api/v1/articles"): rule(EDITOR, body=ARTICLE, expect=(200, 201)),
    ("PUT", "/api/v1/channels/{channel_id}/approval"): rule(EDITOR, body={"required": False}),
    ("PUT", "/api/v1/sources/{source}/approval"): rule(EDITOR, body={"required": False}),
    # Ops: the delivery log, channel health and control, the audit trail.
    ("GET", "/api/v1/deliveries"): rule(OPS),
    ("GET", "/api/v1/deliveries/stream"): rule(OPS, params={"max_seconds": 0.1}),
    ("GET", "/api/v1/channels"): rule(OPS),
    ("GET", "/api/v1/alerts"): rule(OPS),
    # One channel's pause is the kill switch for one account: editors may pull it too.
    ("POST", "/api/v1/channels/{channel_id}/pause"): rule(EDITOR, OPS, body={"reason": "matrix"}),
    ("POST", "/api/v1/channels/{channel_id}/resume"): rule(EDITOR, OPS),
    ("POST", "/api/v1/channels/{channel_id}/reconnected"): rule(OPS),
    # DESIGN.md: a social editor may "pause everything" (the kill switch), as may ops.
    ("GET", "/api/v1/pause"): rule(EDITOR, OPS),
    ("POST", "/api/v1/pause"): rule(EDITOR, OPS, body={"reason": "matrix"}),
    ("DELETE", "/api/v1/pause"): rule(EDITOR, OPS),
    ("GET", "/api/v1/audit"): rule(OPS),
    ("GET", "/api/v1/admin/channels"): rule(),
    ("POST", "/api/v1/admin/channels"): rule(
        body={
            "platform": "facebook",
            "name": "Matrix page {n}",
            "account_id": "100000000000042",
            "credentials": {"access_token": "matrix-token"},
        },
        expect=(201,),
    ),
    ("PATCH", "/api/v1/admin/channels/{channel_id}"): rule(body={"timezone": "Asia/Karachi"}),
    ("PUT", "/api/v1/admin/channels/{channel_id}/credentials"): rule(
        body={"credentials": {"access_token": SANDBOX_X_TOKEN}}
    ),
    # Connecting accounts: the sandbox's apps are the defaults, so starting works (201).
    ("POST", "/api/v1/admin/channels/connect/{platform}"): rule(expect=(201,)),
    ("GET", "/api/v1/admin/channels/connect/x/{connection_id}"): rule(expect=(404,)),
    ("GET", "/api/v1/admin/channels/connect/meta/{connection_id}"): rule(expect=(404,)),
    ("POST", "/api/v1/admin/channels/connect/meta/{connection_id}"): rule(
        body={"pages": ["100000000000001"]}, expect=(404,)
    ),
    ("GET", "/api/v1/admin/keys"): rule(),
    ("POST", "/api/v1/admin/keys"): rule(
        body={"name": "matrix {n}", "role": "editor"}, expect=(201,)
    ),
    # A random id: 404 proves the caller got past authentication without revoking a real key.
    ("DELETE", "/api/v1/admin/keys/{key_id}"): rule(expect=(404,)),
}
UNAUTHENTICATED = {("POST", "/api/v1/webhooks/articles")}


def _app_routes(api: ApiHarness) -> set[tuple[str, str]]:
    paths = api.client.get("/openapi.json").json()["paths"]
    return {
        (method.upper(), path)
        for path, ops in paths.items()
        if path.startswith("/api/v1/")
        for method in ops
        if method in {"get", "post", "put", "patch", "delete"}
    }


def test_every_api_route_has_a_declared_role_rule(sqlite_api: ApiHarness) -> None:
    routes = _app_routes(sqlite_api)
    undeclared = routes - set(TABLE) - UNAUTHENTICATED
    assert not undeclared, f"routes without a role rule in TABLE: {sorted(undeclared)}"
    stale = set(TABLE) - routes
    assert not stale, f"TABLE rows for routes the app no longer has: {sorted(stale)}"


def _fill(path: str, ids: dict[str, str]) -> str:
    for name, value in ids.items():
        path = path.replace("{" + name + "}", value)
    while "{" in path:  # any other id: a random one (404 once authorised)
        start, end = path.index("{"), path.index("}")
        path = path[:start] + str(uuid.uuid4()) + path[end + 1 :]
    return path


def _body(body: dict[str, Any] | None, n: int) -> dict[str, Any] | None:
    if body is None:
        return None
    if body is ARTICLE:
        return body
    return {k: v.format(n=n) if isinstance(v, str) else v for k, v in body.items()}


@pytest.mark.parametrize(
    ("method", "path"), sorted(TABLE), ids=[f"{m} {p}" for m, p in sorted(TABLE)]
)
def test_route_admits_exactly_its_declared_roles(
    sqlite_api: ApiHarness, article_json: dict[str, Any], method: str, path: str
) -> None:
    posts = seed_article(sqlite_api.engine, article_json)
    x_post = next(p for p in posts if p.platform == "x")
    ids = {
        "channel_id": str(x_post.channel_id),
        "post_id": str(x_post.id),
        "article_id": str(x_post.article_id),
        "source": article_json["source"],
        "platform": "x",
    }
    url = _fill(path, ids)
    spec = TABLE[(method, path)]

    def call(headers: dict[str, str], n: int) -> Any:
        return sqlite_api.client.request(
            method, url, headers=headers, json=_body(spec.body, n), params=spec.params
        )

    anonymous = call({}, 0)
    assert anonymous.status_code == 401, anonymous.text
    assert anonymous.headers["content-type"] == "application/problem+json"
    forged = call({"Authorization": "Bearer nrk_not-a-real-key"}, 0)
    assert forged.status_code == 401, forged.text
    for n, role in enumerate(ROLES, start=1):
        response = call(sqlite_api.headers(role), n)
        if role in spec.roles:
            assert response.status_code in spec.expect, (role, response.text)
        else:
            assert response.status_code == 403, (role, response.text)
            assert role in response.json()["detail"]
