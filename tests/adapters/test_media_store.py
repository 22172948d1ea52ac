"""The media stores: the S3-compatible one against a real S3 server process (moto's
``moto_server``) — objects readable over HTTP for their retention, content-addressed, swept when
expired, fetched by the sandbox's Instagram and X — and the local one keeping the same promises."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from PIL import Image
from pydantic import ValidationError

from adapters import media_store as media_store_module
from adapters.base import Payload
from adapters.instagram import InstagramAdapter
from adapters.media_store import LocalMediaStore, S3MediaStore
from adapters.sandbox import SandboxClient, SandboxServer, sandbox_token
from adapters.x import XAdapter
from config import Settings
from scheduler.editorial.media_store import media_store, s3_client
from scheduler.runtime.ticker import sweep_media
from tests.utils.s3 import moto_server

BUCKET = "newsrelay-media"
IG_USER = "17841400000000002"
X_USER = "1500000000000000001"


def _jpeg(width: int = 1080, height: int = 1350, shade: int = 90) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (shade, 61, 145)).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


def _settings(endpoint: str, tmp_path: Path, **media: Any) -> Settings:
    return Settings(
        environment="test",
        data_dir=tmp_path,
        media={
            "store": "s3",
            "s3_bucket": BUCKET,
            "s3_endpoint_url": endpoint,
            "s3_access_key_id": "testing",
            "s3_secret_access_key": "testing",
            **media,
        },
    )


@pytest.fixture
def store(s3_endpoint: str, tmp_path: Path) -> Iterator[S3MediaStore]:
    built = media_store(_settings(s3_endpoint, tmp_path))
    assert isinstance(built, S3MediaStore)
    built.client.create_bucket(Bucket=BUCKET)
    yield built
    for page in built.client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for obj in page.get("Contents", []):
            built.client.delete_object(Bucket=BUCKET, Key=obj["Key"])
    built.client.delete_bucket(Bucket=BUCKET)


def _keys(store: S3MediaStore) -> list[str]:
    listing = store.client.list_objects_v2(Bucket=BUCKET)
    return sorted(obj["Key"] for obj in listing.get("Contents", []))


def test_saved_image_is_fetchable_over_http_for_its_whole_retention(store: S3MediaStore) -> None:
    data = _jpeg()
    item = store.save_jpeg(data, width=1080, height=1350)
    response = httpx.get(item.url, timeout=10)
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-type"] == "image/jpeg"
    # The presigned URL outlives Instagram's 24-hour container (48 h by default).
    expires = int(parse_qs(urlsplit(item.url).query)["X-Amz-Expires"][0])
    assert expires == 48 * 3600
    assert item.path.startswith(f"s3://{BUCKET}/media/") and item.path.endswith(".jpg")
    assert (item.width, item.height) == (1080, 1350)


def test_the_same_image_is_one_object_and_saving_again_restarts_its_clock(
    store: S3MediaStore,
) -> None:
    data = _jpeg()
    first = store.save_jpeg(data, width=1080, height=1350)
    before = store.client.head_object(Bucket=BUCKET, Key=_keys(store)[0])["LastModified"]
    second = store.save_jpeg(data, width=1080, height=1350)
    after = store.client.head_object(Bucket=BUCKET, Key=_keys(store)[0])["LastModified"]
    assert first.path == second.path
    assert len(_keys(store)) == 1
    assert after >= before


def test_sweep_keeps_what_is_within_retention_and_removes_what_expired(
    store: S3MediaStore,
) -> None:
    old = store.save_jpeg(_jpeg(shade=10), width=1080, height=1350)
    store.save_jpeg(_jpeg(shade=200), width=1080, height=1350)
    now = datetime.now(UTC)
    assert store.sweep(now=now + timedelta(hours=47)) == 0
    assert len(_keys(store)) == 2
    assert httpx.get(old.url, timeout=10).status_code == 200

    assert store.sweep(now=now + timedelta(hours=49)) == 2
    assert _keys(store) == []
    assert httpx.get(old.url, timeout=10).status_code == 404


def test_sweep_deletes_in_batches_and_leaves_other_prefixes_alone(
    store: S3MediaStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(media_store_module, "DELETE_BATCH", 3)
    for shade in range(7):
        store.save_jpeg(_jpeg(64, 64, shade * 30), width=64, height=64)
    store.client.put_object(Bucket=BUCKET, Key="backups/keep.txt", Body=b"not media")
    assert store.sweep(now=datetime.now(UTC) + timedelta(days=3)) == 7
    assert _keys(store) == ["backups/keep.txt"]


def test_public_base_url_gives_plain_urls(store: S3MediaStore) -> None:
    public = S3MediaStore(store.client, bucket=BUCKET, public_base_url="https://cdn.example.com/m/")
    item = public.save_jpeg(_jpeg(), width=1080, height=1350)
    assert (
        item.url
        == f"https://cdn.example.com/m/{item.path.rsplit('/', 2)[-2]}/"
        + (item.path.rsplit("/", 1)[-1])
    )


def test_retention_rules_are_refused_with_their_reason(s3_endpoint: str, tmp_path: Path) -> None:
    client = s3_client(
        endpoint_url=s3_endpoint,
        region="us-east-1",
        access_key_id="testing",
        secret_access_key="testing",
    )
    with pytest.raises(ValueError, match="24-hour container lifetime"):
        S3MediaStore(client, bucket=BUCKET, retention=timedelta(hours=23))
    with pytest.raises(ValueError, match="presigned S3 URLs are valid for at most 7 days"):
        S3MediaStore(client, bucket=BUCKET, retention=timedelta(days=8))
    with pytest.raises(ValidationError, match="S3_BUCKET must be set"):
        Settings(environment="test", data_dir=tmp_path, media={"store": "s3"})
    with pytest.raises(ValidationError, match="greater than or equal to 24"):
        Settings(environment="test", data_dir=tmp_path, media={"retention_hours": 12})


# --- platforms fetch from the bucket ---------------------------------------------------------


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    server = SandboxServer("127.0.0.1", port=0)
    server.start()
    yield server
    server.stop()


def test_instagram_and_x_publish_images_from_the_bucket(
    store: S3MediaStore, sandbox: SandboxServer
) -> None:
    item = store.save_jpeg(_jpeg(), width=1080, height=1350)
    admin = SandboxClient(sandbox.url)
    with httpx.Client(timeout=10) as http:
        ig = InstagramAdapter(
            client=http,
            base_url=sandbox.url,
            api_version="v26.0",
            poll_interval=0.05,
            poll_attempts=40,
        )
        payload = Payload(channel="instagram", text="From the bucket #Karachi", media=[item])
        result = ig.publish(payload, {"access_token": sandbox_token(IG_USER)}, account_id=IG_USER)
        assert [p["id"] for p in admin.posts(account=IG_USER, platform="instagram")] == [
            result.external_id
        ]

        x = XAdapter(client=http, base_url=sandbox.url)
        tweet = Payload(channel="x", text="From the bucket https://example.pk/n/1", media=[item])
        posted = x.publish(tweet, {"access_token": sandbox_token(X_USER)}, account_id=X_USER)
        [live] = admin.posts(account=X_USER, platform="x")
        assert live["id"] == posted.external_id and len(live["media_ids"]) == 1
    admin.close()


# --- the local store keeps the same promises ---------------------------------------------------


def test_local_store_sweeps_expired_files_and_half_written_ones(tmp_path: Path) -> None:
    settings = Settings(environment="test", data_dir=tmp_path)
    store = media_store(settings)
    assert isinstance(store, LocalMediaStore)
    kept = store.save_jpeg(_jpeg(shade=10), width=1080, height=1350)
    old = store.save_jpeg(_jpeg(shade=200), width=1080, height=1350)
    stale_part = settings.media_dir / "died-mid-write.part"
    stale_part.write_bytes(b"half")
    three_days_ago = (datetime.now(UTC) - timedelta(days=3)).timestamp()
    for path in (Path(old.path), stale_part):
        os.utime(path, (three_days_ago, three_days_ago))

    assert sweep_media(settings) == 2
    assert Path(kept.path).exists() and not Path(old.path).exists()
    assert not stale_part.exists()


def test_local_store_saving_again_restarts_the_clock(tmp_path: Path) -> None:
    store = LocalMediaStore(tmp_path, "https://cdn.example/m", retention=timedelta(hours=24))
    data = _jpeg()
    item = store.save_jpeg(data, width=1080, height=1350)
    long_ago = (datetime.now(UTC) - timedelta(days=2)).timestamp()
    os.utime(item.path, (long_ago, long_ago))
    assert store.save_jpeg(data, width=1080, height=1350) == item
    assert store.sweep() == 0
    assert Path(item.path).read_bytes() == data
