"""The Graph API router: ``/{version}/{id}[/{edge}]`` for Instagram and Facebook Pages.

Tokens come from ``access_token`` (query, form or JSON body) or ``Authorization: Bearer``: a
Page token for the Page in the path (or its linked IG user), a user token of a user who manages
it, or the fixed ``sandbox-token-<account>``; unknown, expired and revoked tokens get code 190
with Meta's subcode, and a user token on a Page write gets Meta's (#200).  The login and token
endpoints live in :mod:`adapters.sandbox.meta_oauth`.  Every response carries ``X-App-Usage`` and
``X-Business-Use-Case-Usage`` (PLATFORMS.md §4.5).
"""

from __future__ import annotations

import json
import math
import re
import secrets
import time
from collections.abc import Callable

from adapters.sandbox import bodies, comments, facebook, instagram, meta_oauth, oauth_bodies
from adapters.sandbox.calls import Call, Handler, run_call
from adapters.sandbox.state import SandboxState
from adapters.sandbox.wire import Request, Response

DEFAULT_VERSIONS = r"v\d+\.0"
_HOUR = 3600
# Budgets behind the usage percentages; only their shape matters to clients.
_APP_CALLS_PER_HOUR = 50_000
_ACCOUNT_CALLS_PER_HOUR = 4_800

_EDGES: dict[tuple[str, str], tuple[str, str, str, Handler]] = {
    ("POST", "media"): ("instagram", "container", "write", instagram.create_container),
    ("GET", "media"): ("instagram", "list", "read", instagram.list_media),
    ("POST", "media_publish"): ("instagram", "publish", "live", instagram.publish),
    ("GET", "content_publishing_limit"): ("instagram", "limit", "read", instagram.publishing_limit),
    ("POST", "feed"): ("facebook", "create", "live", facebook.create_feed_post),
    ("GET", "feed"): ("facebook", "list", "read", facebook.list_feed),
    ("GET", "published_posts"): ("facebook", "list", "read", facebook.list_feed),
    ("POST", "photos"): ("facebook", "create", "live", facebook.create_photo),
}


def handle(
    state: SandboxState, request: Request, base_url: str, versions: re.Pattern[str]
) -> Response:
    """Serve one Graph API request."""
    parts = request.path.strip("/").split("/")
    if not 2 <= len(parts) <= 3 or not versions.fullmatch(parts[0]):
        call = Call(state, request, base_url, "graph", "unknown")
        return run_call(
            call,
            lambda c: bodies.meta_unknown_path(request.path),
            on_fault=_fault_response,
            decorate=_decorate,
        )
    served = meta_oauth.handle(state, request, base_url, parts[1:])
    if served is not None:
        return served
    object_id = parts[1]
    if len(parts) == 3 and parts[2] == "comments":
        call, handler = _comments_call(state, request, base_url, object_id)
    elif len(parts) == 3:
        edge = _EDGES.get((request.method, parts[2]))
        if edge is None:
            call = Call(state, request, base_url, "graph", "unknown", account=object_id)
            return run_call(
                call,
                lambda c: bodies.meta_unknown_path(request.path),
                on_fault=_fault_response,
                decorate=_decorate,
            )
        platform, kind, action, handler = edge
        call = Call(state, request, base_url, platform, kind, action, account=object_id)
    else:
        call, handler = _object_call(state, request, base_url, object_id)
    _authorize(call, request)
    _capture_content(call)
    return run_call(call, handler, on_fault=_fault_response, decorate=_decorate)


def _object_call(
    state: SandboxState, request: Request, base_url: str, object_id: str
) -> tuple[Call, Handler]:
    """``GET /{id}``: an IG container, an IG media or a Page post."""
    with state.lock:
        container = state.containers.get(object_id)
        post = state.posts_by_id.get(object_id)
    if request.method == "GET" and container is not None:
        call = Call(state, request, base_url, "instagram", "status", account=container.owner)
        return call, lambda c: instagram.container_status(c, container)
    if request.method == "GET" and post is not None and post.platform != "x":
        call = Call(state, request, base_url, post.platform, "object", account=post.account)
        show: Callable[[Call], Response] = (
            (lambda c: instagram.media_object(c, post))
            if post.platform == "instagram"
            else (lambda c: facebook.post_object(c, post))
        )
        return call, show
    call = Call(state, request, base_url, "graph", "object")
    return call, lambda c: bodies.meta_unknown_object(object_id)


def _comments_call(
    state: SandboxState, request: Request, base_url: str, object_id: str
) -> tuple[Call, Handler]:
    """``/{ig-media-id}/comments`` or ``/{page-post-id}/comments``: acting as the post's owner."""
    with state.lock:
        parent = state.posts_by_id.get(object_id)
    if parent is None or parent.platform == "x" or request.method not in ("GET", "POST"):
        call = Call(state, request, base_url, "graph", "comment", account=object_id)
        return call, lambda c: bodies.meta_unknown_object(object_id)
    write = request.method == "POST"
    call = Call(
        state,
        request,
        base_url,
        parent.platform,
        "comment" if write else "comments",
        "live" if write else "read",
        account=parent.account,
    )
    if write:
        return call, lambda c: comments.create_comment(c, parent)
    return call, lambda c: comments.list_comments(c, parent)


def _authorize(call: Call, request: Request) -> None:
    grants = call.state.grants
    found = grants.lookup(
        request.param("access_token") or request.bearer_token(), ("meta_user", "meta_page")
    )
    call.auth_error = meta_oauth.token_problem(grants, found)
    if call.auth_error is not None:
        return
    token = found.token
    account = found.static_account or (token.subject if token else None)
    if token is not None and token.kind == "meta_user":
        # A user token acts on the Pages its user manages and their IG accounts, but
        # publishing on a Page needs the Page token (PLATFORMS.md §4.2).
        if call.platform == "facebook" and call.action != "read":
            call.auth_error = oauth_bodies.meta_page_token_required()
            return
        if call.account is None or call.account in meta_oauth.user_accounts(token.subject):
            account = call.account or account
    elif (
        token is not None
        and call.account is not None
        and meta_oauth.page_of_instagram(call.account) == token.subject
    ):
        # A Page token also speaks for the Instagram account linked to its Page (§3.1).
        account = call.account
    if call.account is None:
        call.account = account
    elif account != call.account:
        # A token for another Page is a permission problem; another IG user looks missing.
        call.auth_error = (
            bodies.meta_permission_denied()
            if call.platform == "facebook"
            else bodies.meta_unknown_object(call.account)
        )


def _capture_content(call: Call) -> None:
    request = call.request
    if call.kind == "container":
        call.content["caption"] = request.param("caption")
    elif call.kind == "create":
        call.content["message"] = request.param("message") or request.param("caption")


def _fault_response(call: Call, fault: str) -> Response:
    ig = call.platform == "instagram"
    makers = {
        "5xx": bodies.meta_server_error,
        "429": bodies.ig_rate_limited if ig else bodies.fb_rate_limited,
        "expired": bodies.meta_expired_token,
        "duplicate": bodies.fb_duplicate,
        "permanent": bodies.ig_image_too_large
        if ig
        else (lambda: bodies.meta_invalid_param("Invalid parameter (injected permanent fault).")),
        "blocked": bodies.ig_blocked if ig else bodies.fb_blocked,
    }
    return makers.get(fault, bodies.meta_server_error)()


def _decorate(call: Call, response: Response) -> None:
    """Usage headers as JSON strings; percentages of a rolling hour (PLATFORMS.md §4.5)."""
    state = call.state
    headers = response.headers
    headers["x-fb-trace-id"] = bodies.fbtrace_id()
    headers["x-fb-request-id"] = secrets.token_hex(8)
    app_calls = state.count_call(state.meta_calls, "app", _HOUR)
    app_pct = min(100, app_calls * 100 // _APP_CALLS_PER_HOUR)
    headers["X-App-Usage"] = json.dumps(
        {"call_count": app_pct, "total_time": app_pct, "total_cputime": app_pct}
    )
    if call.account is None or call.platform not in ("instagram", "facebook"):
        return
    calls = state.count_call(state.meta_calls, call.account, _HOUR)
    pct = min(100, calls * 100 // _ACCOUNT_CALLS_PER_HOUR)
    regain = 0
    throttled = response.fault == "429" and call.decision.reset_at is not None
    if throttled and call.decision.reset_at is not None:
        pct = 100
        # Minutes, rounded up, never 0 while throttled.
        regain = max(1, math.ceil((call.decision.reset_at - time.time()) / 60))
    usage = {
        "type": "instagram" if call.platform == "instagram" else "pages",
        "call_count": pct,
        "total_cputime": pct,
        "total_time": pct,
        "estimated_time_to_regain_access": regain,
    }
    headers["X-Business-Use-Case-Usage"] = json.dumps({call.account: [usage]})
