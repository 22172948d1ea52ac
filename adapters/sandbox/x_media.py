"""X media upload v2 (PLATFORMS.md §1.3): initialize → append → finalize → STATUS, and
``POST /2/media/metadata`` for an image's alt text.

Both the dedicated paths (``/2/media/upload/initialize``, ``/{id}/append``, ``/{id}/finalize``)
and the legacy ``command=INIT|APPEND|FINALIZE|STATUS`` form on ``/2/media/upload`` are served;
a bare ``POST /2/media/upload`` with ``media`` is the one-shot image upload.
"""

from __future__ import annotations

import base64
import binascii
import time
from typing import TYPE_CHECKING

from adapters.sandbox import bodies
from adapters.sandbox.state import XMedia
from adapters.sandbox.wire import Request, Response

if TYPE_CHECKING:
    from adapters.sandbox.calls import Call, Handler

_MB = 1024 * 1024
# Category limits (PLATFORMS.md §1.3 "Limits").
_CATEGORY_LIMITS = {
    "tweet_image": 5 * _MB,
    "dm_image": 5 * _MB,
    "subtitles": 5 * _MB,
    "tweet_gif": 15 * _MB,
    "dm_gif": 15 * _MB,
    "tweet_video": 512 * _MB,
    "dm_video": 512 * _MB,
    "amplify_video": 512 * _MB,
}
_MEDIA_TYPES = frozenset(
    {
        "video/mp4",
        "video/webm",
        "video/mp2t",
        "video/quicktime",
        "text/srt",
        "text/vtt",
        "image/jpeg",
        "image/gif",
        "image/bmp",
        "image/png",
        "image/webp",
        "image/pjpeg",
        "image/tiff",
        "model/gltf-binary",
        "model/vnd.usdz+zip",
    }
)
_EXPIRES_AFTER = 86400
_MAX_SEGMENT_INDEX = 999


def route(request: Request) -> tuple[str, str, Handler] | None:
    """(kind, action, handler) for a media path, or None."""
    parts = request.path.strip("/").split("/")
    if parts == ["2", "media", "metadata"] and request.method == "POST":
        return "metadata", "read", metadata
    if parts[:3] != ["2", "media", "upload"]:
        return None
    if len(parts) == 3:
        command = (request.param("command") or "").upper()
        if request.method == "GET":
            return "status", "read", status
        legacy = {"INIT": initialize, "APPEND": append, "FINALIZE": finalize, "STATUS": status}
        if command in legacy:
            return ("status" if command == "STATUS" else "upload"), "read", legacy[command]
        return "upload", "read", one_shot
    if request.method != "POST":
        return None
    if len(parts) == 4 and parts[3] == "initialize":
        return "upload", "read", initialize
    if len(parts) == 5 and parts[4] in ("append", "finalize"):
        return "upload", "read", append if parts[4] == "append" else finalize
    return None


def _media_id_param(request: Request) -> str | None:
    parts = request.path.strip("/").split("/")
    return parts[3] if len(parts) == 5 else request.param("media_id")


def _default_category(media_type: str) -> str:
    if media_type == "image/gif":
        return "tweet_gif"
    if media_type.startswith("video/"):
        return "tweet_video"
    if media_type.startswith("text/"):
        return "subtitles"
    return "tweet_image"


def initialize(call: Call) -> Response:
    request = call.request
    media_type = request.param("media_type") or ""
    if media_type not in _MEDIA_TYPES:
        return bodies.x_invalid_request(
            "$.media_type: does not have a value in the enumeration", {"media_type": [media_type]}
        )
    category = request.param("media_category") or _default_category(media_type)
    if category not in _CATEGORY_LIMITS:
        return bodies.x_invalid_request(
            "$.media_category: does not have a value in the enumeration",
            {"media_category": [category]},
        )
    try:
        total = int(request.param("total_bytes") or "")
    except ValueError:
        return bodies.x_invalid_request("$.total_bytes: is missing but it is required", {})
    if not 0 < total <= _CATEGORY_LIMITS[category]:
        return bodies.x_invalid_request(
            f"total_bytes {total} is out of range for {category} "
            f"(max {_CATEGORY_LIMITS[category]})",
            {"total_bytes": [str(total)]},
        )
    media = _new_media(call, media_type, category, total)
    data = {"id": media.id, "media_key": media.media_key, "expires_after_secs": _EXPIRES_AFTER}
    return Response(200, {"data": data}, created_id=media.id)


def _new_media(call: Call, media_type: str, category: str, total: int) -> XMedia:
    state = call.state
    processing = (
        0.0
        if category in ("tweet_image", "dm_image", "subtitles")
        else state.config.video_processing_seconds
    )
    media = XMedia(
        id=state.new_x_id(),
        owner=call.account or "",
        media_type=media_type,
        category=category,
        total_bytes=total,
        created_at=time.time(),
        processing_seconds=processing,
    )
    with state.lock:
        state.x_media[media.id] = media
    return media


def _owned_media(call: Call) -> XMedia | Response:
    media_id = _media_id_param(call.request) or ""
    media = call.state.x_media.get(media_id)
    if media is None or media.owner != call.account:
        return bodies.x_not_found("media_id", media_id, "media")
    return media


def _chunk(request: Request) -> bytes | None:
    if "media" in request.files:
        return request.files["media"]
    encoded = request.param("media") or request.param("media_data")
    if encoded is None:
        return None
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return None


def append(call: Call) -> Response:
    media = _owned_media(call)
    if isinstance(media, Response):
        return media
    try:
        index = int(call.request.param("segment_index") or "")
    except ValueError:
        index = -1
    if not 0 <= index <= _MAX_SEGMENT_INDEX:
        return bodies.x_invalid_request(
            f"segment_index must be between 0 and {_MAX_SEGMENT_INDEX}", {"segment_index": [index]}
        )
    chunk = _chunk(call.request)
    if chunk is None:
        return bodies.x_invalid_request("$.media: is missing but it is required", {})
    with call.state.lock:
        if media.finalized_at is not None:
            return bodies.x_invalid_request("The media was already finalized.", {})
        sizes = {**media.segments, index: len(chunk)}
        if sum(sizes.values()) > media.total_bytes:
            return bodies.x_invalid_request(
                "Segments exceed the total_bytes declared at INIT.",
                {"total_bytes": [media.total_bytes]},
            )
        media.segments = sizes
    return Response(200, {"data": {"expires_at": int(media.created_at) + _EXPIRES_AFTER}})


def finalize(call: Call) -> Response:
    media = _owned_media(call)
    if isinstance(media, Response):
        return media
    with call.state.lock:
        received = sum(media.segments.values())
        if received != media.total_bytes:
            return bodies.x_invalid_request(
                f"Segments do not add up to provided total file size ({received} of "
                f"{media.total_bytes} bytes).",
                {},
            )
        if media.finalized_at is None:
            media.finalized_at = time.time()
    return Response(
        200, {"data": _media_data(media, include_processing=media.processing_seconds > 0)}
    )


def one_shot(call: Call) -> Response:
    """Bare ``POST /2/media/upload``: images and subtitles only; ready at once."""
    category = call.request.param("media_category")
    if category not in ("tweet_image", "dm_image", "subtitles"):
        return bodies.x_invalid_request(
            "$.media_category: is missing or not one of tweet_image, dm_image, subtitles", {}
        )
    chunk = _chunk(call.request)
    if not chunk:
        return bodies.x_invalid_request("$.media: is missing but it is required", {})
    if len(chunk) > _CATEGORY_LIMITS[category]:
        return bodies.x_invalid_request("File size exceeds the limit for this media category.", {})
    media_type = call.request.param("media_type") or "image/jpeg"
    media = _new_media(call, media_type, category, len(chunk))
    media.segments = {0: len(chunk)}
    media.finalized_at = time.time()
    return Response(
        200, {"data": _media_data(media, include_processing=False)}, created_id=media.id
    )


def status(call: Call) -> Response:
    media = _owned_media(call)
    if isinstance(media, Response):
        return media
    if media.finalized_at is None:
        return bodies.x_invalid_request("The media has not been finalized.", {})
    return Response(200, {"data": _media_data(media, include_processing=True)})


def _media_data(media: XMedia, *, include_processing: bool) -> dict[str, object]:
    data: dict[str, object] = {
        "id": media.id,
        "media_key": media.media_key,
        "size": media.total_bytes,
        "expires_after_secs": _EXPIRES_AFTER,
    }
    if include_processing:
        state = media.state(time.time())
        info: dict[str, object] = {"state": state}
        if state == "succeeded":
            info["progress_percent"] = 100
        else:
            info["check_after_secs"] = 1
            info["progress_percent"] = 0 if state == "pending" else 50
        data["processing_info"] = info
    return data


# --- POST /2/media/metadata ---------------------------------------------------------------------
_ALT_TEXT_MAX = 1000
_ALT_TEXT_CATEGORIES = frozenset({"tweet_image", "dm_image", "tweet_gif", "dm_gif"})


def metadata(call: Call) -> Response:
    """``{"id": media id, "metadata": {"alt_text": {"text": ...}}}``; alt text ≤ 1,000
    characters, on the caller's own images and GIFs only."""
    body = call.request.json
    if call.request.json_invalid or not isinstance(body, dict):
        return bodies.x_invalid_request("Request body must be a JSON object.", {})
    for key in body:
        if key not in ("id", "metadata"):
            return bodies.x_invalid_request(
                f"$.{key}: is not defined in the schema and the schema does not allow "
                "additional properties",
                {},
            )
    media_id, meta = body.get("id"), body.get("metadata")
    if not isinstance(media_id, str) or not media_id.isdigit() or len(media_id) > 19:
        return bodies.x_invalid_request(
            "$.id: does not match the regex pattern ^[0-9]{1,19}$", {"id": [media_id]}
        )
    if not isinstance(meta, dict):
        return bodies.x_invalid_request("$.metadata: is missing but it is required", {})
    alt = meta.get("alt_text")
    text = alt.get("text") if isinstance(alt, dict) else None
    if alt is not None and not isinstance(text, str):
        return bodies.x_invalid_request("$.metadata.alt_text.text: string expected", {})
    if isinstance(text, str) and len(text) > _ALT_TEXT_MAX:
        return bodies.x_invalid_request(
            f"$.metadata.alt_text.text: must be at most {_ALT_TEXT_MAX} characters",
            {"metadata.alt_text.text": [text]},
        )
    media = call.state.x_media.get(media_id)
    if media is None or media.owner != call.account:
        return bodies.x_not_found("id", media_id, "media")
    if isinstance(text, str):
        if media.category not in _ALT_TEXT_CATEGORIES:
            return bodies.x_invalid_request("Alt text can be set on images and GIFs only.", {})
        with call.state.lock:
            media.alt_text = text
    associated = {"alt_text": {"text": media.alt_text}} if media.alt_text is not None else {}
    return Response(200, {"data": {"id": media.id, "associated_metadata": associated}})
