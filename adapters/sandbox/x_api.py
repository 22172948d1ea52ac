"""X API v2 emulation: ``POST /2/tweets``, ``GET /2/users/:id/tweets``, ``DELETE /2/tweets/:id``
and the router for ``/2/...`` (media upload lives in :mod:`adapters.sandbox.x_media`).

The bearer token identifies the user: an access token the sandbox issued (see
:mod:`adapters.sandbox.x_oauth`) or a fixed ``sandbox-token-<user_id>`` (PLATFORMS.md §1.4).
Unknown, expired and revoked tokens get X's 401.
"""

from __future__ import annotations

import re
import secrets
import time
from datetime import datetime

from twitter_text import parse_tweet

from adapters.sandbox import bodies, x_media, x_oauth
from adapters.sandbox.calls import Call, Handler, run_call
from adapters.sandbox.state import Post, SandboxState, iso_z
from adapters.sandbox.wire import Request, Response
from adapters.sandbox.x_links import shown_post

_ID = re.compile(r"^[0-9]{1,19}$")

# TweetCreateRequest properties; additionalProperties is false (PLATFORMS.md §1.1).
_CREATE_FIELDS = frozenset(
    {
        "text",
        "reply",
        "media",
        "poll",
        "quote_tweet_id",
        "reply_settings",
        "for_super_followers_only",
        "nullcast",
        "geo",
        "card_uri",
        "community_id",
        "share_with_followers",
        "direct_message_deep_link",
        "edit_options",
        "made_with_ai",
        "paid_partnership",
    }
)
_REPLY_FIELDS = frozenset(
    {"in_reply_to_tweet_id", "exclude_reply_user_ids", "auto_populate_reply_metadata"}
)
_MEDIA_FIELDS = frozenset({"media_ids", "tagged_user_ids"})
_REPLY_SETTINGS = frozenset({"following", "mentionedUsers", "subscribers", "verified"})
_WINDOW_15M = 15 * 60
_WINDOW_24H = 24 * 3600
# Per-user 15-minute limits of the endpoints we emulate (PLATFORMS.md §1.5), for the headers.
_READ_LIMITS = {
    "list": 900,
    "upload": 1875,
    "status": 1000,
    "metadata": 500,
    "delete": 50,
    "me": 75,
}


def user_from_token(state: SandboxState, request: Request) -> str | None:
    """The user of a valid bearer token, or None (missing, unknown, expired or revoked)."""
    found = state.grants.lookup(request.bearer_token(), ("x_access",))
    if not found.valid:
        return None
    return found.static_account or (found.token.subject if found.token else None)


def handle(state: SandboxState, request: Request, base_url: str) -> Response:
    """Serve one ``/2/...`` request."""
    served = x_oauth.handle(state, request, base_url)
    if served is not None:
        return served
    route = _route(request)
    if route is None:
        call = Call(state, request, base_url, "x", "unknown")
        return run_call(
            call,
            lambda c: bodies.x_route_not_found(request.path),
            on_fault=_fault_response,
            decorate=_decorate,
        )
    kind, action, handler = route
    call = Call(
        state, request, base_url, "x", kind, action, account=user_from_token(state, request)
    )
    if call.account is None:
        call.auth_error = bodies.x_unauthorized()
    if kind == "create" and isinstance(request.json, dict):
        text = request.json.get("text")
        call.content["text"] = text if isinstance(text, str) else None
    return run_call(call, handler, on_fault=_fault_response, decorate=_decorate)


def _route(request: Request) -> tuple[str, str, Handler] | None:
    parts = request.path.strip("/").split("/")
    method = request.method
    if parts == ["2", "tweets"] and method == "POST":
        return "create", "live", create_tweet
    if parts == ["2", "users", "me"] and method == "GET":
        return "me", "read", x_oauth.users_me
    if len(parts) == 3 and parts[:2] == ["2", "tweets"] and method == "DELETE":
        return "delete", "read", delete_tweet
    if len(parts) == 4 and parts[:2] == ["2", "users"] and parts[3] == "tweets" and method == "GET":
        return "list", "read", list_tweets
    return x_media.route(request)


# --- faults and headers -------------------------------------------------------------------------
def _fault_response(call: Call, fault: str) -> Response:
    makers = {
        "5xx": bodies.x_unavailable,
        "429": bodies.x_too_many_requests,
        "expired": bodies.x_unauthorized,
        "duplicate": bodies.x_duplicate,
        "permanent": lambda: bodies.x_invalid_request(
            "The request was refused by the sandbox (injected permanent fault).", {}
        ),
        "usage_capped": bodies.x_usage_capped,
        "credits": bodies.x_credits_depleted,
    }
    return makers.get(fault, bodies.x_unavailable)()


def _decorate(call: Call, response: Response) -> None:
    """``x-rate-limit-*`` and, on POST /2/tweets, the 24-hour families (PLATFORMS.md §1.5)."""
    headers = response.headers
    headers["x-transaction-id"] = secrets.token_hex(8)
    now = time.time()
    reset_15m = str((int(now) // _WINDOW_15M + 1) * _WINDOW_15M)
    if call.account is None or call.auth_error is not None:
        return
    if call.kind == "create":
        limit, used = call.state.x_limits(call.account)
        headers["x-rate-limit-limit"] = str(limit)
        headers["x-rate-limit-remaining"] = str(max(0, limit - used))
        headers["x-rate-limit-reset"] = reset_15m
        reset_24h = str((int(now) // _WINDOW_24H + 1) * _WINDOW_24H)
        for family, (limit24, used24) in call.state.x_daily(call.account).items():
            headers[f"x-{family}-limit-24hour-limit"] = str(limit24)
            headers[f"x-{family}-limit-24hour-remaining"] = str(max(0, limit24 - used24))
            headers[f"x-{family}-limit-24hour-reset"] = reset_24h
    else:
        limit = _READ_LIMITS.get(call.kind, 900)
        used = call.state.count_call(call.state.x_calls, f"{call.kind}:{call.account}", _WINDOW_15M)
        headers["x-rate-limit-limit"] = str(limit)
        headers["x-rate-limit-remaining"] = str(max(0, limit - used))
        headers["x-rate-limit-reset"] = reset_15m
    if response.status == 429 and call.decision.reset_at is not None:
        headers["x-rate-limit-remaining"] = "0"
        headers["x-rate-limit-reset"] = str(int(call.decision.reset_at))


# --- POST /2/tweets -----------------------------------------------------------------------------
def create_tweet(call: Call) -> Response:
    """Validate like X does, then create the post atomically (duplicate check included)."""
    user = call.account or ""
    state = call.state
    if not state.take_x_create(user):
        return bodies.x_too_many_requests()
    body = call.request.json
    if call.request.json_invalid or not isinstance(body, dict):
        return bodies.x_invalid_request("Request body must be a JSON object.", {})
    problem = _schema_problem(body)
    if problem is not None:
        return problem
    text = body.get("text") or ""
    if text and parse_tweet(text).weightedLength > 280:
        return bodies.x_too_long(text)
    reply_to = (body.get("reply") or {}).get("in_reply_to_tweet_id")
    media_ids = list((body.get("media") or {}).get("media_ids") or [])
    with state.lock:
        now = time.time()
        if media_ids and not all(state.x_media_ready(m, user, now) for m in media_ids):
            return bodies.x_invalid_request(
                "Your media IDs are invalid.", {"media.media_ids": media_ids}
            )
        if reply_to is not None:
            target = state.posts_by_id.get(reply_to)
            if target is None or target.platform != "x":
                return bodies.x_not_found("in_reply_to_tweet_id", reply_to)
            if target.account != user and f"@{user}" not in target.text:
                # Self-serve apps may reply only to their own posts or to posts that mention
                # them (PLATFORMS.md §1.1); sandbox users are mentioned by their id.
                return bodies.x_reply_not_allowed()
        if text and (user, text) in state.x_texts:
            return bodies.x_duplicate()
        tweet_id = state.new_x_id()
        attached = [state.x_media[m] for m in media_ids]
        state.add_post(
            Post(
                platform="x",
                account=user,
                id=tweet_id,
                text=text,
                created_at=now,
                url=f"https://x.com/i/web/status/{tweet_id}",
                reply_to=reply_to,
                media_ids=media_ids,
                media=[
                    {"media_key": m.media_key, "type": m.media_type, "alt_text": m.alt_text}
                    for m in attached
                ],
            )
        )
    shown, _entities = shown_post(
        text, user=user, post_id=tweet_id, media_keys=[m.media_key for m in attached]
    )
    data = {"id": tweet_id, "text": shown, "edit_history_tweet_ids": [tweet_id]}
    return Response(201, {"data": data}, created_id=tweet_id)


def _schema_problem(body: dict[str, object]) -> Response | None:
    """The subset of TweetCreateRequest validation the adapters can trip over."""
    for key in body:
        if key not in _CREATE_FIELDS:
            return _not_in_schema(f"$.{key}")
    text, reply, media, poll = (body.get(k) for k in ("text", "reply", "media", "poll"))
    if text is not None and not isinstance(text, str):
        return bodies.x_invalid_request("$.text: string expected", {})
    if reply is not None:
        if not isinstance(reply, dict) or "in_reply_to_tweet_id" not in reply:
            return bodies.x_invalid_request(
                "$.reply.in_reply_to_tweet_id: is missing but it is required", {}
            )
        extra = set(reply) - _REPLY_FIELDS
        if extra:
            return _not_in_schema(f"$.reply.{sorted(extra)[0]}")
        target = reply["in_reply_to_tweet_id"]
        if not isinstance(target, str) or not _ID.match(target):
            return bodies.x_invalid_request(
                "$.reply.in_reply_to_tweet_id: does not match the regex pattern ^[0-9]{1,19}$", {}
            )
    if media is not None:
        problem = _media_problem(media, body)
        if problem is not None:
            return problem
    if poll is not None and not _valid_poll(poll):
        return bodies.x_invalid_request(
            "$.poll: options must be 2 to 4 strings of 1 to 25 characters "
            "and duration_minutes 5 to 10080",
            {},
        )
    settings = body.get("reply_settings")
    if settings is not None and settings not in _REPLY_SETTINGS:
        return bodies.x_invalid_request(
            "$.reply_settings: does not have a value in the enumeration", {}
        )
    if (
        not text
        and not media
        and not poll
        and not body.get("card_uri")
        and not body.get("quote_tweet_id")
    ):
        return bodies.x_invalid_request(
            "Text is required unless media, a poll, a quote or a card is attached.", {"text": [""]}
        )
    return None


def _media_problem(media: object, body: dict[str, object]) -> Response | None:
    if not isinstance(media, dict):
        return bodies.x_invalid_request("$.media: object expected", {})
    extra = set(media) - _MEDIA_FIELDS
    if extra:
        return _not_in_schema(f"$.media.{sorted(extra)[0]}")
    ids = media.get("media_ids")
    if not isinstance(ids, list) or not 1 <= len(ids) <= 4:
        return bodies.x_invalid_request("$.media.media_ids: must have 1 to 4 items", {})
    if not all(isinstance(i, str) and _ID.match(i) for i in ids):
        return bodies.x_invalid_request(
            "$.media.media_ids: does not match the regex pattern ^[0-9]{1,19}$", {}
        )
    for other in ("poll", "quote_tweet_id", "card_uri"):
        if body.get(other) is not None:
            return bodies.x_invalid_request(f"$.media and $.{other} are mutually exclusive", {})
    return None


def _valid_poll(poll: object) -> bool:
    if not isinstance(poll, dict):
        return False
    options, duration = poll.get("options"), poll.get("duration_minutes")
    return (
        isinstance(options, list)
        and 2 <= len(options) <= 4
        and all(isinstance(o, str) and 1 <= len(o) <= 25 for o in options)
        and isinstance(duration, int)
        and 5 <= duration <= 10080
    )


def _not_in_schema(pointer: str) -> Response:
    return bodies.x_invalid_request(
        f"{pointer}: is not defined in the schema and the schema does not allow additional "
        "properties",
        {},
    )


# --- GET /2/users/:id/tweets --------------------------------------------------------------------
def list_tweets(call: Call) -> Response:
    """Recent posts, newest first; ``data`` is absent when there are none, as on X."""
    query = call.request.query
    user_id = call.request.path.strip("/").split("/")[2]
    try:
        max_results = int(query.get("max_results", "10"))
    except ValueError:
        max_results = -1
    if not 5 <= max_results <= 100:
        return bodies.x_invalid_request(
            f"The `max_results` query parameter value [{query.get('max_results')}] is not between "
            "5 and 100",
            {"max_results": [query.get("max_results")]},
        )
    try:
        start = _epoch(query.get("start_time"))
        end = _epoch(query.get("end_time"))
    except ValueError:
        return bodies.x_invalid_request(
            "Invalid start_time or end_time: use ISO 8601 (RFC 3339).", {}
        )
    since_id, until_id = (
        query.get("since_id"),
        query.get("until_id") or query.get("pagination_token"),
    )
    posts = [
        p
        for p in call.state.visible_posts("x", user_id)
        if (start is None or p.created_at >= start)
        and (end is None or p.created_at <= end)
        and (since_id is None or int(p.id) > int(since_id))
        and (until_id is None or int(p.id) < int(until_id))
    ]
    page = posts[:max_results]
    meta: dict[str, object] = {"result_count": len(page)}
    if not page:
        return Response(200, {"meta": meta})
    meta.update(newest_id=page[0].id, oldest_id=page[-1].id)
    if len(posts) > max_results:
        meta["next_token"] = page[-1].id
    fields = set((query.get("tweet.fields") or "").split(","))
    data = [_timeline_item(p, fields) for p in page]
    return Response(200, {"data": data, "meta": meta})


def _timeline_item(post: Post, fields: set[str]) -> dict[str, object]:
    shown, entities = shown_post(
        post.text,
        user=post.account,
        post_id=post.id,
        media_keys=[str(m["media_key"]) for m in post.media],
    )
    item: dict[str, object] = {
        "id": post.id,
        "text": shown,
        "created_at": iso_z(post.created_at),
        "edit_history_tweet_ids": [post.id],
    }
    if "author_id" in fields:
        item["author_id"] = post.account
    if "entities" in fields and entities:
        item["entities"] = {"urls": entities}
    if post.reply_to is not None and "referenced_tweets" in fields:
        item["referenced_tweets"] = [{"type": "replied_to", "id": post.reply_to}]
    return item


def _epoch(value: str | None) -> float | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


# --- DELETE /2/tweets/:id -----------------------------------------------------------------------
def delete_tweet(call: Call) -> Response:
    tweet_id = call.request.path.strip("/").split("/")[2]
    with call.state.lock:
        post = call.state.posts_by_id.get(tweet_id)
        if post is None or post.platform != "x":
            return bodies.x_not_found("id", tweet_id)
        if post.account != call.account:
            return bodies.x_blank(403, "Forbidden", "You are not allowed to delete this Tweet.")
        call.state.remove_post(post)
    return Response(200, {"data": {"deleted": True}})
