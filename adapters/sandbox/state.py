"""Everything the sandbox platform remembers: requests received, live posts, uploads, containers.

One re-entrant lock guards it all.  Handlers hold it only for dictionary work, never while
fetching an image or sleeping for injected latency, so concurrency is preserved.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from adapters.sandbox.faults import FaultBook, FaultConfig, parse_fault
from adapters.sandbox.grants import Apps, GrantBook
from adapters.sandbox.media_access import MediaAccess

# Twitter's snowflake epoch: ids are ((ms since epoch) << 22 | sequence), 19 digits today.
_SNOWFLAKE_EPOCH_MS = 1288834974657
_MAX_REQUESTS = 200_000


def iso_z(ts: float) -> str:
    """X's timestamp format: ``2026-11-25T10:00:00.000Z``."""
    return (
        datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{int(ts * 1000) % 1000:03d}Z"
    )


def iso_meta(ts: float) -> str:
    """Graph API's timestamp format: ``2026-11-25T10:00:00+0000``."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


@dataclass
class RequestRecord:
    """One platform request as received (never the token or the Authorization header)."""

    id: int
    at: float
    platform: str
    account: str | None
    method: str
    path: str
    kind: str
    status: int | None = None
    fault: str | None = None
    text: str | None = None
    message: str | None = None
    caption: str | None = None
    created_id: str | None = None
    params: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["at"] = iso_z(self.at)
        return data


@dataclass
class Post:
    """Something a platform shows (or will show, when scheduled) on an account."""

    platform: str
    account: str
    id: str
    text: str
    created_at: float
    url: str
    link: str | None = None
    image_url: str | None = None
    published: bool = True
    scheduled_at: float | None = None
    reply_to: str | None = None
    media_ids: list[str] = field(default_factory=list)
    container_id: str | None = None
    #: X: each attached media as the post has it (media_key, type, alt_text).
    media: list[dict[str, Any]] = field(default_factory=list)

    def is_visible(self, now: float) -> bool:
        if self.scheduled_at is not None:
            return now >= self.scheduled_at
        return self.published

    def as_dict(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "account": self.account,
            "id": self.id,
            "text": self.text,
            "link": self.link,
            "image_url": self.image_url,
            "created_at": iso_z(self.created_at),
            "url": self.url,
            "published": self.published,
            "scheduled_at": iso_z(self.scheduled_at) if self.scheduled_at else None,
            "reply_to": self.reply_to,
            "media_ids": list(self.media_ids),
            "media": [dict(m) for m in self.media],
            "container_id": self.container_id,
        }


@dataclass
class XMedia:
    """An X media upload (PLATFORMS.md §1.3)."""

    id: str
    owner: str
    media_type: str
    category: str
    total_bytes: int
    created_at: float
    segments: dict[int, int] = field(default_factory=dict)
    finalized_at: float | None = None
    processing_seconds: float = 0.0
    alt_text: str | None = None

    @property
    def media_key(self) -> str:
        prefix = {"tweet_video": "7", "amplify_video": "13", "tweet_gif": "16"}.get(self.category)
        return f"{prefix or '3'}_{self.id}"

    def state(self, now: float) -> str:
        """``initialized`` until FINALIZE, then pending → in_progress → succeeded."""
        if self.finalized_at is None:
            return "initialized"
        elapsed = now - self.finalized_at
        if elapsed >= self.processing_seconds:
            return "succeeded"
        return "pending" if elapsed < self.processing_seconds / 2 else "in_progress"


@dataclass
class Container:
    """An Instagram media container (PLATFORMS.md §3.2)."""

    id: str
    owner: str
    image_url: str
    caption: str
    created_at: float
    ready_at: float
    error: bool = False
    media_id: str | None = None

    # Containers not published within 24 h expire (PLATFORMS.md §3.3).
    LIFETIME = 24 * 3600

    def status_code(self, now: float) -> str:
        if self.media_id is not None:
            return "PUBLISHED"
        if now - self.created_at >= self.LIFETIME:
            return "EXPIRED"
        if self.error:
            return "ERROR"
        return "FINISHED" if now >= self.ready_at else "IN_PROGRESS"


@dataclass
class SandboxConfig:
    """Server-wide knobs; faults can override some per account."""

    quota_total: int = 100
    x_user_limit_15min: int = 100_000
    x_user_limit_24h: int = 1_000_000
    x_app_limit_24h: int = 10_000_000
    container_delay: float = 0.0
    video_processing_seconds: float = 1.0
    # Facebook's documented scheduling window (PLATFORMS.md §4.3, emulator default).
    fb_schedule_min_seconds: int = 10 * 60
    fb_schedule_max_seconds: int = 75 * 24 * 3600
    # Lifetime of issued X access tokens and Meta short-lived user tokens.
    token_ttl_seconds: int = 7200
    # Registered OAuth redirect URIs; None accepts any loopback http(s) URI (see grants.Apps).
    redirect_uris: frozenset[str] | None = None
    # Like Meta, refuse Instagram image URLs on loopback/private addresses (9004 / 2207052),
    # except these ``host:port`` pairs (see media_access.py).
    refuse_private_media: bool = False
    media_allow: frozenset[str] = frozenset()


class SandboxState:
    """All sandbox data, shared by the request threads; every method is thread-safe."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.lock = threading.RLock()
        self.faults = FaultBook()
        self.grants = GrantBook(
            token_ttl_seconds=self.config.token_ttl_seconds,
            apps=Apps(redirect_uris=self.config.redirect_uris),
        )
        self.media = MediaAccess(
            refuse_private=self.config.refuse_private_media, allow=self.config.media_allow
        )
        self._request_ids = itertools.count(1)
        self._last_snowflake = 0
        self._meta_ids = itertools.count(17_841_000_000_000_000 + int(time.time() * 1000) % 10**12)
        self.reset()

    def reset(self) -> None:
        """Forget everything (requests, posts, uploads, containers, faults, counters, issued
        tokens)."""
        with self.lock:
            self.requests: deque[RequestRecord] = deque(maxlen=_MAX_REQUESTS)
            self.posts: list[Post] = []
            self.posts_by_id: dict[str, Post] = {}
            # Per-account lists (chronological) and X's (user, text) index keep the per-create
            # checks O(1) however many posts a benchmark makes.
            self.posts_by_account: dict[tuple[str, str], list[Post]] = {}
            # Comments by parent post id, oldest first (kept apart: no feed lists them).
            self.comments: dict[str, list[Post]] = {}
            self.x_texts: dict[tuple[str, str], str] = {}
            self.x_media: dict[str, XMedia] = {}
            self.containers: dict[str, Container] = {}
            self.x_calls: dict[tuple[str, int], int] = {}
            self.meta_calls: dict[tuple[str, int], int] = {}
            # Seconds added to the clock of Instagram's rolling publishing window only, so a
            # test frees the 24-hour quota without waiting (POST /_sandbox/clock).
            self.quota_clock_offset = 0.0
            self.faults.clear()
            self.grants.clear()

    # --- faults (in-process twins of the admin endpoints) --------------------------------------
    def set_fault(self, account: str | None, **fields: Any) -> FaultConfig:
        """Set the fault config of ``account`` (None: every account); see ``parse_fault``."""
        config = parse_fault({"account": account, **fields})
        self.faults.set(config)
        return config

    def clear_faults(self, account: str | None = None) -> None:
        self.faults.clear(account)

    # --- ids ----------------------------------------------------------------------------------
    def new_x_id(self) -> str:
        """A 19-digit, increasing, snowflake-like id."""
        with self.lock:
            candidate = (int(time.time() * 1000) - _SNOWFLAKE_EPOCH_MS) << 22
            self._last_snowflake = max(candidate, self._last_snowflake + 1)
            return str(self._last_snowflake)

    def new_meta_id(self) -> str:
        with self.lock:
            return str(next(self._meta_ids))

    # --- request log --------------------------------------------------------------------------
    def record(self, record: RequestRecord) -> None:
        with self.lock:
            record.id = next(self._request_ids)
            self.requests.append(record)

    def list_requests(
        self,
        *,
        account: str | None = None,
        platform: str | None = None,
        kind: str | None = None,
    ) -> list[RequestRecord]:
        with self.lock:
            items = list(self.requests)
        return [
            r
            for r in items
            if (account is None or r.account == account)
            and (platform is None or r.platform == platform)
            and (kind is None or r.kind == kind)
        ]

    # --- posts --------------------------------------------------------------------------------
    def add_post(self, post: Post) -> None:
        with self.lock:
            self.posts.append(post)
            self.posts_by_id[post.id] = post
            self.posts_by_account.setdefault((post.platform, post.account), []).append(post)
            if post.platform == "x" and post.text:
                self.x_texts[(post.account, post.text)] = post.id

    def remove_post(self, post: Post) -> None:
        with self.lock:
            self.posts.remove(post)
            self.posts_by_id.pop(post.id, None)
            self.posts_by_account.get((post.platform, post.account), []).remove(post)
            if self.x_texts.get((post.account, post.text)) == post.id:
                del self.x_texts[(post.account, post.text)]

    def add_comment(self, comment: Post) -> None:
        """Keep a comment on ``comment.reply_to`` (every one, duplicates included)."""
        with self.lock:
            self.comments.setdefault(comment.reply_to or "", []).append(comment)

    def comments_on(self, parent_id: str) -> list[Post]:
        with self.lock:
            return list(self.comments.get(parent_id, ()))

    def list_comments(
        self, *, parent: str | None = None, platform: str | None = None
    ) -> list[Post]:
        with self.lock:
            items = [c for group in self.comments.values() for c in group]
        return [
            c
            for c in items
            if (parent is None or c.reply_to == parent)
            and (platform is None or c.platform == platform)
        ]

    def list_posts(self, *, account: str | None = None, platform: str | None = None) -> list[Post]:
        with self.lock:
            if account is not None and platform is not None:
                return list(self.posts_by_account.get((platform, account), ()))
            items = list(self.posts)
        return [
            p
            for p in items
            if (account is None or p.account == account)
            and (platform is None or p.platform == platform)
        ]

    def visible_posts(self, platform: str, account: str) -> list[Post]:
        """The account's visible posts, newest first."""
        now = time.time()
        posts = list(reversed(self.list_posts(account=account, platform=platform)))
        if any(p.scheduled_at is not None or not p.published for p in posts):
            posts = [p for p in posts if p.is_visible(now)]
            posts.sort(key=lambda p: p.scheduled_at or p.created_at, reverse=True)
        return posts

    def latest_visible(self, platform: str, account: str) -> Post | None:
        """The account's newest visible post with text (Facebook's 506 compares with it)."""
        now = time.time()
        with self.lock:
            for post in reversed(self.posts_by_account.get((platform, account), ())):
                if post.text and post.is_visible(now):
                    return post
        return None

    # --- usage counters (rate-limit headers) ----------------------------------------------------
    def count_call(self, table: dict[tuple[str, int], int], key: str, window: int) -> int:
        """Increment and return the count of ``key`` in the current fixed ``window`` (seconds)."""
        bucket = int(time.time()) // window
        with self.lock:
            count = table.get((key, bucket), 0) + 1
            table[(key, bucket)] = count
            if len(table) > 50_000:
                for old in [k for k in table if k[1] < bucket - 1]:
                    del table[old]
            return count

    def peek_calls(self, table: dict[tuple[str, int], int], key: str, window: int) -> int:
        bucket = int(time.time()) // window
        with self.lock:
            return table.get((key, bucket), 0)

    # --- X rate limits (PLATFORMS.md §1.5) ----------------------------------------------------
    def x_limits(self, user: str) -> tuple[int, int]:
        """(limit, used) of the per-user 15-minute POST /2/tweets window."""
        config = self.faults.lookup(user, "x")
        limit = self.config.x_user_limit_15min
        if config is not None and config.x_limit_15min is not None:
            limit = config.x_limit_15min
        return limit, self.peek_calls(self.x_calls, f"create15:{user}", 900)

    def x_daily(self, user: str) -> dict[str, tuple[int, int]]:
        """(limit, used) of the user and app 24-hour POST /2/tweets windows."""
        return {
            "user": (
                self.config.x_user_limit_24h,
                self.peek_calls(self.x_calls, f"create24:{user}", 86400),
            ),
            "app": (
                self.config.x_app_limit_24h,
                self.peek_calls(self.x_calls, "create24:*", 86400),
            ),
        }

    def take_x_create(self, user: str) -> bool:
        """Count one POST /2/tweets; False when a window is exhausted (the caller answers 429)."""
        with self.lock:
            self.count_call(self.x_calls, f"create15:{user}", 900)
            self.count_call(self.x_calls, f"create24:{user}", 86400)
            self.count_call(self.x_calls, "create24:*", 86400)
            limit, used = self.x_limits(user)
            daily = self.x_daily(user)
            return used <= limit and all(u <= lim for lim, u in daily.values())

    def x_media_ready(self, media_id: str, user: str, now: float) -> bool:
        """A media id the user may attach: theirs, finalized, processed and not expired."""
        media = self.x_media.get(media_id)
        return (
            media is not None
            and media.owner == user
            and media.state(now) == "succeeded"
            and now < media.created_at + 86400
        )
