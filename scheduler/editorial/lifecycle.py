"""Which post states allow which editor action, and how a refusal reads.

Kept apart from the services so the web UI can show only the buttons a post's state allows.
"""

from __future__ import annotations

from scheduler.models import Channel, ChannelStatus, PostStatus

_S = PostStatus
EDITABLE = frozenset(
    {
        _S.DRAFT,
        _S.PENDING_APPROVAL,
        _S.SCHEDULED,
        _S.HELD,
        _S.RETRY_WAIT,
        _S.FAILED,
        _S.NEEDS_REAUTH,
        _S.EXPIRED,
    }
)
SCHEDULABLE = frozenset(
    {
        _S.DRAFT,
        _S.PENDING_APPROVAL,
        _S.SCHEDULED,
        _S.HELD,
        _S.RETRY_WAIT,
        _S.NEEDS_REAUTH,
        _S.CANCELLED,
        _S.EXPIRED,  # an editor may still send it, explicitly
    }
)
#: Everything before a worker starts sending; a queued post's attempt is superseded.
CANCELLABLE = frozenset(
    {
        _S.RENDERING,
        _S.DRAFT,
        _S.PENDING_APPROVAL,
        _S.SCHEDULED,
        _S.HELD,
        _S.QUEUED,
        _S.RETRY_WAIT,
        _S.NEEDS_REAUTH,
        _S.FAILED,
        _S.EXPIRED,
    }
)
RETRYABLE = frozenset({_S.FAILED, _S.NEEDS_REVIEW, _S.DRAFT, _S.CANCELLED, _S.RETRY_WAIT})

_WHY: dict[PostStatus, str] = {
    _S.RENDERING: "it is still being prepared; try again in a moment",
    _S.QUEUED: "it has been handed to a worker to send",
    _S.PUBLISHING: "it is being sent right now",
    _S.PUBLISHED: "it is already published",
    _S.CANCELLED: "it was cancelled; retry it to bring it back",
    _S.UNKNOWN: "newsrelay is checking with the platform whether it went out",
    _S.NEEDS_REVIEW: "a person must first check on the platform whether it went out",
    _S.FAILED: "it failed; retry it instead",
    _S.DRAFT: "it is a draft",
    _S.PENDING_APPROVAL: "it is waiting for approval",
    _S.SCHEDULED: "it is already scheduled",
    _S.HELD: "it is held by its paused channel",
    _S.RETRY_WAIT: "it is waiting to be retried",
    _S.NEEDS_REAUTH: "its channel must be reconnected first",
    _S.EXPIRED: "it expired unsent; schedule it or post it now to send it anyway",
}


def refusal_reason(status: PostStatus) -> str:
    """Why a post in ``status`` cannot take the action, as the end of an editor's sentence."""
    return _WHY.get(status, f"it is {status}")


def released_status(channel: Channel) -> PostStatus:
    """Where a post cleared to go out lands: the schedule, unless its channel holds it."""
    if channel.status == ChannelStatus.PAUSED:
        return PostStatus.HELD
    if channel.status == ChannelStatus.NEEDS_REAUTH:
        return PostStatus.NEEDS_REAUTH
    return PostStatus.SCHEDULED
