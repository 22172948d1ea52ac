"""Comments on a live post: Instagram's ``/{ig-media-id}/comments`` and Facebook's
``/{page-post-id}/comments`` (the follow-ups newsrelay sends after a post is live).

``POST`` takes ``message`` and answers ``{"id": …}``: an Instagram comment id is a plain number,
a Facebook one ``{post-id}_{comment-id}``.  ``GET`` lists them with the platform's fields
(Instagram ``text``/``timestamp``/``username``, Facebook ``message``/``created_time``/``from``),
Instagram newest first, Facebook oldest first unless ``order=reverse_chronological``.  Every
comment is kept, duplicates included, so tests can count them (``GET /_sandbox/comments``).
"""

from __future__ import annotations

import time

from adapters.sandbox import bodies
from adapters.sandbox.calls import Call
from adapters.sandbox.paging import graph_page
from adapters.sandbox.state import Post, iso_meta
from adapters.sandbox.wire import Response

MAX_IG_COMMENT = 2200
MAX_FB_COMMENT = 8000


def create_comment(call: Call, parent: Post) -> Response:
    """``POST /{parent-id}/comments?message=``."""
    message = call.request.param("message") or ""
    call.content["message"] = message
    if not message.strip():
        return bodies.meta_invalid_param("The parameter message is required.")
    limit = MAX_IG_COMMENT if parent.platform == "instagram" else MAX_FB_COMMENT
    if len(message) > limit:
        return bodies.meta_invalid_param(f"The comment is too long (max {limit} characters).")
    state = call.state
    with state.lock:
        number = state.new_meta_id()
        if parent.platform == "facebook":
            comment_id = f"{parent.id.rsplit('_', 1)[-1]}_{number}"
            url = f"https://www.facebook.com/{comment_id}"
        else:
            comment_id, url = number, parent.url
        state.add_comment(
            Post(
                platform=parent.platform,
                account=call.account or parent.account,
                id=comment_id,
                text=message,
                created_at=time.time(),
                url=url,
                reply_to=parent.id,
            )
        )
    return Response(200, {"id": comment_id}, created_id=comment_id)


def list_comments(call: Call, parent: Post) -> Response:
    """``GET /{parent-id}/comments``."""
    comments = call.state.comments_on(parent.id)  # oldest first
    newest_first = parent.platform == "instagram" or (
        call.request.param("order") == "reverse_chronological"
    )
    if newest_first:
        comments.reverse()
    to_item = _ig_comment if parent.platform == "instagram" else _fb_comment
    return graph_page(call, comments, to_item)


def _ig_comment(comment: Post) -> dict[str, object]:
    return {
        "id": comment.id,
        "text": comment.text,
        "timestamp": iso_meta(comment.created_at),
        "username": f"user{comment.account}",
        "from": {"id": comment.account, "username": f"user{comment.account}"},
    }


def _fb_comment(comment: Post) -> dict[str, object]:
    return {
        "id": comment.id,
        "message": comment.text,
        "created_time": iso_meta(comment.created_at),
        "from": {"id": comment.account, "name": f"Page {comment.account}"},
        "permalink_url": comment.url,
    }
