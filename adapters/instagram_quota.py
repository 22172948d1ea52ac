"""Instagram's rolling publishing limit, read before publishing (PLATFORMS.md §3.3).

Only ``media_publish`` consumes the quota (100 posts per rolling 24 hours at the last live
measurement; ``quota_total`` is read at runtime, never assumed).  A post that would exceed it
is not sent to fail with code 9 / 2207042: :func:`ensure_publishing_quota` raises
:class:`~adapters.errors.QuotaExceededError` with the time the window frees a slot, so the
scheduler holds the post (and the channel) until then.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adapters.errors import PermanentError, QuotaExceededError
from adapters.graph import GraphCall, parse_graph_time

DEFAULT_QUOTA_DURATION = 86400


def ensure_publishing_quota(call: GraphCall, *, account_id: str, now: datetime) -> None:
    """Raise ``QuotaExceededError`` when the account has no publish left in the window.

    ``GET /{ig-user-id}/content_publishing_limit?fields=quota_usage,config``; when it is full,
    the oldest publish still in the window (``GET /{ig-user-id}/media``) says when a slot frees.
    A limit endpoint that answers with a permanent error is not a reason to hold the post:
    ``media_publish`` still guards the limit itself.
    """
    try:
        body, _ = call.request(
            "GET",
            f"{account_id}/content_publishing_limit",
            action="read the publishing limit",
            publishes=False,
            params={"fields": "quota_usage,config"},
        )
    except PermanentError:
        return
    entries = body.get("data") or [{}]
    entry = entries[0] if isinstance(entries[0], dict) else {}
    raw_config = entry.get("config")
    config: dict[str, object] = raw_config if isinstance(raw_config, dict) else {}
    usage, total = entry.get("quota_usage"), config.get("quota_total")
    if not isinstance(usage, int) or not isinstance(total, int) or usage < total:
        return
    duration = config.get("quota_duration")
    window = timedelta(seconds=duration if isinstance(duration, int) else DEFAULT_QUOTA_DURATION)
    frees_at = _oldest_in_window(call, account_id=account_id, now=now, window=window, usage=usage)
    if frees_at is None:
        when = "when the window frees a slot (Instagram does not say when; checked again later)"
    else:
        when = f"until a slot frees at {frees_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
    hours = int(window.total_seconds() // 3600)
    raise QuotaExceededError(
        f"Instagram's publishing limit is reached: {usage} of {total} posts in the last "
        f"{hours} hours. The post is held, not sent, {when}.",
        reset_at=frees_at,
        rate_limit=dict(call.usage),
    )


def _oldest_in_window(
    call: GraphCall, *, account_id: str, now: datetime, window: timedelta, usage: int
) -> datetime | None:
    """When the oldest publish in the window leaves it; None if the listing cannot tell."""
    try:
        body, _ = call.request(
            "GET",
            f"{account_id}/media",
            action="list the account's recent media",
            publishes=False,
            params={
                "fields": "id,timestamp",
                "limit": str(max(1, min(usage, 100))),
                "since": str(int((now - window).timestamp())),
            },
        )
    except PermanentError:
        return None
    stamps = [parse_graph_time(item.get("timestamp")) for item in body.get("data") or []]
    known = [s for s in stamps if s is not None]
    if not known or len(known) < min(usage, 100):
        return None  # the page does not reach back to the oldest publish in the window
    return min(known) + window
