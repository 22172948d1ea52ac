"""The per-platform post-shape settings over the admin API (SQLite and PostgreSQL):
``attach_image`` and ``include_link`` on X, ``post_type`` on Facebook; each refused with a
precise 422 on another platform's channel or with a bad value, nothing stored."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session

from scheduler.models import Channel
from tests.api.conftest import ApiHarness
from tests.utils.factories import by_platform, seed_article


def channel_urls(api: ApiHarness, article_json: dict[str, Any]) -> dict[str, str]:
    posts = by_platform(seed_article(api.engine, article_json))
    return {p: f"/api/v1/admin/channels/{post.channel_id}" for p, post in posts.items()}


def stored(api: ApiHarness, url: str) -> dict[str, Any]:
    with Session(api.engine) as s:
        channel = s.get(Channel, uuid.UUID(url.rsplit("/", 1)[-1]))
        assert channel is not None
        return dict(channel.settings)


def test_x_and_facebook_take_their_post_shape_settings(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    urls = channel_urls(api, article_json)
    admin = api.headers("admin")
    x = api.client.patch(
        urls["x"], json={"settings": {"attach_image": True, "include_link": False}}, headers=admin
    )
    assert x.status_code == 200, x.text
    assert x.json()["settings"]["attach_image"] is True
    assert x.json()["settings"]["include_link"] is False
    fb = api.client.patch(
        urls["facebook"], json={"settings": {"post_type": "photo"}}, headers=admin
    )
    assert fb.status_code == 200, fb.text
    assert fb.json()["settings"]["post_type"] == "photo"
    assert stored(api, urls["facebook"])["post_type"] == "photo"
    # What GET returns can be sent back as it is: the other platforms' settings are null.
    listed = api.client.get("/api/v1/admin/channels", headers=admin).json()["channels"]
    ig = next(c for c in listed if c["platform"] == "instagram")
    assert ig["settings"]["attach_image"] is None and ig["settings"]["post_type"] is None
    again = api.client.patch(urls["instagram"], json={"settings": ig["settings"]}, headers=admin)
    assert again.status_code == 200, again.text


def test_a_setting_of_another_platform_gets_a_422_naming_it_and_changes_nothing(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    urls = channel_urls(api, article_json)
    admin = api.headers("admin")
    before = {p: stored(api, url) for p, url in urls.items()}
    cases = [
        ("facebook", {"attach_image": True}, "settings.attach_image: only X channels"),
        ("instagram", {"include_link": False}, "settings.include_link: only X channels"),
        ("x", {"post_type": "photo"}, "settings.post_type: only Facebook channels"),
        (
            "instagram",
            {"post_type": "link"},
            "(this channel is on Instagram); leave it out or null",
        ),
    ]
    for platform, settings, words in cases:
        refused = api.client.patch(
            urls[platform], json={"name": "renamed", "settings": settings}, headers=admin
        )
        assert refused.status_code == 422, (platform, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
        assert any(words in line for line in refused.json()["errors"]), refused.text
    both = api.client.patch(
        urls["instagram"],
        json={"settings": {"attach_image": True, "post_type": "photo"}},
        headers=admin,
    )
    assert len(both.json()["errors"]) == 2
    # Nothing was changed by the refusals, not even the name sent with them.
    assert {p: stored(api, url) for p, url in urls.items()} == before
    names = {
        c["name"]
        for c in api.client.get("/api/v1/admin/channels", headers=admin).json()["channels"]
    }
    assert "renamed" not in names


def test_bad_values_get_a_422_naming_the_setting(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    urls = channel_urls(api, article_json)
    admin = api.headers("admin")
    for platform, settings, where in (
        ("x", {"attach_image": "yes"}, "settings.attach_image"),
        ("x", {"attach_image": 1}, "settings.attach_image"),
        ("x", {"include_link": "false"}, "settings.include_link"),
        ("facebook", {"post_type": "video"}, "settings.post_type"),
        ("facebook", {"post_type": "Photo"}, "settings.post_type"),
    ):
        refused = api.client.patch(urls[platform], json={"settings": settings}, headers=admin)
        assert refused.status_code == 422, (settings, refused.text)
        assert any(line.startswith(where) for line in refused.json()["errors"]), refused.text


def test_creating_a_channel_checks_the_settings_against_its_platform(api: ApiHarness) -> None:
    admin = api.headers("admin")
    body: dict[str, Any] = {
        "platform": "instagram",
        "name": "Desk Instagram",
        "account_id": "17841400000000009",
        "credentials": {"access_token": "ig-token-1234567890"},
        "settings": {"attach_image": True},
    }
    refused = api.client.post("/api/v1/admin/channels", json=body, headers=admin)
    assert refused.status_code == 422, refused.text
    assert "settings.attach_image: only X channels" in refused.json()["errors"][0]
    body.update(platform="x", account_id="1500000000000000009")
    created = api.client.post("/api/v1/admin/channels", json=body, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["settings"]["attach_image"] is True


def test_the_api_schema_documents_the_settings(api: ApiHarness) -> None:
    schema = api.client.get("/openapi.json").json()
    props = schema["components"]["schemas"]["ChannelSettings"]["properties"]
    assert "X only" in props["attach_image"]["description"]
    assert "X only" in props["include_link"]["description"]
    assert "Facebook only" in props["post_type"]["description"]
