"""``first_comment`` through ``PATCH /api/v1/admin/channels/{id}``: a template with a field that
does not exist is refused with a 422 naming the field and the setting; a good one is stored."""

from __future__ import annotations

import uuid

from sqlmodel import Session, select

from scheduler.models import Channel
from tests.api.conftest import ApiHarness


def _instagram(api: ApiHarness) -> uuid.UUID:
    with Session(api.engine) as s:
        return s.exec(select(Channel.id).where(Channel.platform == "instagram")).one()


def test_first_comment_with_unknown_placeholder_is_a_precise_422(sqlite_api: ApiHarness) -> None:
    url = f"/api/v1/admin/channels/{_instagram(sqlite_api)}"
    bad = sqlite_api.client.patch(
        url,
        json={"settings": {"first_comment": "Read: {link} {headline}"}},
        headers=sqlite_api.headers("admin"),
    )
    assert bad.status_code == 422, bad.text
    assert "settings.first_comment" in bad.text
    assert "The template uses {headline}, which is not a field" in bad.text
    good = sqlite_api.client.patch(
        url,
        json={"settings": {"first_comment": "Read the full story: {link}"}},
        headers=sqlite_api.headers("admin"),
    )
    assert good.status_code == 200, good.text
    assert good.json()["settings"]["first_comment"] == "Read the full story: {link}"
    cleared = sqlite_api.client.patch(
        url, json={"settings": {"first_comment": None}}, headers=sqlite_api.headers("admin")
    )
    assert cleared.json()["settings"]["first_comment"] is None
