"""Instagram's media container (PLATFORMS.md §3.2): create it, wait for it, read what it became.

The container is Instagram's idempotency handle: creating one publishes nothing, and a container
that is PUBLISHED must never be published again.  These helpers are the container half of
:class:`adapters.instagram.InstagramAdapter`; the adapter owns ``media_publish`` itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from adapters.base import Payload, ProgressCallback, PublishResult, ReconcileResult
from adapters.errors import DeliveryError, PermanentError, RetryableError
from adapters.graph import GraphCall, find_in_listing
from adapters.meta_errors import classify_meta_signal, container_signal


def create_container(call: GraphCall, payload: Payload, *, account_id: str) -> str:
    """A new container for ``payload``'s caption and first image; its id, or a delivery error."""
    if not payload.media:
        raise PermanentError("Instagram needs an image and this post has none; add one.")
    # Creating a container publishes nothing (only media_publish does, §3.3), so a timeout
    # here is merely retryable: an orphan container expires unpublished after 24 h.
    body, status = call.request(
        "POST",
        f"{account_id}/media",
        action="create the media container",
        publishes=False,
        data={"image_url": payload.media[0].url, "caption": payload.text},
    )
    container_id = str(body.get("id") or "")
    if not container_id:
        raise RetryableError(
            f"Instagram answered the container request (HTTP {status}) without an id; "
            "nothing was published, so it is safe to retry.",
            http_status=status,
            rate_limit=dict(call.usage),
        )
    return container_id


def wait_for_container(
    call: GraphCall,
    container_id: str,
    *,
    attempts: int,
    interval: float,
    sleep: Callable[[float], None],
) -> str:
    """FINISHED or PUBLISHED; raises for ERROR, EXPIRED or a container still processing."""
    attempts = max(1, attempts)
    for attempt in range(attempts):
        if attempt:
            sleep(interval)
        body, _status = call.request(
            "GET",
            container_id,
            action="check the media container",
            publishes=False,
            params={"fields": "status_code,status"},
        )
        status_code = str(body.get("status_code") or "").upper()
        if status_code in ("FINISHED", "PUBLISHED"):
            return status_code
        if status_code in ("ERROR", "EXPIRED"):
            signal = container_signal(
                status_code, str_or_none(body.get("status")), usage=dict(call.usage)
            )
            error, _rule = classify_meta_signal(signal, platform="Instagram", secrets=(call.token,))
            # An ERROR or EXPIRED container can never be published; whatever the class,
            # the next attempt needs a new one.
            if call.on_new_container is not None:
                call.on_new_container()
            raise error
    raise RetryableError(
        f"The Instagram container {container_id} is still being processed after {attempts} "
        "checks; the next attempt resumes with the same container.",
        rate_limit=dict(call.usage),
    )


def already_published(
    call: GraphCall,
    payload: Payload,
    *,
    account_id: str,
    container_id: str,
    state: dict[str, Any],
    progress: ProgressCallback,
) -> PublishResult:
    """The result for a container found PUBLISHED: its media id (or the container id), no repost."""
    # §3.2: PUBLISHED means an earlier attempt went live; publishing again would post twice.
    media_id = str(state.get("media_id") or "") or None
    permalink: str | None = None
    if media_id is None:
        try:
            match = find_in_listing(
                call,
                f"{account_id}/media",
                text=payload.text,
                text_field="caption",
                time_field="timestamp",
                fields="id,caption,permalink,timestamp",
                since=None,
                action="list the account's recent media",
            )
        except DeliveryError:
            match = None
        if match is not None and match.item is not None:
            media_id = str(match.item["id"])
            permalink = str_or_none(match.item.get("permalink"))
    if media_id is None:
        # The post is live but its media id cannot be found; the container id is the
        # best handle we have, and it still proves the post is published.
        return PublishResult(
            external_id=container_id, external_url=None, rate_limit=dict(call.usage)
        )
    progress({"container_id": container_id, "media_id": media_id})
    return PublishResult(
        external_id=media_id,
        external_url=permalink or read_permalink(call, media_id),
        rate_limit=dict(call.usage),
    )


def read_permalink(call: GraphCall, media_id: str) -> str | None:
    """The post's permalink, or None when it cannot be read (never raises a delivery error)."""
    # §3.2 step 4 is optional: the post is live whether or not its permalink loads.
    try:
        body, _status = call.request(
            "GET",
            media_id,
            action="read the post's permalink",
            publishes=False,
            params={"fields": "permalink"},
        )
    except DeliveryError:
        return None
    return str_or_none(body.get("permalink"))


def reconcile_container(
    call: GraphCall,
    payload: Payload,
    *,
    account_id: str,
    container_id: str,
    state: dict[str, Any],
) -> ReconcileResult:
    """Published or not, as the container's status says; None when the status is unknown."""
    body, _status = call.request(
        "GET",
        container_id,
        action="check the media container",
        publishes=False,
        params={"fields": "status_code"},
    )
    status_code = str(body.get("status_code") or "").upper()
    if status_code == "PUBLISHED":
        result = already_published(
            call,
            payload,
            account_id=account_id,
            container_id=container_id,
            state=state,
            progress=ignore_progress,
        )
        return ReconcileResult(
            published=True,
            external_id=result.external_id,
            external_url=result.external_url,
            detail=f"The Instagram container {container_id} is PUBLISHED.",
        )
    if status_code in ("FINISHED", "IN_PROGRESS", "EXPIRED", "ERROR"):
        # Only media_publish makes a container PUBLISHED; any other state means it was not.
        return ReconcileResult(
            published=False,
            detail=f"The Instagram container {container_id} is {status_code}, not published.",
        )
    return ReconcileResult(
        published=None,
        detail=f"The Instagram container {container_id} reports an unknown status "
        f"{status_code or '(none)'}.",
    )


def ignore_progress(_update: dict[str, Any]) -> None:
    return None


def str_or_none(value: Any) -> str | None:
    return str(value) if value else None
