"""The three adapters against the sandbox platform over real HTTP, faults included."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from adapters.base import MediaItem, Payload
from adapters.errors import (
    AuthExpiredError,
    DeliveryError,
    DuplicateContentError,
    QuotaExceededError,
    RateLimitedError,
    UnknownOutcomeError,
)
from adapters.facebook import FacebookAdapter
from adapters.instagram import InstagramAdapter
from adapters.sandbox import SandboxClient, SandboxServer, sandbox_token
from adapters.x import XAdapter

VERSION = "v26.0"
X_USER = "1500000000000000001"
IG_USER = "17841400000000002"
FB_PAGE = "112130216863064"


def _jpeg(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (11, 61, 145)).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


class _ImageHandler(BaseHTTPRequestHandler):
    body = _jpeg(1080, 1350)

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
    """A 1080x1350 JPEG served from a local HTTP server the sandbox can fetch."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ImageHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/card.jpg"
    server.shutdown()
    server.server_close()


def creds(account: str) -> dict[str, str]:
    return {"access_token": sandbox_token(account)}


def fail_next(admin: SandboxClient, account: str, kind: str) -> None:
    admin.set_fault(account, fail_next={"kind": kind, "count": 1})


def assert_no_token(exc: DeliveryError, account: str) -> None:
    token = sandbox_token(account)
    assert token not in str(exc) and token not in exc.message


def unique_text(label: str) -> str:
    return f"{label} {datetime.now(UTC).isoformat()} https://example.pk/news/{label}"


# --- X -------------------------------------------------------------------------------------


def test_sandbox_x_publish_then_reconcile_finds_it(
    sandbox: SandboxServer, admin: SandboxClient, http: httpx.Client
) -> None:
    adapter = XAdapter(client=http, base_url=sandbox.url)
    since = datetime.now(UTC)
    payload = Payload(channel="x", text=unique_text("x-happy"))
    result = adapter.publish(payload, creds(X_USER), account_id=X_USER)
    assert result.external_url == f"https://x.com/i/web/status/{result.external_id}"
    assert result.http_status == 201
    assert "window" in result.rate_limit
    posts = admin.posts(account=X_USER, platform="x")
    assert [p["id"] for p in posts] == [result.external_id]

    found = adapter.reconcile(payload, creds(X_USER), account_id=X_USER, since=since)
    assert found.published is True and found.external_id == result.external_id
    other = Payload(channel="x", text=unique_text("never-posted"))
    absent = adapter.reconcile(other, creds(X_USER), account_id=X_USER, since=since)
    assert absent.published is False


def test_sandbox_x_drop_is_unknown_and_reconcile_settles_it(
    sandbox: SandboxServer, admin: SandboxClient, http: httpx.Client
) -> None:
    adapter = XAdapter(client=http, base_url=sandbox.url)
    since = datetime.now(UTC)
    payload = Payload(channel="x", text=unique_text("x-drop"))
    fail_next(admin, X_USER, "drop")
    with pytest.raises(UnknownOutcomeError) as info:
        adapter.publish(payload, creds(X_USER), account_id=X_USER)
    assert_no_token(info.value, X_USER)
    answer = adapter.reconcile(payload, creds(X_USER), account_id=X_USER, since=since)
    # The sandbox's "drop" accepts the post, then cuts the connection.
    live = admin.posts(account=X_USER, platform="x")
    assert len(live) == 1
    assert answer.published is True and answer.external_id == live[0]["id"]


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("429", RateLimitedError),
        ("duplicate", DuplicateContentError),
        ("expired", AuthExpiredError),
        ("5xx", UnknownOutcomeError),
    ],
)
def test_sandbox_x_faults_raise_their_class(
    sandbox: SandboxServer,
    admin: SandboxClient,
    http: httpx.Client,
    kind: str,
    expected: type[DeliveryError],
) -> None:
    adapter = XAdapter(client=http, base_url=sandbox.url)
    if kind == "expired":
        admin.set_fault(X_USER, expired_token=True)
    else:
        fail_next(admin, X_USER, kind)
    with pytest.raises(expected) as info:
        adapter.publish(
            Payload(channel="x", text=unique_text(kind)), creds(X_USER), account_id=X_USER
        )
    assert_no_token(info.value, X_USER)
    if isinstance(info.value, RateLimitedError):
        assert info.value.reset_at is not None
        assert info.value.reset_at > datetime.now(UTC)
        assert info.value.reset_at < datetime.now(UTC) + timedelta(hours=1)
    assert admin.posts(account=X_USER, platform="x") == []


def test_sandbox_x_publish_with_image_uploads_through_v2_media_endpoints(
    sandbox: SandboxServer, admin: SandboxClient, http: httpx.Client, tmp_path: Path
) -> None:
    image = tmp_path / "card.jpg"
    image.write_bytes(_jpeg(1200, 675))
    media = MediaItem(url="http://unused.invalid/card.jpg", path=str(image), width=1200, height=675)
    payload = Payload(channel="x", text=unique_text("x-media"), media=[media])
    progress: list[dict[str, Any]] = []
    adapter = XAdapter(client=http, base_url=sandbox.url)
    result = adapter.publish(payload, creds(X_USER), account_id=X_USER, on_progress=progress.append)
    assert len(progress) == 1 and len(progress[0]["media_ids"]) == 1
    posts = admin.posts(account=X_USER, platform="x")
    assert [p["id"] for p in posts] == [result.external_id]
    assert posts[0]["media_ids"] == progress[0]["media_ids"]


# --- Instagram -----------------------------------------------------------------------------


def ig_adapter(sandbox: SandboxServer, http: httpx.Client) -> InstagramAdapter:
    adapter = InstagramAdapter(
        client=http, base_url=sandbox.url, api_version=VERSION, poll_interval=0.05, poll_attempts=40
    )
    return adapter


def ig_payload(image_url: str, label: str) -> Payload:
    media = MediaItem(url=image_url, path="card.jpg", width=1080, height=1350)
    return Payload(channel="instagram", text=f"{unique_text(label)} #Pakistan", media=[media])


def test_sandbox_ig_publish_reports_container_and_is_not_republished_on_resume(
    sandbox: SandboxServer, admin: SandboxClient, http: httpx.Client, image_url: str
) -> None:
    adapter = ig_adapter(sandbox, http)
    payload = ig_payload(image_url, "ig-happy")
    progress: list[dict[str, Any]] = []
    result = adapter.publish(
        payload, creds(IG_USER), account_id=IG_USER, on_progress=progress.append
    )
    container = progress[0]["container_id"]
    assert progress[-1] == {"container_id": container, "media_id": result.external_id}
    assert result.external_url
    assert len(admin.posts(account=IG_USER, platform="instagram")) == 1

    again = adapter.publish(
        payload, creds(IG_USER), account_id=IG_USER, state={"container_id": container}
    )
    assert again.external_id == result.external_id
    assert len(admin.posts(account=IG_USER, platform="instagram")) == 1

    answer = adapter.reconcile(
        payload, creds(IG_USER), account_id=IG_USER, state={"container_id": container}
    )
    assert answer.published is True and answer.external_id == result.external_id


def test_sandbox_ig_drop_on_publish_is_unknown_then_resume_does_not_duplicate(
    sandbox: SandboxServer, admin: SandboxClient, http: httpx.Client, image_url: str
) -> None:
    adapter = ig_adapter(sandbox, http)
    payload = ig_payload(image_url, "ig-drop")
    state: dict[str, Any] = {}
    fail_next(admin, IG_USER, "drop")
    with pytest.raises(UnknownOutcomeError) as info:
        adapter.publish(payload, creds(IG_USER), account_id=IG_USER, on_progress=state.update)
    assert_no_token(info.value, IG_USER)
    assert state.get("container_id")

    answer = adapter.reconcile(payload, creds(IG_USER), account_id=IG_USER, state=state)
    live = admin.posts(account=IG_USER, platform="instagram")
    assert len(live) == 1
    assert answer.published is True and answer.external_id == live[0]["id"]

    result = adapter.publish(payload, creds(IG_USER), account_id=IG_USER, state=state)
    posts = admin.posts(account=IG_USER, platform="instagram")
    assert len(posts) == 1
    assert result.external_id == posts[0]["id"]


def test_sandbox_ig_quota_leaves_a_finished_container_that_reconciles_as_not_published(
    sandbox: SandboxServer, admin: SandboxClient, http: httpx.Client, image_url: str
) -> None:
    adapter = ig_adapter(sandbox, http)
    payload = ig_payload(image_url, "ig-quota")
    admin.set_fault(IG_USER, quota_total=0)
    state: dict[str, Any] = {}
    with pytest.raises(QuotaExceededError) as info:
        adapter.publish(payload, creds(IG_USER), account_id=IG_USER, on_progress=state.update)
    # Held before media_publish by the publishing-limit check, never sent to fail (§3.3).
    assert "held, not sent" in info.value.message
    assert state.get("container_id")
    assert admin.posts(account=IG_USER, platform="instagram") == []
    answer = adapter.reconcile(payload, creds(IG_USER), account_id=IG_USER, state=state)
    assert answer.published is False


def test_sandbox_ig_expired_token_needs_reauth(
    sandbox: SandboxServer, admin: SandboxClient, http: httpx.Client, image_url: str
) -> None:
    admin.set_fault(IG_USER, expired_token=True)
    with pytest.raises(AuthExpiredError) as info:
        ig_adapter(sandbox, http).publish(
            ig_payload(image_url, "ig-expired"), creds(IG_USER), account_id=IG_USER
        )
    assert info.value.code == "190"
    assert_no_token(info.value, IG_USER)


# --- Facebook ------------------------------------------------------------------------------


def test_sandbox_fb_publish_then_reconcile_finds_it(
    sandbox: SandboxServer, admin: SandboxClient, http: httpx.Client
) -> None:
    adapter = FacebookAdapter(client=http, base_url=sandbox.url, api_version=VERSION)
    since = datetime.now(UTC)
    payload = Payload(
        channel="facebook", text=unique_text("fb-happy"), link="https://example.pk/news/fb"
    )
    result = adapter.publish(payload, creds(FB_PAGE), account_id=FB_PAGE)
    assert result.external_id.startswith(f"{FB_PAGE}_")
    assert result.external_url == f"https://www.facebook.com/{result.external_id}"
    assert [p["id"] for p in admin.posts(account=FB_PAGE, platform="facebook")] == [
        result.external_id
    ]
    found = adapter.reconcile(payload, creds(FB_PAGE), account_id=FB_PAGE, since=since)
    assert found.published is True and found.external_id == result.external_id
    other = Payload(channel="facebook", text=unique_text("fb-never"))
    assert adapter.reconcile(other, creds(FB_PAGE), account_id=FB_PAGE, since=since).published is (
        False
    )


def test_sandbox_fb_duplicate_and_drop(
    sandbox: SandboxServer, admin: SandboxClient, http: httpx.Client
) -> None:
    adapter = FacebookAdapter(client=http, base_url=sandbox.url, api_version=VERSION)
    since = datetime.now(UTC)
    fail_next(admin, FB_PAGE, "duplicate")
    with pytest.raises(DuplicateContentError) as dup:
        adapter.publish(
            Payload(channel="facebook", text=unique_text("fb-dup")),
            creds(FB_PAGE),
            account_id=FB_PAGE,
        )
    assert dup.value.code == "506"

    payload = Payload(channel="facebook", text=unique_text("fb-drop"))
    fail_next(admin, FB_PAGE, "drop")
    with pytest.raises(UnknownOutcomeError) as info:
        adapter.publish(payload, creds(FB_PAGE), account_id=FB_PAGE)
    assert_no_token(info.value, FB_PAGE)
    answer = adapter.reconcile(payload, creds(FB_PAGE), account_id=FB_PAGE, since=since)
    live = admin.posts(account=FB_PAGE, platform="facebook")
    assert len(live) == 1
    assert answer.published is True and answer.external_id == live[0]["id"]
