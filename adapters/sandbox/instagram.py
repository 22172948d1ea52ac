"""Instagram content publishing (PLATFORMS.md §3): containers, status, media_publish, limits.

``POST /{ig-user-id}/media`` fetches and checks the image before answering, like Instagram's
cURL does; ``media_publish`` is the only call that makes a post live and consumes quota, and a
PUBLISHED container can never make a second post (the idempotency guard of §3.2).
"""

from __future__ import annotations

import re
import time

from adapters.sandbox import bodies
from adapters.sandbox.calls import Call
from adapters.sandbox.images import FetchError, TooLarge, fetch_image
from adapters.sandbox.paging import graph_page
from adapters.sandbox.state import Container, Post, iso_meta
from adapters.sandbox.wire import Response

MAX_IMAGE_BYTES = 8 * 1024 * 1024
MAX_CAPTION = 2200
MAX_HASHTAGS = 30
MAX_MENTIONS = 20
QUOTA_DURATION = 86400
_HASHTAG = re.compile(r"(?<![\w&])#\w+")
_MENTION = re.compile(r"(?<![\w])@[\w.]+")
_SHORTCODE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_STATUS_TEXT = {
    "FINISHED": "Finished: Media has been uploaded and it is ready to be published.",
    "IN_PROGRESS": "In Progress: Media is still being processed.",
    "PUBLISHED": "Published: Media has been successfully published.",
    "EXPIRED": "Expired: Media was not published within 24 hours.",
    "ERROR": "Error: Media upload has failed with error code 2207032.",
}


def shortcode(media_id: str) -> str:
    """Instagram's URL shortcode: the media id in base64 with its own alphabet."""
    number, chars = int(media_id), []
    while number:
        number, rest = divmod(number, 64)
        chars.append(_SHORTCODE[rest])
    return "".join(reversed(chars)) or "A"


def permalink(media_id: str) -> str:
    return f"https://www.instagram.com/p/{shortcode(media_id)}/"


def caption_problem(caption: str) -> Response | None:
    """Caption caps from the IG User Media reference (PLATFORMS.md §3.3)."""
    if len(caption) > MAX_CAPTION:
        return bodies.ig_caption_refused(f"The caption is too long (max {MAX_CAPTION} characters).")
    if len(_HASHTAG.findall(caption)) > MAX_HASHTAGS:
        return bodies.ig_caption_refused(f"The caption has more than {MAX_HASHTAGS} hashtags.")
    if len(_MENTION.findall(caption)) > MAX_MENTIONS:
        return bodies.ig_caption_refused(f"The caption has more than {MAX_MENTIONS} @mentions.")
    return None


def create_container(call: Call) -> Response:
    """``POST /{ig-user-id}/media`` for an image (or a carousel of image containers)."""
    request = call.request
    caption = request.param("caption") or ""
    call.content["caption"] = caption
    media_type = (request.param("media_type") or "IMAGE").upper()
    if media_type == "CAROUSEL":
        return _create_carousel(call, caption)
    if media_type not in ("IMAGE", "STORIES"):
        return bodies.meta_invalid_param(f"media_type {media_type} is not supported by the sandbox")
    image_url = request.param("image_url")
    if not image_url:
        return bodies.meta_invalid_param("The parameter image_url is required.")
    problem = caption_problem(caption)
    if problem is not None:
        return problem
    if call.state.media.refuses(image_url):  # Meta's fetchers never reach a private address
        return bodies.ig_fetch_failed()
    try:
        info = fetch_image(image_url, max_bytes=MAX_IMAGE_BYTES)
    except TooLarge:
        return bodies.ig_image_too_large()
    except FetchError as exc:
        return bodies.ig_fetch_timeout() if exc.timeout else bodies.ig_fetch_failed()
    if info.format != "JPEG":
        return bodies.ig_bad_format()
    if not 0.8 <= round(info.aspect, 3) <= 1.91:
        return bodies.ig_bad_aspect(info.aspect)
    return _store_container(call, image_url, caption)


def _create_carousel(call: Call, caption: str) -> Response:
    children = [c for c in (call.request.param("children") or "").split(",") if c]
    state, now = call.state, time.time()
    with state.lock:
        found = [state.containers.get(c) for c in children]
        valid = all(
            c is not None and c.owner == call.account and c.status_code(now) == "FINISHED"
            for c in found
        )
    if not 2 <= len(children) <= 10 or not valid:
        return bodies.ig_error(
            100,
            2207028,
            "Carousel validation failed",
            "Carousel validation failed",
            "A carousel needs 2 to 10 finished item containers of the same account.",
        )
    problem = caption_problem(caption)
    if problem is not None:
        return problem
    first = found[0]
    return _store_container(call, first.image_url if first else "", caption)


def _store_container(call: Call, image_url: str, caption: str) -> Response:
    state, now = call.state, time.time()
    fault = state.faults.lookup(call.account, "instagram")
    delay = state.config.container_delay
    if fault is not None and fault.container_delay_ms is not None:
        delay = fault.container_delay_ms / 1000
    container = Container(
        id=state.new_meta_id(),
        owner=call.account or "",
        image_url=image_url,
        caption=caption,
        created_at=now,
        ready_at=now + delay,
        error=call.decision.fault == "container_error",
    )
    with state.lock:
        state.containers[container.id] = container
    return Response(200, {"id": container.id}, created_id=container.id)


def container_status(call: Call, container: Container) -> Response:
    """``GET /{container-id}?fields=status_code,status``."""
    fields = _fields(call, default="id")
    code = container.status_code(time.time())
    values = {
        "id": container.id,
        "status_code": code,
        "status": _STATUS_TEXT[code],
        "caption": container.caption,
    }
    body = {name: values[name] for name in fields if name in values}
    body["id"] = container.id
    return Response(200, body)


def publish(call: Call) -> Response:
    """``POST /{ig-user-id}/media_publish?creation_id=``; atomic, so one container → one post."""
    creation_id = call.request.param("creation_id") or ""
    state, now = call.state, time.time()
    with state.lock:
        container = state.containers.get(creation_id)
        if container is None or container.owner != call.account:
            return bodies.meta_unknown_object(creation_id)
        code = container.status_code(now)
        if code == "PUBLISHED":
            return bodies.ig_already_published(creation_id)
        if code == "EXPIRED":
            return bodies.ig_container_expired()
        if code == "ERROR":
            return bodies.ig_container_failed()
        if code == "IN_PROGRESS":
            return bodies.ig_not_ready()
        window_start = now + state.quota_clock_offset - QUOTA_DURATION
        if quota_usage(call, since=window_start) >= quota_total(call):
            return bodies.ig_quota_reached()
        media_id = state.new_meta_id()
        container.media_id = media_id
        state.add_post(
            Post(
                platform="instagram",
                account=container.owner,
                id=media_id,
                text=container.caption,
                created_at=now,
                url=permalink(media_id),
                image_url=container.image_url,
                container_id=container.id,
            )
        )
    call.content["caption"] = container.caption
    return Response(200, {"id": media_id}, created_id=media_id)


def quota_total(call: Call) -> int:
    fault = call.state.faults.lookup(call.account, "instagram")
    if fault is not None and fault.quota_total is not None:
        return fault.quota_total
    return call.state.config.quota_total


def quota_usage(call: Call, *, since: float) -> int:
    """Publishes in the rolling window; carousels count once (PLATFORMS.md §3.3)."""
    count = 0
    for post in reversed(call.state.list_posts(account=call.account, platform="instagram")):
        if post.created_at < since:
            break
        count += 1
    return count


def publishing_limit(call: Call) -> Response:
    """``GET /{ig-user-id}/content_publishing_limit``."""
    now = time.time() + call.state.quota_clock_offset
    since_param = call.request.param("since")
    since = now - QUOTA_DURATION
    if since_param and since_param.isdigit():
        since = max(since, float(since_param))
    usage = quota_usage(call, since=since)
    config = {"quota_total": quota_total(call), "quota_duration": QUOTA_DURATION}
    return Response(200, {"data": [{"quota_usage": usage, "config": config}]})


def list_media(call: Call) -> Response:
    """``GET /{ig-user-id}/media``: recent media, newest first."""
    return graph_page(call, call.state.visible_posts("instagram", call.account or ""), media_fields)


def media_fields(post: Post) -> dict[str, object]:
    return {
        "id": post.id,
        "caption": post.text,
        "media_type": "IMAGE",
        "media_url": post.image_url,
        "permalink": post.url,
        "shortcode": shortcode(post.id),
        "timestamp": iso_meta(post.created_at),
    }


def media_object(call: Call, post: Post) -> Response:
    """``GET /{ig-media-id}?fields=permalink,...``."""
    values = media_fields(post)
    body = {name: values[name] for name in _fields(call, default="id") if name in values}
    body["id"] = post.id
    return Response(200, body)


def _fields(call: Call, *, default: str) -> list[str]:
    return [f.strip() for f in (call.request.param("fields") or default).split(",") if f.strip()]
