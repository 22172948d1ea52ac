"""X's link wrapping: every URL in a post's text comes back as a t.co link (PLATFORMS.md §2.1,
URLs weigh 23), with ``entities.urls`` mapping each one to the URL that was sent."""

from __future__ import annotations

import hashlib
from typing import Any

from twitter_text import extract_urls_with_indices

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_DISPLAY_MAX = 23


def tco(url: str) -> str:
    """A stable t.co link for ``url``."""
    number = int.from_bytes(hashlib.sha256(url.encode("utf-8")).digest()[:8], "big")
    code = []
    for _ in range(10):
        number, rest = divmod(number, len(_ALPHABET))
        code.append(_ALPHABET[rest])
    return "https://t.co/" + "".join(code)


def wrap_links(text: str) -> tuple[str, list[dict[str, Any]]]:
    """The text as X shows it and its ``entities.urls``."""
    pieces: list[str] = []
    entities: list[dict[str, Any]] = []
    position = 0
    length = 0
    for item in extract_urls_with_indices(text):
        start, end = item["indices"]
        before = text[position:start]
        pieces.append(before)
        length += len(before)
        url = str(item["url"])
        short = tco(url)
        expanded = url if "://" in url else f"http://{url}"
        display = url.split("://", 1)[-1]
        if len(display) > _DISPLAY_MAX:
            display = display[: _DISPLAY_MAX - 1] + "…"
        entities.append(
            {
                "start": length,
                "end": length + len(short),
                "url": short,
                "expanded_url": expanded,
                "display_url": display,
            }
        )
        pieces.append(short)
        length += len(short)
        position = end
    pieces.append(text[position:])
    return "".join(pieces), entities


def shown_post(
    text: str, *, user: str, post_id: str, media_keys: list[str]
) -> tuple[str, list[dict[str, Any]]]:
    """The text and ``entities.urls`` of a post as X shows it: links wrapped, and a post with
    media ends with one more t.co link, to its first photo (its entity carries the media_key)."""
    shown, entities = wrap_links(text)
    if not media_keys:
        return shown, entities
    photo = f"https://x.com/{user}/status/{post_id}/photo/1"
    short = tco(photo)
    shown = f"{shown} {short}" if shown else short
    entities.append(
        {
            "start": len(shown) - len(short),
            "end": len(shown),
            "url": short,
            "expanded_url": photo,
            "display_url": f"pic.x.com/{short.rsplit('/', 1)[-1]}",
            "media_key": media_keys[0],
        }
    )
    return shown, entities
