"""Flash messages shown in the card of the post an action was taken on.

After an action on a post the browser returns to the post's card on its article page, scrolled
down to it: a message at the top of the page would go unseen.  The action's flash is tagged with
the post's id, and the article page shows it inside that card, where the redirect's fragment
points (the browser scrolls to the message and focuses it); messages about the page as a whole
stay at the top.
"""

from __future__ import annotations

import uuid

from fastapi import Request

from scheduler.web.deps import pop_flash, session_data


def tag_flash(request: Request, post_id: uuid.UUID) -> None:
    """Mark the pending flash message as the result of an action on ``post_id``."""
    pending = session_data(request).get("flash")
    if isinstance(pending, dict):
        pending["post"] = str(post_id)


#: A refused input kept for the form to show again (the session cookie holds at most ~4 KB).
MAX_KEPT_INPUT = 1000


def keep_input(request: Request, value: str) -> None:
    """Keep a refused form value with the pending flash, so the form shows it again to fix."""
    pending = session_data(request).get("flash")
    if isinstance(pending, dict):
        pending["input"] = value[:MAX_KEPT_INPUT]


def card_flash(
    request: Request, post_ids: set[str]
) -> tuple[dict[str, str] | None, dict[str, str] | None]:
    """The pending flash split into (for the page's top, for a card on this page)."""
    message = pop_flash(request)
    if message is not None and message.get("post") in post_ids:
        return None, message
    return message, None
