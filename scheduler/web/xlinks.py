"""Links in the X preview as X shows them.

X wraps every link in a 23-character t.co URL (that is what the weighted length counts) and
shows its ``display_url``: the address without the scheme or a leading ``www.``, with what
follows the host cut to 15 characters and "…" when it is longer than 16 (an ellipsis in place of
one character would save nothing).  Examples from X's API answers:
``https://developer.twitter.com/en/use-cases/success-stories/penn`` shows as
``developer.twitter.com/en/use-cases/s…``, ``https://www.instagram.com/p/BsgzCkbB8qy/?utm_source=…``
as ``instagram.com/p/BsgzCkbB8qy/…``, ``https://github.com/saasfly/saasfly`` whole and
``https://www.quesnelobserver.com/`` as ``quesnelobserver.com``.

Links are found as X finds them (twitter-text, TLDs included: ``news.example`` is no link).
``static/x-counter.js`` repeats :func:`x_display_url` for the live preview.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from twitter_text import extract_urls_with_indices

ELLIPSIS = "\u2026"
#: How much of the path (query and fragment included) X shows before the ellipsis.
SHOWN_PATH = 15
_SCHEME = re.compile(r"^https?://", re.IGNORECASE)
_WWW = re.compile(r"^www\.", re.IGNORECASE)
_HOST_END = re.compile(r"[/?#]")


def x_display_url(url: str) -> str:
    """``https://www.example.com/news/2026/11/03/story?utm_source=x`` as X shows it:
    ``example.com/news/2026/11/0…``."""
    rest = _WWW.sub("", _SCHEME.sub("", url))
    end = _HOST_END.search(rest)
    host, tail = (rest[: end.start()], rest[end.start() :]) if end else (rest, "")
    if tail == "/":
        tail = ""
    if len(tail) > SHOWN_PATH + 1:
        tail = tail[:SHOWN_PATH] + ELLIPSIS
    return host + tail


@dataclass(frozen=True)
class PreviewPart:
    """A run of the post's text; a link when ``href`` is set (``text`` is then how X shows it)."""

    text: str
    href: str | None = None
    full: str | None = None  # the link as written, for the hover title


def x_preview_parts(text: str) -> list[PreviewPart]:
    """The post's text split into plain runs and links shown as X shows them."""
    parts: list[PreviewPart] = []
    last = 0
    for entity in extract_urls_with_indices(text):
        start, end = entity["indices"]
        url = str(entity["url"])
        if start > last:
            parts.append(PreviewPart(text[last:start]))
        href = url if _SCHEME.match(url) else "http://" + url
        parts.append(PreviewPart(x_display_url(url), href=href, full=url))
        last = end
    if last < len(text) or not parts:
        parts.append(PreviewPart(text[last:]))
    return parts
