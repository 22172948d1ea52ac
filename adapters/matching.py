"""Recognising our own post in a platform's listing, for reconciliation.

The exact test is :func:`adapters.base.text_fingerprint` (NFC, whitespace collapsed).  Platforms
rewrite what they return, though: X HTML-escapes ``&``, ``<`` and ``>`` and replaces every URL
with a ``https://t.co/…`` link (expanded in ``entities.urls``), and appends a t.co link for
attached media.  So a second, looser test compares the texts with every URL removed, but only
when enough words remain that a different post matching by accident is implausible.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from typing import Any

from adapters.base import text_fingerprint

_URL = re.compile(r"(?i)\b(?:https?://|www\.)\S+")
# X's link to an attached photo or video: https://x.com/{user}/status/{id}/photo/1
_X_MEDIA_LINK = re.compile(
    r"(?i)^https?://(?:x|twitter)\.com/[^/]+/status/\d+/(?:photo|video)/\d+$"
)
# Below this many characters of URL-free text, only an exact match counts.
MIN_LOOSE_CHARS = 20


def without_urls(text: str) -> str:
    """``text`` with URLs removed and whitespace collapsed."""
    return " ".join(_URL.sub(" ", text).split())


def expand_x_urls(text: str, entities: Mapping[str, Any] | None) -> str:
    """X ``text`` with each t.co link replaced by its ``expanded_url`` from ``entities``, and
    the t.co link X appends for attached media removed (we never sent it)."""
    for item in (entities or {}).get("urls") or []:
        if isinstance(item, dict) and item.get("url") and item.get("expanded_url"):
            media = bool(item.get("media_key")) or _X_MEDIA_LINK.search(str(item["expanded_url"]))
            text = text.replace(str(item["url"]), "" if media else str(item["expanded_url"]))
    return text


def same_post(sent: str, returned: str, *, also: Iterable[str] = ()) -> bool:
    """Whether ``returned`` (or a variant in ``also``) is the text we ``sent``."""
    candidates = [returned, html.unescape(returned), *also]
    wanted = text_fingerprint(sent)
    if any(text_fingerprint(c) == wanted for c in candidates):
        return True
    loose = without_urls(sent)
    if len(loose) < MIN_LOOSE_CHARS:
        return False
    loose_fp = text_fingerprint(loose)
    return any(text_fingerprint(without_urls(html.unescape(c))) == loose_fp for c in candidates)
