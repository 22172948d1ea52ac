"""X media upload v2: initialize, append, finalize, then STATUS until ``succeeded``.

The v1.1 upload endpoints were retired in 2025 (PLATFORMS.md §1.3); the dedicated v2 paths are
what the OpenAPI spec has.  Uploading publishes nothing, so every transport failure here is
merely retryable.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx

from adapters.base import ALT_TEXT_LIMIT, MediaItem
from adapters.errors import PermanentError, RetryableError
from adapters.transport import bearer, json_body, send
from adapters.x_errors import classify_x_error, classify_x_response

# 1 MiB chunks are proven in production (Postiz, §1.3); images are usually one chunk.
CHUNK_BYTES = 1024 * 1024
MAX_MEDIA_PER_POST = 4
MAX_STATUS_CHECKS = 10


def _media_bytes(client: httpx.Client, item: MediaItem) -> bytes:
    path = Path(item.path)
    if path.is_file():
        return path.read_bytes()
    response = send(
        client,
        "GET",
        item.url,
        platform="the media store",
        action="read the image",
        publishes=False,
    )
    if not response.is_success:
        raise RetryableError(
            f"The image for X could not be read from the media store (HTTP {response.status_code})."
        )
    return response.content


def upload_media(
    client: httpx.Client,
    base_url: str,
    token: str,
    items: Sequence[MediaItem],
    *,
    sleep: Callable[[float], None],
) -> list[str]:
    """Upload up to four images; returns media ids ready for ``media.media_ids``."""
    if len(items) > MAX_MEDIA_PER_POST:
        raise PermanentError(f"X allows at most {MAX_MEDIA_PER_POST} images per post.")
    return [_upload_one(client, base_url, token, item, sleep=sleep) for item in items]


def _call(
    client: httpx.Client, method: str, url: str, token: str, action: str, **kwargs: Any
) -> dict[str, Any]:
    response = send(
        client,
        method,
        url,
        platform="X",
        action=action,
        publishes=False,
        headers=bearer(token),
        **kwargs,
    )
    body = json_body(response)
    if not response.is_success:
        raise classify_x_response(response, action="the media upload", secrets=(token,))
    data = body.get("data") if isinstance(body, dict) else None
    return data if isinstance(data, dict) else {}


def _describe(
    client: httpx.Client, base_url: str, token: str, media_id: str, alt_text: str
) -> None:
    """Give the uploaded image its alt text (``POST /2/media/metadata``), before the post."""
    if alt_text:
        _call(
            client,
            "POST",
            f"{base_url}/2/media/metadata",
            token,
            "set the image's alt text",
            json={"id": media_id, "metadata": {"alt_text": {"text": alt_text[:ALT_TEXT_LIMIT]}}},
        )


def _upload_one(
    client: httpx.Client,
    base_url: str,
    token: str,
    item: MediaItem,
    *,
    sleep: Callable[[float], None],
) -> str:
    content = _media_bytes(client, item)
    root = f"{base_url}/2/media/upload"
    init = _call(
        client,
        "POST",
        f"{root}/initialize",
        token,
        "start the media upload",
        json={
            "media_type": item.content_type,
            "total_bytes": len(content),
            "media_category": "tweet_image",
        },
    )
    media_id = str(init.get("id") or "")
    if not media_id:
        raise RetryableError("X started the media upload without returning a media id.")
    for index, start in enumerate(range(0, len(content), CHUNK_BYTES)):
        _call(
            client,
            "POST",
            f"{root}/{media_id}/append",
            token,
            "upload the media",
            data={"segment_index": str(index)},
            files={"media": ("media", content[start : start + CHUNK_BYTES], item.content_type)},
        )
    info = _call(client, "POST", f"{root}/{media_id}/finalize", token, "finish the media upload")
    for _check in range(MAX_STATUS_CHECKS):
        processing = info.get("processing_info")
        state = processing.get("state") if isinstance(processing, dict) else "succeeded"
        if state == "succeeded":
            _describe(client, base_url, token, media_id, item.alt_text)
            return media_id
        if state == "failed":
            # §1.3: a media id cannot be used until it succeeded; a failed one never will.
            raise classify_x_error(200, {"data": info}, {}, action="the media", secrets=(token,))
        wait = processing.get("check_after_secs", 1) if isinstance(processing, dict) else 1
        sleep(float(wait) if isinstance(wait, int | float) else 1.0)
        info = _call(
            client,
            "GET",
            root,
            token,
            "check the media upload",
            params={"command": "STATUS", "media_id": media_id},
        )
    raise RetryableError(
        f"X is still processing media {media_id}; the next attempt uploads it again."
    )
