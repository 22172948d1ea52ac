"""Admin endpoints under ``/_sandbox/`` for tests, the CLI and people poking at the sandbox.

``GET requests`` and ``GET posts`` show what the platforms received and what is live, ``GET
comments`` the comments on live posts (``parent``, ``platform`` filters);
``faults`` sets, lists and clears injected faults; ``clock`` moves the clock of Instagram's
publishing window forward; ``reset`` forgets everything; ``images``
serves generated JPEG/PNG files for Instagram and Facebook to fetch;
``media`` shows and sets whether Instagram refuses image URLs on private addresses, as
Meta does, and which ``host:port`` pairs it fetches anyway.  Under ``oauth/``:
``revoke`` kills every token granted to a user or Page (the person de-authorised the app, so the
next refresh or call fails in the platform's words), ``advance`` moves the token clock forward,
``login`` picks the user who approves the next authorizations.
"""

from __future__ import annotations

import re

from adapters.sandbox.faults import FaultError, parse_fault
from adapters.sandbox.images import generate_image
from adapters.sandbox.media_access import MediaAccessError
from adapters.sandbox.state import SandboxState
from adapters.sandbox.wire import Request, Response

_IMAGE = re.compile(r"^/_sandbox/images/(\d{1,4})x(\d{1,4})\.(jpg|jpeg|png)$")


def _error(status: int, message: str) -> Response:
    return Response(status, {"error": message})


def handle(state: SandboxState, request: Request) -> Response:
    path, method, query = request.path.rstrip("/"), request.method, request.query
    if path == "/_sandbox/health" and method == "GET":
        return Response(200, {"ok": True})
    if path == "/_sandbox/requests" and method == "GET":
        records = state.list_requests(
            account=query.get("account"), platform=query.get("platform"), kind=query.get("kind")
        )
        return Response(200, {"requests": [r.as_dict() for r in records]})
    if path == "/_sandbox/posts" and method == "GET":
        posts = state.list_posts(account=query.get("account"), platform=query.get("platform"))
        return Response(200, {"posts": [p.as_dict() for p in posts]})
    if path == "/_sandbox/comments" and method == "GET":
        found = state.list_comments(parent=query.get("parent"), platform=query.get("platform"))
        return Response(200, {"comments": [c.as_dict() for c in found]})
    if path == "/_sandbox/faults":
        return _faults(state, request)
    if path.startswith("/_sandbox/oauth/") and method == "POST":
        return _oauth(state, path.removeprefix("/_sandbox/oauth/"), request)
    if path == "/_sandbox/clock" and method == "POST":
        return _clock(state, request)
    if path == "/_sandbox/media":
        return _media(state, request)
    if path == "/_sandbox/reset" and method == "POST":
        state.reset()
        return Response(200, {"ok": True})
    match = _IMAGE.match(path)
    if match and method == "GET":
        return _image(request, match)
    return _error(404, f"no admin endpoint {method} {path}")


def _faults(state: SandboxState, request: Request) -> Response:
    if request.method == "GET":
        return Response(200, {"faults": [f.as_dict() for f in state.faults.list()]})
    if request.method == "DELETE":
        state.faults.clear(request.query.get("account"))
        return Response(200, {"faults": [f.as_dict() for f in state.faults.list()]})
    if request.method == "POST":
        if request.json_invalid or not isinstance(request.json, dict):
            return _error(400, "send a JSON object")
        try:
            config = parse_fault(request.json)
        except (FaultError, ValueError) as exc:
            return _error(400, str(exc))
        state.faults.set(config)
        return Response(200, config.as_dict())
    return _error(405, "use GET, POST or DELETE")


def _oauth(state: SandboxState, action: str, request: Request) -> Response:
    body = request.json if isinstance(request.json, dict) else {}
    grants = state.grants
    if action == "revoke":
        subject = body.get("user") or body.get("account")
        if not isinstance(subject, str) or not subject:
            return _error(400, 'send {"user": "<user or Page id>"}')
        return Response(200, {"revoked": grants.revoke_subject(subject)})
    if action == "advance":
        seconds = body.get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            return _error(400, 'send {"seconds": <non-negative number>}')
        return Response(200, {"offset_seconds": grants.advance(float(seconds))})
    if action == "login":
        platform, user = body.get("platform"), body.get("user")
        if platform not in ("x", "meta") or not isinstance(user, str) or not user.isdigit():
            return _error(400, 'send {"platform": "x"|"meta", "user": "<numeric id>"}')
        if platform == "x":
            grants.x_login = user
        else:
            grants.meta_login = user
        return Response(200, {"platform": platform, "user": user})
    return _error(404, f"no admin endpoint POST /_sandbox/oauth/{action}")


def _clock(state: SandboxState, request: Request) -> Response:
    """Move the clock of Instagram's rolling publishing window: ``{"advance_seconds": N}``."""
    body = request.json if isinstance(request.json, dict) else {}
    seconds = body.get("advance_seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
        return _error(400, 'send {"advance_seconds": N} with N a number of seconds >= 0')
    with state.lock:
        state.quota_clock_offset += float(seconds)
        offset = state.quota_clock_offset
    return Response(200, {"quota_clock_offset": offset})


def _media(state: SandboxState, request: Request) -> Response:
    """``GET``: the media mode; ``POST {"refuse_private": bool, "allow": ["host:port", ...]}``
    sets either or both (a bad body changes nothing)."""
    if request.method == "GET":
        return Response(200, state.media.view().as_dict())
    if request.method != "POST":
        return _error(405, "use GET or POST")
    body = request.json
    usage = 'send {"refuse_private": true|false, "allow": ["host:port", ...]}'
    if request.json_invalid or not isinstance(body, dict) or not body:
        return _error(400, usage)
    refuse, allow = body.get("refuse_private"), body.get("allow")
    unknown = set(body) - {"refuse_private", "allow"}
    if unknown or not isinstance(refuse, bool | None):
        return _error(400, usage)
    if allow is not None and (
        not isinstance(allow, list) or not all(isinstance(a, str) for a in allow)
    ):
        return _error(400, usage)
    try:
        view = state.media.configure(refuse_private=refuse, allow=allow)
    except MediaAccessError as exc:
        return _error(400, str(exc))
    return Response(200, view.as_dict())


def _image(request: Request, match: re.Match[str]) -> Response:
    width, height, ext = int(match[1]), int(match[2]), match[3]
    pad = request.query.get("pad_bytes", "0")
    try:
        data = generate_image(
            width, height, "PNG" if ext == "png" else "JPEG", int(pad) if pad.isdigit() else -1
        )
    except ValueError as exc:
        return _error(400, str(exc))
    ctype = "image/png" if ext == "png" else "image/jpeg"
    return Response(200, raw=data, content_type=ctype)
