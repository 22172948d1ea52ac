"""What one delivery attempt did, in one sentence for ops (pure: no database, no I/O).

The delivery log used to show a generic line per error class above the raw codes ("outcome
unknown (the connection dropped)" over "HTTP 500"); :func:`describe_attempt` says it once:
what happened (from the attempt's status, error class, HTTP status, codes and the platform's
own words in its stored message) and what happens next (from the post's current state).
Stored messages are redacted when recorded; they are redacted again here, so a sentence never
carries a token whatever wrote the row.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from adapters.errors import RATE_LIMIT_CLASSES, ErrorClass
from scheduler.models import AttemptStatus, PostStatus
from scheduler.runtime.logs import redact

PLATFORM_NAMES = {"x": "X", "instagram": "Instagram", "facebook": "Facebook"}

#: The platform's own words inside an adapter's message: "X refused the post: <said> (HTTP
#: 403). …" or "Instagram refused the request to publish the post: <said> (code 4, HTTP 400). …"
_HEAD = (
    r"^(?:X|Instagram|Facebook) (?:refused [^:]*|could not process the media container \([^)]*\)): "
)
#: With our codes after the words (every classified error), else up to the first full stop.
_SAID = re.compile(
    _HEAD + r"(?P<said>.+?) \((?P<refs>(?:code|subcode|HTTP|fbtrace_id)[^()]*)\)\.(?: |$)",
    re.DOTALL,
)
_SAID_PLAIN = re.compile(_HEAD + r"(?P<said>.+?)\.(?: |$)", re.DOTALL)
_WORKER_LOST = "worker lost"
_CONFIRMED = "confirmed by reconciliation"


@dataclass(frozen=True)
class AttemptFacts:
    """The stored outcome of one attempt (``at``: when it finished, else when it was made)."""

    platform: str
    status: str
    error_class: str | None
    http_status: int | None
    error_code: str | None
    error_subcode: str | None
    message: str | None
    at: datetime


@dataclass(frozen=True)
class PostFacts:
    """Where the attempt's post stands now; ``latest``: no newer attempt of the post exists."""

    status: str | None = None
    next_attempt_at: datetime | None = None
    latest: bool = True
    attempts_left: int | None = None


def clock(tz: str) -> Callable[[datetime], str]:
    """``10:05 PKT`` in the zone (UTC for an unknown zone name)."""
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")

    def fmt(at: datetime) -> str:
        value = at.astimezone(zone)
        name = value.tzname() or ""
        return f"{value:%H:%M} {f'UTC{name}' if name[:1] in '+-' else name}"

    return fmt


def platform_said(message: str | None) -> str | None:
    """The platform's own words in a stored message, without our codes and advice; or None."""
    if not message:
        return None
    text = redact(message)
    found = _SAID.match(text) or _SAID_PLAIN.match(text)
    return found.group("said").strip().rstrip(".") if found else None


def _message_refs(message: str | None) -> str:
    """The codes written in the message itself ("HTTP 401"), without the trace id."""
    found = _SAID.match(redact(message)) if message else None
    refs = found.group("refs") if found else ""
    return ", ".join(r for r in refs.split(", ") if r and not r.startswith("fbtrace_id"))


def codes(a: AttemptFacts) -> str:
    """``HTTP 403, duplicate content`` / ``HTTP 400, code 36003/2207026``: what to search for."""
    refs = [f"HTTP {a.http_status}"] if a.http_status else []
    if a.error_code and a.error_code.isdigit():
        refs.append(f"code {a.error_code}" + (f"/{a.error_subcode}" if a.error_subcode else ""))
    elif a.error_subcode:
        refs.append(a.error_subcode.replace("-", " "))  # X: the matched rule's name
    elif a.error_code:
        refs.append(a.error_code.rsplit("/", 1)[-1].replace("-", " "))  # X: the problem type
    return ", ".join(refs)


def _words(a: AttemptFacts) -> str:
    """The platform's words with the codes, else our recorded sentence (redacted)."""
    said = platform_said(a.message)
    refs = codes(a) or _message_refs(a.message)
    if said:
        return f"{said} ({refs})" if refs else said
    text = redact(a.message or "").split(" — reconciliation:")[0].strip().rstrip(".")
    if text:
        return f"{text} ({refs})" if refs and refs not in text else text
    return refs or "no reason given"


def _cause(a: AttemptFacts, p: str) -> str:
    """What happened, per error class: every class has its own words."""
    match a.error_class:
        case ErrorClass.PERMANENT:
            return f"{p} refused it: {_words(a)}"
        case ErrorClass.DUPLICATE:
            return f"{p} refused it as a duplicate of an earlier post: {_words(a)}"
        case ErrorClass.REAUTH:
            return f"{p} no longer accepts the channel's login: {_words(a)}"
        case ErrorClass.PERMISSION:
            return f"{p} refused it because the account lacks a permission: {_words(a)}"
        case ErrorClass.CONFIGURATION:
            return f"{p} could not use what our set-up gave it: {_words(a)}"
        case ErrorClass.RETRY:
            return _temporary(a, p)
        case ErrorClass.AMBIGUOUS:
            return _dropped(a, p)
        case ErrorClass.RATE_LIMITED:
            return f"Rate-limited by {p}"
        case ErrorClass.QUOTA:
            return f"{p}'s publishing quota for the account is used up"
        case ErrorClass.BLOCKED:
            return f"{p} is temporarily blocking posts from the account"
        case ErrorClass.ERROR:
            return f"{p} failed with an unclassified error: {_words(a)}"
    return f"Not sent to {p}: {_words(a)}"


def _temporary(a: AttemptFacts, p: str) -> str:
    message = a.message or ""
    if message.startswith("Could not reach"):
        return f"Could not reach {p}; nothing was sent"
    if message.startswith(f"{p} did not answer the request"):
        return f"{p} did not answer; nothing was published"
    return f"{p} had a temporary error: {_words(a)}"


def _dropped(a: AttemptFacts, p: str) -> str:
    if (a.message or "").startswith(_WORKER_LOST):
        return f"The worker stopped while sending to {p}"
    if a.http_status and a.http_status >= 500:
        return f"{p} answered HTTP {a.http_status} after the post was sent"
    if a.http_status and 200 <= a.http_status < 300:
        return f"{p} accepted the post (HTTP {a.http_status}) without saying its id"
    return f"The connection dropped before {p} answered"


def _then(post: PostFacts, fmt: Callable[[datetime], str]) -> str:
    """What happens next to a post whose attempt may be retried."""
    if not post.latest:
        return "it was retried"
    status = post.status
    if status == PostStatus.RETRY_WAIT and post.next_attempt_at is not None:
        return f"it will be retried at {fmt(post.next_attempt_at)}"
    if status in (PostStatus.QUEUED, PostStatus.PUBLISHING):
        return "it is being retried now"
    if status == PostStatus.FAILED:
        return "it was not retried: no attempts left"
    if status is None:
        return "it will be retried"
    return f"the post is now {str(status).replace('_', ' ')}"


def _left(post: PostFacts) -> str:
    if not post.latest or post.attempts_left is None:
        return ""
    n = post.attempts_left
    return f"; {n} attempt{'s' if n != 1 else ''} left" if n > 0 else "; no attempts left"


def _rate_limited(a: AttemptFacts, p: str, post: PostFacts, fmt: Callable[[datetime], str]) -> str:
    cause = _cause(a, p)
    if not post.latest:
        return f"{cause}; it was retried after the reset."
    if post.status == PostStatus.RETRY_WAIT and post.next_attempt_at is not None:
        return f"{cause} until {fmt(post.next_attempt_at)}{_left(post)}."
    return f"{cause}; {_then(post, fmt)}{_left(post)}."


def _finished_badly(a: AttemptFacts, p: str, post: PostFacts) -> str:
    cause = _cause(a, p)
    match a.error_class:
        case ErrorClass.REAUTH | ErrorClass.PERMISSION:
            return f"{cause} — reconnect the channel; its posts wait until then."
        case ErrorClass.CONFIGURATION:
            return f"{cause} — the channel is paused until the set-up is fixed."
        case ErrorClass.RETRY:
            return f"{cause} — gave up: no attempts left."
        case ErrorClass.AMBIGUOUS:
            return f"{cause} — we checked and it was not there; not retried."
    if post.latest and post.status == PostStatus.DRAFT:
        return f"{cause} — sent back to the editor as a draft."
    return f"{cause} — not retried."


def describe_attempt(a: AttemptFacts, post: PostFacts, *, tz: str) -> str:
    """One sentence: what the attempt did and what happens next, in the newsroom's time."""
    fmt = clock(tz)
    p = PLATFORM_NAMES.get(a.platform, a.platform)
    match a.status:
        case AttemptStatus.SUCCEEDED:
            if _CONFIRMED in (a.message or ""):
                return f"Published on {p} at {fmt(a.at)}; confirmed by checking {p} afterwards."
            return f"Published on {p} at {fmt(a.at)}."
        case AttemptStatus.ENQUEUED:
            return f"Handed to a worker for {p} at {fmt(a.at)}; waiting to be sent."
        case AttemptStatus.STARTED:
            return f"Being sent to {p} (started at {fmt(a.at)})."
        case AttemptStatus.SUPERSEDED:
            why = redact(a.message or "replaced before it ran")
            return f"Not sent to {p}: {why}."
        case AttemptStatus.UNKNOWN:
            if post.latest and post.status == PostStatus.NEEDS_REVIEW:
                return f"{_dropped(a, p)}; checking {p} could not settle it, so it needs review."
            return f"{_dropped(a, p)}; the post may be live, so we are checking {p} first."
        case AttemptStatus.RETRY:
            if a.error_class in RATE_LIMIT_CLASSES:
                return _rate_limited(a, p, post, fmt)
            checked = "; we checked and the post was not there, so "
            if a.error_class == ErrorClass.AMBIGUOUS:
                return f"{_dropped(a, p)}{checked}{_then(post, fmt)}{_left(post)}."
            return f"{_cause(a, p)}; {_then(post, fmt)}{_left(post)}."
        case AttemptStatus.FAILED:
            return _finished_badly(a, p, post)
    return f"{_cause(a, p)} ({a.status})."
