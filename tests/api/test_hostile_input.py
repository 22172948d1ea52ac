"""Hostile input gets a precise 4xx problem+json, never a 500, and stores nothing: deep nesting,
NUL characters, bodies that are not JSON, unknown channel settings; 405 names every method."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, func, select

from scheduler.intake.webhooks import sign
from scheduler.models import Article, Channel, Post, WebhookReceipt
from tests.api.conftest import ApiHarness, build_harness

SECRET = "hostile-webhook-secret-0123456789"
WEBHOOK = "/api/v1/webhooks/articles"
DEEP_ARRAY = b"[" * 10_000 + b"]" * 10_000


@pytest.fixture
def api(tmp_path: Path, db_url: str) -> Iterator[ApiHarness]:
    """The API with webhooks enabled, once on SQLite and once on PostgreSQL."""
    yield from build_harness(tmp_path, db_url, webhook_secret=SECRET)


def signed(api: ApiHarness, body: bytes, content_type: str | None = "application/json") -> Any:
    ts = int(time.time())
    headers = {"X-Newsrelay-Timestamp": str(ts), "X-Newsrelay-Signature": sign(SECRET, ts, body)}
    if content_type is not None:
        headers["Content-Type"] = content_type
    return api.client.post(WEBHOOK, content=body, headers=headers)


def problem(response: Any, status: int, title: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["title"] == title and body["status"] == status
    return body


def stored(api: ApiHarness) -> dict[str, int]:
    with Session(api.engine) as s:
        return {
            name: int(s.exec(select(func.count()).select_from(model)).one())
            for name, model in (
                ("articles", Article),
                ("posts", Post),
                ("receipts", WebhookReceipt),
            )
        }


def envelope(article: dict[str, Any], event: str = "published") -> bytes:
    return json.dumps({"event": event, "article": article}).encode()


def test_webhook_nested_10000_levels_deep_is_a_400_and_stores_nothing(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    before = stored(api)
    assert (
        "nested deeper than 32" in problem(signed(api, DEEP_ARRAY), 400, "Malformed body")["detail"]
    )
    deep_objects = envelope({**article_json, "tags": "X"}).replace(
        b'"X"', b'{"a":' * 10_000 + b"1" + b"}" * 10_000
    )
    problem(signed(api, deep_objects), 400, "Malformed body")
    assert stored(api) == before


def test_every_json_endpoint_bounds_nesting(api: ApiHarness) -> None:
    for method, path in (("POST", "/articles"), ("POST", "/admin/channels"), ("POST", "/pause")):
        r = api.client.request(
            method,
            f"/api/v1{path}",
            content=DEEP_ARRAY,
            headers={**api.headers("admin"), "Content-Type": "application/json"},
        )
        problem(r, 400, "Malformed body")


def test_unparseable_json_is_a_400_on_the_webhook_and_the_api(api: ApiHarness) -> None:
    problem(signed(api, b'{"event": "published", '), 400, "Malformed body")
    problem(signed(api, b'\xff{"event": 1}'), 400, "Malformed body")
    r = api.client.post(
        "/api/v1/articles",
        content=b"{nope",
        headers={**api.headers("editor"), "Content-Type": "application/json"},
    )
    problem(r, 400, "Malformed body")


@pytest.mark.parametrize(
    "field", ["title", "external_id", "summary", "body", "author", "tags", "published_at"]
)
def test_nul_in_any_article_string_is_a_422_on_webhook_and_api(
    api: ApiHarness, article_json: dict[str, Any], field: str
) -> None:
    value = ["ok", "a\x00b"] if field == "tags" else f"{article_json.get(field, 'x')}\x00"
    article = {**article_json, field: value}
    body = problem(signed(api, envelope(article)), 422, "Invalid input")
    assert body["errors"] == [f"{field}: must not contain NUL characters"]
    r = api.client.post("/api/v1/articles", json=article, headers=api.headers("editor"))
    assert problem(r, 422, "Invalid input")["errors"] == body["errors"]
    assert stored(api) == {"articles": 0, "posts": 0, "receipts": 0}


def test_nul_in_an_unpublish_reference_is_a_422(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    ref = {"source": article_json["source"], "external_id": "gone\x00"}
    body = problem(signed(api, envelope(ref, "unpublished")), 422, "Invalid input")
    assert body["errors"] == ["article.external_id: must not contain NUL characters"]


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", None, "application/x-www-form-urlencoded", "application/json; charset=latin-1"],
)
def test_webhook_refuses_a_body_that_is_not_json_with_415(
    api: ApiHarness, article_json: dict[str, Any], content_type: str | None
) -> None:
    r = signed(api, envelope(article_json), content_type)
    problem(r, 415, "Unsupported media type")
    assert stored(api)["receipts"] == 0


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "application/vnd.newsroom+json"]
)
def test_webhook_takes_json_media_types_with_or_without_charset(
    api: ApiHarness, article_json: dict[str, Any], content_type: str
) -> None:
    assert signed(api, envelope(article_json), content_type).status_code == 201


def test_other_json_endpoints_refuse_other_media_types_with_415(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    # The body is refused before the route runs, so the post id need not exist.
    for method, path, body in (
        ("POST", "/articles", json.dumps(article_json)),
        ("POST", "/pause", "reason=maintenance"),
        ("POST", "/admin/keys", json.dumps({"name": "k", "role": "ops"})),
        ("PATCH", "/posts/00000000-0000-0000-0000-000000000000", "text=hello"),
    ):
        r = api.client.request(
            method,
            f"/api/v1{path}",
            content=body.encode(),
            headers={**api.headers("admin"), "Content-Type": "text/plain"},
        )
        problem(r, 415, "Unsupported media type")
    assert stored(api)["articles"] == 0


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/admin/channels", {"GET", "POST"}),
        ("PUT", "/admin/keys", {"GET", "POST"}),
        ("DELETE", "/posts/00000000-0000-0000-0000-000000000000", {"GET", "PATCH"}),
        ("PUT", "/pause", {"GET", "POST", "DELETE"}),
    ],
)
def test_405_allow_header_lists_every_method_of_the_path(
    api: ApiHarness, method: str, path: str, allowed: set[str]
) -> None:
    r = api.client.request(method, f"/api/v1{path}", headers=api.headers("admin"))
    problem(r, 405, "Method not allowed")
    assert {m.strip() for m in r.headers["allow"].split(",")} == allowed


def test_unknown_channel_settings_are_refused_naming_the_key(api: ApiHarness) -> None:
    admin = api.headers("admin")
    new = {
        "platform": "x",
        "name": "Desk X",
        "account_id": "desk-x",
        "credentials": {"access_token": "t0ken"},
        "settings": {"delay_minute": 5},
    }
    r = api.client.post("/api/v1/admin/channels", json=new, headers=admin)
    assert problem(r, 422, "Invalid input")["errors"] == ["settings.delay_minute: unknown field"]
    channel_id = api.client.get("/api/v1/admin/channels", headers=admin).json()["channels"][0]["id"]
    r = api.client.patch(
        f"/api/v1/admin/channels/{channel_id}", json={"settings": {"colour": "red"}}, headers=admin
    )
    assert problem(r, 422, "Invalid input")["errors"] == ["settings.colour: unknown field"]


def test_a_stored_channel_with_a_retired_setting_still_loads_and_renders(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    with Session(api.engine) as s:
        channel = s.exec(select(Channel)).first()
        assert channel is not None
        channel.settings = {**channel.settings, "retired_setting": True, "delay_minutes": 7}
        s.add(channel)
        s.commit()
    admin = api.headers("admin")
    assert api.client.get("/api/v1/admin/channels", headers=admin).status_code == 200
    r = api.client.post("/api/v1/articles", json=article_json, headers=admin)
    assert r.status_code == 201, r.text
    assert len(r.json()["posts"]) == 3


def test_openapi_documents_problem_json_errors_body_refusals_and_cursor_limits(
    api: ApiHarness,
) -> None:
    doc = api.client.get("/openapi.json").json()
    problem_ref = {"schema": {"$ref": "#/components/schemas/Problem"}}
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert "500" in responses, (method, path)
            for code, response in responses.items():
                if code[0] in "45":
                    assert response["content"] == {"application/problem+json": problem_ref}
            if "requestBody" in operation:
                assert {"400", "413", "415"} <= set(responses), (method, path)
    webhook = doc["paths"]["/api/v1/webhooks/articles"]["post"]
    assert "application/json" in webhook["requestBody"]["content"]
    for path in ("/api/v1/posts", "/api/v1/articles", "/api/v1/deliveries", "/api/v1/audit"):
        [cursor] = [p for p in doc["paths"][path]["get"]["parameters"] if p["name"] == "cursor"]
        text = cursor["schema"]["anyOf"][0]
        assert (text["maxLength"], text["pattern"]) == (120, "^[A-Za-z0-9_-]+$")
    assert "HTTPValidationError" not in doc["components"]["schemas"]


def test_cursor_outside_the_documented_limits_is_a_422(api: ApiHarness) -> None:
    for cursor in ("A" * 121, "not/base64!"):
        r = api.client.get(
            "/api/v1/posts", params={"cursor": cursor}, headers=api.headers("editor")
        )
        problem(r, 422, "Invalid input")


def test_times_and_flags_must_have_their_documented_json_types(api: ApiHarness) -> None:
    editor = api.headers("editor")
    problem(api.client.get("/api/v1/posts?to=0.5", headers=editor), 422, "Invalid input")
    r = api.client.put("/api/v1/sources/desk/approval", json={"required": 0}, headers=editor)
    problem(r, 422, "Invalid input")


def test_revision_beyond_what_the_database_stores_is_a_422_not_a_500(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    article = {**article_json, "revision": 2**40}
    r = api.client.post("/api/v1/articles", json=article, headers=api.headers("editor"))
    assert problem(r, 422, "Invalid input")["errors"][0].startswith("revision: ")
    problem(signed(api, envelope(article)), 422, "Invalid input")
    assert stored(api) == {"articles": 0, "posts": 0, "receipts": 0}
    # At the highest revision, a changed article without one cannot take the next number.
    top = {**article_json, "revision": 2**31 - 1}
    assert api.client.post("/api/v1/articles", json=top, headers=api.headers("editor")).is_success
    changed = {**article_json, "title": "Changed"}
    r = api.client.post("/api/v1/articles", json=changed, headers=api.headers("editor"))
    assert problem(r, 422, "Invalid input")["errors"] == [
        "revision: the article is at the highest revision (2147483647)"
    ]


def test_channel_filter_that_is_neither_platform_nor_uuid_is_refused_by_its_pattern(
    api: ApiHarness,
) -> None:
    doc = api.client.get("/openapi.json").json()
    [channel] = [
        p for p in doc["paths"]["/api/v1/posts"]["get"]["parameters"] if p["name"] == "channel"
    ]
    pattern = channel["schema"]["anyOf"][0]["pattern"]
    assert re.fullmatch(pattern, "424052-A56eEE6AE0bcBDbCCCdDDab9beD4") is None
    assert re.fullmatch(pattern, "c296409d-111e-2a3b-8c4d-0123456789ab")
