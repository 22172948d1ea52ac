"""Request body guards, run before any route reads a body: the size limit (413) and, for the
JSON API, the media type (415) and the nesting depth (400).  Each refusal is problem+json."""

from __future__ import annotations

import json
from typing import Any

from scheduler.intake.jsonbody import MAX_JSON_DEPTH, json_depth_exceeds

Scope = dict[str, Any]
JSON_MEDIA_TYPES = "application/json or application/*+json"


class BodyLimitMiddleware:
    """Refuse bodies over ``max_bytes`` with 413 problem+json (by header and while streaming)."""

    def __init__(self, app: Any, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await self._refuse(send)
            return
        seen = 0

        async def limited_receive() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge:
            await self._refuse(send)

    async def _refuse(self, send: Any) -> None:
        detail = f"The request body is over the {self.max_bytes} byte limit."
        await send_problem(send, 413, "Request too large", detail)


class JsonBodyMiddleware:
    """For paths under ``prefix`` (the JSON API): a body must be UTF-8 JSON (else 415) nested at
    most :data:`MAX_JSON_DEPTH` levels (else 400), checked before any route parses it.

    The body is read here (the size limit outside this middleware bounds it) and replayed to the
    app, so every route, FastAPI's own body parsing included, is covered by one check.
    """

    def __init__(self, app: Any, *, prefix: str) -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length", b"")
        if b"transfer-encoding" not in headers and (not length.isdigit() or int(length) == 0):
            await self.app(scope, receive, send)  # no body
            return
        refusal = media_type_refusal(headers.get(b"content-type", b"").decode("latin-1"))
        if refusal:
            await send_problem(send, 415, "Unsupported media type", refusal)
            return
        messages, body = await _read_body(receive)
        if json_depth_exceeds(body):
            detail = f"The JSON body is nested deeper than {MAX_JSON_DEPTH} levels."
            await send_problem(send, 400, "Malformed body", detail)
            return

        async def replay() -> Any:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


def media_type_refusal(content_type: str) -> str | None:
    """Why a body of this ``Content-Type`` is refused, or ``None`` for UTF-8 JSON."""
    media_type, _, params = content_type.partition(";")
    kind, _, subtype = media_type.strip().lower().partition("/")
    if kind != "application" or not (subtype == "json" or subtype.endswith("+json")):
        shown = media_type.strip() or "none"
        return f"Send the body as JSON ({JSON_MEDIA_TYPES}); the Content-Type was {shown!r}."
    for param in params.split(";"):
        name, _, value = param.partition("=")
        charset = value.strip().strip('"').lower()
        if name.strip().lower() == "charset" and charset not in ("utf-8", "utf8"):
            return f"JSON is UTF-8; the charset {charset!r} is not accepted."
    return None


async def _read_body(receive: Any) -> tuple[list[Any], bytes]:
    messages, chunks = [], []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return messages, b"".join(chunks)


async def send_problem(send: Any, status: int, title: str, detail: str) -> None:
    """Answer with problem+json straight from a middleware (no route ran)."""
    body = json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body.encode()})


class _TooLarge(Exception):
    pass
