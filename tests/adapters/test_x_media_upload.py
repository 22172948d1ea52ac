"""XAdapter.publish with media: the v2 upload (PLATFORMS.md §1.3) through httpx.MockTransport."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from adapters.base import MediaItem, Payload
from adapters.errors import (
    PermanentError,
    RetryableError,
)
from tests.adapters.x_api import (
    CREDENTIALS,
    TEXT,
    make_adapter,
)


class FakeXMedia:
    """Scripted v2 upload endpoints plus POST /2/tweets."""

    def __init__(self, *, states: list[str] | None = None) -> None:
        self.states = states or []
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        path = request.url.path
        if path == "/2/media/upload/initialize":
            return httpx.Response(200, json={"data": {"id": "1880028106020515840"}})
        if path.endswith("/append"):
            return httpx.Response(200, json={"data": {"expires_at": 1}})
        if path.endswith("/finalize") or path == "/2/media/upload":
            data: dict[str, Any] = {"id": "1880028106020515840"}
            if self.states:
                data["processing_info"] = {"state": self.states.pop(0), "check_after_secs": 2}
            return httpx.Response(200, json={"data": data})
        if path == "/2/tweets":
            return httpx.Response(201, json={"data": {"id": "99", "text": TEXT}})
        return httpx.Response(404, json={"title": "Not Found", "type": "about:blank"})


def media_payload(tmp_path: Any) -> Payload:
    image = tmp_path / "card.jpg"
    image.write_bytes(b"\xff\xd8" + b"x" * 1500 + b"\xff\xd9")
    item = MediaItem(url="https://media.example.pk/card.jpg", path=str(image), width=1, height=1)
    return Payload(channel="x", text=TEXT, media=[item])


def test_x_publish_with_media_uploads_then_attaches_media_ids(tmp_path: Any) -> None:
    fake = FakeXMedia(states=["pending", "in_progress", "succeeded"])
    adapter = make_adapter(fake)
    slept: list[float] = []
    adapter.sleep = slept.append
    progress: list[dict[str, Any]] = []
    result = adapter.publish(
        media_payload(tmp_path), CREDENTIALS, account_id="42", on_progress=progress.append
    )
    paths = [(r.method, r.url.path) for r in fake.seen]
    assert paths == [
        ("POST", "/2/media/upload/initialize"),
        ("POST", "/2/media/upload/1880028106020515840/append"),
        ("POST", "/2/media/upload/1880028106020515840/finalize"),
        ("GET", "/2/media/upload"),
        ("GET", "/2/media/upload"),
        ("POST", "/2/tweets"),
    ]
    init = json.loads(fake.seen[0].content)
    assert init == {
        "media_type": "image/jpeg",
        "total_bytes": 1504,
        "media_category": "tweet_image",
    }
    assert b'name="segment_index"' in fake.seen[1].content
    assert fake.seen[3].url.params["command"] == "STATUS"
    assert slept == [2.0, 2.0]
    assert json.loads(fake.seen[-1].content) == {
        "text": TEXT,
        "media": {"media_ids": ["1880028106020515840"]},
    }
    assert progress == [
        {
            "media_ids": ["1880028106020515840"],
            "media_for": [["https://media.example.pk/card.jpg", ""]],
        }
    ]
    assert result.external_id == "99"


def test_x_publish_reuses_uploaded_media_ids_from_state(tmp_path: Any) -> None:
    fake = FakeXMedia()
    make_adapter(fake).publish(
        media_payload(tmp_path), CREDENTIALS, account_id="42", state={"media_ids": ["7"]}
    )
    assert [r.url.path for r in fake.seen] == ["/2/tweets"]
    assert json.loads(fake.seen[0].content)["media"] == {"media_ids": ["7"]}


def test_x_media_processing_failed_is_permanent_and_posts_nothing(tmp_path: Any) -> None:
    fake = FakeXMedia(states=["failed"])
    with pytest.raises(PermanentError):
        make_adapter(fake).publish(media_payload(tmp_path), CREDENTIALS, account_id="42")
    assert all(r.url.path != "/2/tweets" for r in fake.seen)


def test_x_expired_media_ids_are_dropped_for_a_fresh_upload(tmp_path: Any) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            400,
            json={
                "errors": [{"message": "Your media IDs are invalid.", "parameters": {}}],
                "title": "Invalid Request",
                "detail": "One or more parameters to your request was invalid.",
                "type": "https://api.twitter.com/2/problems/invalid-request",
            },
        )

    progress: list[dict[str, Any]] = []
    with pytest.raises(RetryableError):
        make_adapter(handler).publish(
            media_payload(tmp_path),
            CREDENTIALS,
            account_id="42",
            state={"media_ids": ["7"]},
            on_progress=progress.append,
        )
    assert progress == [{"media_ids": None}]
