"""Every "no such row" error, whichever service raises it, is one 404 problem+json naming the id."""

from __future__ import annotations

import uuid

import pytest

from tests.api.conftest import ApiHarness

PROBLEM = "application/problem+json"

#: (role, method, path, body) for each kind of row a route looks up by id.
LOOKUPS = [
    ("editor", "GET", "/api/v1/posts/{id}", None),
    ("editor", "POST", "/api/v1/posts/{id}/cancel", None),
    ("editor", "GET", "/api/v1/articles/{id}", None),
    ("editor", "PUT", "/api/v1/channels/{id}/approval", {"required": True}),
    ("ops", "POST", "/api/v1/channels/{id}/resume", None),
    ("admin", "PATCH", "/api/v1/admin/channels/{id}", {"name": "Renamed"}),
    ("admin", "DELETE", "/api/v1/admin/keys/{id}", None),
]


@pytest.mark.parametrize(("role", "method", "path", "body"), LOOKUPS)
def test_unknown_id_is_one_404_problem_naming_the_id(
    sqlite_api: ApiHarness, role: str, method: str, path: str, body: object
) -> None:
    missing = uuid.uuid4()
    response = sqlite_api.client.request(
        method, path.format(id=missing), json=body, headers=sqlite_api.headers(role)
    )
    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["title"] == "Not found" and problem["type"] == "about:blank"
    assert str(missing) in problem["detail"]
