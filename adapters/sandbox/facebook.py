"""Facebook Pages (PLATFORMS.md §4.3): ``/{page-id}/feed``, ``/{page-id}/photos`` and reads.

Post ids are ``{page_id}_{post_id}``; a message identical to the Page's latest post is refused
with code 506, and ``scheduled_publish_time`` must fall in the documented window.
"""

from __future__ import annotations

import json
import time
from datetime import datetime

from adapters.sandbox import bodies
from adapters.sandbox.calls import Call
from adapters.sandbox.images import (
    FetchError,
    ImageInfo,
    TooLarge,
    fetch_image,
    inspect_image,
)
from adapters.sandbox.paging import graph_page
from adapters.sandbox.state import Post, iso_meta
from adapters.sandbox.wire import Response

MAX_PHOTO_BYTES = 4 * 1024 * 1024
MAX_MESSAGE = 63_206


def post_url(post_id: str) -> str:
    return f"https://www.facebook.com/{post_id}"


def _flag(value: str | None, default: bool) -> bool:
    if value is None:
        return default
    return value.strip().lower() not in ("false", "0", "no")


def _parse_time(value: str) -> float | None:
    """UNIX seconds or ISO 8601 (PHP strtotime strings are not emulated)."""
    if value.strip().isdigit():
        return float(value)
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.timestamp() if parsed.tzinfo else None


def create_feed_post(call: Call) -> Response:
    """``POST /{page-id}/feed``."""
    request = call.request
    message = request.param("message") or ""
    link = request.param("link") or None
    attached = request.param("attached_media")
    if not message and not link and not attached:
        return bodies.meta_invalid_param("Either message, link or attached_media must be provided.")
    if len(message) > MAX_MESSAGE:
        return bodies.meta_invalid_param("The message is too long.")
    published = _flag(request.param("published"), True)
    scheduled_at: float | None = None
    raw_schedule = request.param("scheduled_publish_time")
    if raw_schedule:
        if published:
            return bodies.meta_invalid_param(
                "You cannot specify a scheduled publish time on a published post"
            )
        scheduled_at = _parse_time(raw_schedule)
        config = call.state.config
        now = time.time()
        if scheduled_at is None or not (
            now + config.fb_schedule_min_seconds
            <= scheduled_at
            <= now + config.fb_schedule_max_seconds
        ):
            return bodies.meta_invalid_param("The specified scheduled publish time is invalid.")
    media_ids = _attached_media(attached)
    if media_ids is None:
        return bodies.meta_invalid_param('attached_media must be a list of {"media_fbid": id}.')
    return _store(
        call,
        message,
        link=link,
        image_url=None,
        published=published,
        scheduled_at=scheduled_at,
        media_ids=media_ids,
        photo_id=None,
    )


def _attached_media(raw: str | None) -> list[str] | None:
    if not raw:
        return []
    try:
        items = json.loads(raw)
    except json.JSONDecodeError:
        return None
    if not isinstance(items, list) or not all(
        isinstance(i, dict) and "media_fbid" in i for i in items
    ):
        return None
    return [str(i["media_fbid"]) for i in items]


def create_photo(call: Call) -> Response:
    """``POST /{page-id}/photos`` with ``url`` or a multipart ``source``."""
    request = call.request
    text = request.param("caption") or request.param("message") or ""
    url = request.param("url")
    info: ImageInfo | None
    if "source" in request.files:
        info = inspect_image(request.files["source"])
        if info.size > MAX_PHOTO_BYTES:
            info = None
    elif url:
        try:
            info = fetch_image(url, max_bytes=MAX_PHOTO_BYTES)
        except TooLarge:
            info = None
        except FetchError:
            return bodies.meta_invalid_param(
                "Invalid URL: the image could not be downloaded.", subcode=2061006
            )
    else:
        return bodies.meta_error(324, "(#324) Requires upload file")
    if info is None or info.format not in ("JPEG", "PNG"):
        # Postiz maps subcode 1366046 to "photo over 4 MB or of the wrong type" (PLATFORMS §4.4).
        return bodies.meta_invalid_param(
            "The photo must be a JPG or PNG under 4 MB.", subcode=1366046
        )
    published = _flag(request.param("published"), True)
    return _store(
        call,
        text,
        link=None,
        image_url=url,
        published=published,
        scheduled_at=None,
        media_ids=[],
        photo_id=call.state.new_meta_id(),
    )


def _store(
    call: Call,
    message: str,
    *,
    link: str | None,
    image_url: str | None,
    published: bool,
    scheduled_at: float | None,
    media_ids: list[str],
    photo_id: str | None,
) -> Response:
    page = call.account or ""
    state, now = call.state, time.time()
    with state.lock:
        if message and published and scheduled_at is None:
            latest = state.latest_visible("facebook", page)
            if latest is not None and latest.text == message:
                return bodies.fb_duplicate()
        post_id = f"{page}_{state.new_meta_id()}"
        if photo_id is None or published:
            state.add_post(
                Post(
                    platform="facebook",
                    account=page,
                    id=post_id,
                    text=message,
                    created_at=now,
                    url=post_url(post_id),
                    link=link,
                    image_url=image_url,
                    published=published,
                    scheduled_at=scheduled_at,
                    media_ids=media_ids,
                )
            )
    if photo_id is not None:
        body: dict[str, str] = {"id": photo_id}
        if published:
            body["post_id"] = post_id
        return Response(200, body, created_id=post_id if published else photo_id)
    body = {"id": post_id}
    if "permalink_url" in (call.request.param("fields") or ""):
        body["permalink_url"] = post_url(post_id)
    return Response(200, body, created_id=post_id)


def post_fields(post: Post) -> dict[str, object]:
    fields: dict[str, object] = {
        "id": post.id,
        "message": post.text,
        "created_time": iso_meta(post.scheduled_at or post.created_at),
        "permalink_url": post.url,
        "is_published": post.is_visible(time.time()),
    }
    if post.link:
        fields["link"] = post.link
    return fields


def list_feed(call: Call) -> Response:
    """``GET /{page-id}/feed`` (and ``/published_posts``): newest first."""
    return graph_page(call, call.state.visible_posts("facebook", call.account or ""), post_fields)


def post_object(call: Call, post: Post) -> Response:
    """``GET /{post-id}``."""
    values = post_fields(post)
    names = (call.request.param("fields") or "id,message,created_time").split(",")
    body = {n.strip(): values[n.strip()] for n in names if n.strip() in values}
    body["id"] = post.id
    return Response(200, body)
