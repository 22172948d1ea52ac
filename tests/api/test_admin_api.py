"""The admin API through HTTP on SQLite and PostgreSQL: API keys and channel settings."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from scheduler.db.engine import session_scope
from scheduler.models import Channel, ChannelStatus, PostStatus
from tests.api.conftest import ApiHarness
from tests.api.ops_support import ZERO, _get
from tests.utils.factories import by_platform, seed_article, set_post


def test_admin_issues_a_key_once_lists_it_without_secrets_and_revocation_locks_it_out(
    api: ApiHarness,
) -> None:
    created = api.client.post(
        "/api/v1/admin/keys",
        json={"name": "night desk", "role": "ops"},
        headers=api.headers("admin"),
    )
    assert created.status_code == 201, created.text
    key, key_id = created.json()["key"], created.json()["id"]
    assert key.startswith(created.json()["prefix"])
    assert (
        api.client.get("/api/v1/channels", headers={"Authorization": f"Bearer {key}"}).status_code
        == 200
    )
    listed = api.client.get("/api/v1/admin/keys", headers=api.headers("admin"))
    assert key not in listed.text and "key_hash" not in listed.text
    row = next(k for k in listed.json()["keys"] if k["id"] == key_id)
    assert row["name"] == "night desk" and row["role"] == "ops" and row["last_used_at"]

    revoked = api.client.delete(f"/api/v1/admin/keys/{key_id}", headers=api.headers("admin"))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    after = api.client.get("/api/v1/channels", headers={"Authorization": f"Bearer {key}"})
    assert after.status_code == 401
    gone = api.client.delete(f"/api/v1/admin/keys/{ZERO}", headers=api.headers("admin"))
    assert gone.status_code == 404


def test_admin_updates_channel_settings_and_replaces_credentials_of_a_needs_reauth_channel(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    fb_post = by_platform(seed_article(api.engine, article_json))["facebook"]
    url = f"/api/v1/admin/channels/{fb_post.channel_id}"
    patched = api.client.patch(
        url,
        json={"timezone": "Europe/London", "settings": {"hashtags": ["#Pakistan"]}},
        headers=api.headers("admin"),
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["timezone"] == "Europe/London"
    assert patched.json()["settings"]["hashtags"] == ["#Pakistan"]
    bad_zone = api.client.patch(
        url, json={"timezone": "Mars/Olympus"}, headers=api.headers("admin")
    )
    assert bad_zone.status_code == 422
    taken = api.client.patch(url, json={"name": "Sandbox X"}, headers=api.headers("admin"))
    assert taken.status_code == 409

    with session_scope(api.engine) as s:
        channel = s.get(Channel, fb_post.channel_id)
        assert channel is not None
        channel.status = ChannelStatus.NEEDS_REAUTH
        s.add(channel)
    set_post(api.engine, fb_post.id, status=PostStatus.NEEDS_REAUTH)
    replaced = api.client.put(
        f"{url}/credentials",
        json={"credentials": {"access_token": "fresh-page-token-123"}},
        headers=api.headers("admin"),
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["status"] == "active" and replaced.json()["posts"] == {"scheduled": 1}
    assert "fresh-page-token-123" not in replaced.text
    with Session(api.engine) as s:
        stored = s.exec(select(Channel).where(Channel.id == fb_post.channel_id)).one()
    assert "fresh-page-token-123" not in stored.credentials_encrypted
    events = _get(api, "/api/v1/audit", role="admin", channel_id=str(fb_post.channel_id))
    assert events["events"][1]["detail"] == "credentials replaced"


def test_admin_sets_channel_policy_and_each_bad_policy_field_gets_a_precise_422(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    x_post = by_platform(seed_article(api.engine, article_json))["x"]
    url = f"/api/v1/admin/channels/{x_post.channel_id}"
    policy = {
        "min_interval_seconds": 300,
        "daily_cap": 40,
        "slots": {"mon-fri": ["08:00", "12:30", "18:00"], "sat-sun": ["10:00"]},
        "stale_after_minutes": 120,
        "breaking_keeps_spacing": True,
        "breaking_skips_approval": True,
        "breaking_prefix": "URGENT:",
    }
    ok = api.client.patch(url, json={"settings": policy}, headers=api.headers("admin"))
    assert ok.status_code == 200, ok.text
    assert {k: ok.json()["settings"][k] for k in policy} == policy

    refusals = {
        "min_interval_seconds": (-1, "settings.min_interval_seconds"),
        "daily_cap": (0, "settings.daily_cap"),
        "stale_after_minutes": (0, "settings.stale_after_minutes"),
        "breaking_prefix": ("x" * 41, "settings.breaking_prefix"),
    }
    for field, (value, where) in refusals.items():
        bad = api.client.patch(
            url, json={"settings": {**policy, field: value}}, headers=api.headers("admin")
        )
        assert bad.status_code == 422, (field, bad.text)
        assert where in bad.text
    for slots, words in (
        ({"mon-fry": ["08:00"]}, "slot key 'mon-fry'"),
        ({"mon": ["8am"]}, "'8am' under 'mon' is not a 24-hour time"),
        ({"mon": "08:00"}, "settings.slots"),
    ):
        bad = api.client.patch(
            url, json={"settings": {**policy, "slots": slots}}, headers=api.headers("admin")
        )
        assert bad.status_code == 422 and words in bad.text, bad.text
    # Nothing stored was lost by the refused requests.
    with Session(api.engine) as s:
        channel = s.get(Channel, x_post.channel_id)
        assert channel is not None and channel.settings["slots"] == policy["slots"]
