"""Graph API cursor paging for newest-first listings (``/feed``, ``/media``).

``paging.cursors.after`` is an opaque cursor and ``paging.next`` appears only when more items
exist.  Unlike the real ``next`` URL, ours never carries the access token.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from adapters.sandbox.calls import Call
from adapters.sandbox.state import Post
from adapters.sandbox.wire import SECRET_PARAMS, Response

DEFAULT_LIMIT = 25
MAX_LIMIT = 100


def _encode(post_id: str) -> str:
    return base64.urlsafe_b64encode(post_id.encode()).decode().rstrip("=")


def _decode(cursor: str) -> str | None:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def _int_param(call: Call, name: str) -> int | None:
    value = call.request.param(name)
    return int(value) if value and value.isdigit() else None


def graph_page(
    call: Call, posts: list[Post], to_item: Callable[[Post], dict[str, Any]]
) -> Response:
    """One page of ``posts`` (newest first), honouring limit, after, since and until."""
    limit = max(1, min(MAX_LIMIT, _int_param(call, "limit") or DEFAULT_LIMIT))
    since, until = _int_param(call, "since"), _int_param(call, "until")
    window = [
        p
        for p in posts
        if (since is None or p.created_at >= since) and (until is None or p.created_at <= until)
    ]
    after = call.request.param("after")
    if after:
        after_id = _decode(after)
        ids = [p.id for p in window]
        if after_id not in ids:
            return Response(200, {"data": []})
        window = window[ids.index(after_id) + 1 :]
    page = window[:limit]
    body: dict[str, Any] = {"data": [to_item(p) for p in page]}
    if page:
        paging: dict[str, Any] = {
            "cursors": {"before": _encode(page[0].id), "after": _encode(page[-1].id)}
        }
        if len(window) > limit:
            params = {k: v for k, v in call.request.query.items() if k.lower() not in SECRET_PARAMS}
            params["after"] = paging["cursors"]["after"]
            paging["next"] = f"{call.base_url}{call.request.path}?{urlencode(params)}"
        body["paging"] = paging
    return Response(200, body)
