"""Posts with an image against the sandbox over real HTTP: an X post with its image and alt
text, and a Facebook photo post; each found again by reconciliation, also after the platform
created it and the connection dropped before the answer."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from adapters.base import MediaItem, Payload
from adapters.errors import UnknownOutcomeError
from adapters.facebook import FacebookAdapter
from adapters.sandbox import SandboxClient, SandboxServer, sandbox_token
from adapters.x import XAdapter

X_USER = "1500000000000000001"
FB_PAGE = "112130216863064"
ALT = "Ishaq Dar and Hakan Fidan shake hands in Istanbul"


def _jpeg(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (11, 61, 145)).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


class _ImageHandler(BaseHTTPRequestHandler):
    body = _jpeg(1080, 608)

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture(scope="module")
def image_url() -> Iterator[str]:
    """A JPEG on a loopback server, as the media store serves it to Meta."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ImageHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/3f2a.jpg"
    server.shutdown()
    server.server_close()


def creds(account: str) -> dict[str, str]:
    return {"access_token": sandbox_token(account)}


def label(name: str) -> str:
    return f"{name} {datetime.now(UTC).isoformat()}"


def x_image(tmp_path: Path) -> MediaItem:
    path = tmp_path / "3f2a.jpg"
    path.write_bytes(_jpeg(1080, 608))
    return MediaItem(
        url="http://unused.invalid/3f2a.jpg", path=str(path), width=1080, height=608, alt_text=ALT
    )


@pytest.mark.parametrize("text", ["{label} https://example.pk/news/x-img #Pakistan", "{label}"])
def test_x_post_carries_the_image_and_alt_text_and_reconcile_finds_it(
    sandbox: SandboxServer, admin: SandboxClient, http: httpx.Client, tmp_path: Path, text: str
) -> None:
    adapter = XAdapter(client=http, base_url=sandbox.url)
    since = datetime.now(UTC)
    payload = Payload(
        channel="x", text=text.format(label=label("x-img")), media=[x_image(tmp_path)]
    )
    result = adapter.publish(payload, creds(X_USER), account_id=X_USER)
    [post] = admin.posts(account=X_USER, platform="x")
    assert post["id"] == result.external_id and post["text"] == payload.text
    assert len(post["media_ids"]) == 1
    assert post["media"] == [
        {"media_key": f"3_{post['media_ids'][0]}", "type": "image/jpeg", "alt_text": ALT}
    ]
    # X lists the post with an extra t.co link to the photo; it is still recognised.
    found = adapter.reconcile(payload, creds(X_USER), account_id=X_USER, since=since)
    assert found.published is True and found.external_id == result.external_id


def test_x_post_with_image_created_then_dropped_is_found_not_posted_twice(
    sandbox: SandboxServer, admin: SandboxClient, http: httpx.Client, tmp_path: Path
) -> None:
    adapter = XAdapter(client=http, base_url=sandbox.url)
    since = datetime.now(UTC)
    payload = Payload(channel="x", text=label("x-img-drop"), media=[x_image(tmp_path)])
    admin.set_fault(X_USER, fail_next={"kind": "drop", "count": 1})
    with pytest.raises(UnknownOutcomeError):
        adapter.publish(payload, creds(X_USER), account_id=X_USER)
    answer = adapter.reconcile(payload, creds(X_USER), account_id=X_USER, since=since)
    [live] = admin.posts(account=X_USER, platform="x")
    assert live["media"][0]["alt_text"] == ALT
    assert answer.published is True and answer.external_id == live["id"]


def test_fb_photo_post_goes_to_photos_with_the_caption_and_reconcile_finds_it(
    sandbox: SandboxServer, admin: SandboxClient, http: httpx.Client, image_url: str
) -> None:
    adapter = FacebookAdapter(client=http, base_url=sandbox.url, api_version="v26.0")
    since = datetime.now(UTC)
    media = MediaItem(url=image_url, path="3f2a.jpg", width=1080, height=608)
    caption = f"{label('fb-photo')}\n\nhttps://example.pk/news/fb-photo?utm_source=facebook"
    payload = Payload(channel="facebook", text=caption, media=[media])
    result = adapter.publish(payload, creds(FB_PAGE), account_id=FB_PAGE)
    assert result.external_id.startswith(f"{FB_PAGE}_")
    [post] = admin.posts(account=FB_PAGE, platform="facebook")
    assert post["id"] == result.external_id
    assert post["text"] == caption and post["image_url"] == image_url and post["link"] is None
    found = adapter.reconcile(payload, creds(FB_PAGE), account_id=FB_PAGE, since=since)
    assert found.published is True and found.external_id == result.external_id

    dropped = Payload(channel="facebook", text=label("fb-photo-drop"), media=[media])
    admin.set_fault(FB_PAGE, fail_next={"kind": "drop", "count": 1})
    with pytest.raises(UnknownOutcomeError):
        adapter.publish(dropped, creds(FB_PAGE), account_id=FB_PAGE)
    answer = adapter.reconcile(dropped, creds(FB_PAGE), account_id=FB_PAGE, since=since)
    live = [p for p in admin.posts(account=FB_PAGE, platform="facebook") if "drop" in p["text"]]
    assert len(live) == 1 and answer.published is True and answer.external_id == live[0]["id"]
