"""Database tables (SQLModel).  UUID keys, timezone-aware UTC datetimes, StrEnum statuses."""

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, SQLModel

from scheduler.db.types import UTCDateTime as UTCDateTime  # re-exported: migrations use it


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def clip_text(text: str | None, limit: int = 2000) -> str | None:
    """``text`` cut to ``limit`` characters, as the ``max_length=2000`` columns hold; None stays."""
    return None if text is None else text[:limit]


def _ts(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def _created() -> Any:
    return Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


def _partial_index(name: str, column: str, where: str) -> sa.Index:
    return sa.Index(name, column, postgresql_where=sa.text(where), sqlite_where=sa.text(where))


def _enum(default: StrEnum, *, index: bool = False) -> Any:
    # Stored as the plain value (VARCHAR), so raw SQL, partial indexes and other tools read it.
    return Field(default=default, sa_type=sa.String(20), index=index)


def _new_list() -> list[Any]:
    return []


def _new_dict() -> dict[str, Any]:
    return {}


def _json(default: Any) -> Any:
    # pydantic inspects a default factory's signature on every call; for the builtins list and
    # dict that means parsing their text signature (~0.1 ms each, a third of building a Post), so
    # plain Python factories stand in for them.
    factory = {list: _new_list, dict: _new_dict}.get(default, default)
    return Field(default_factory=factory, sa_column=Column(JSON, nullable=False))


class PlatformName(StrEnum):
    X = "x"
    INSTAGRAM = "instagram"
    FACEBOOK = "facebook"


class Priority(StrEnum):
    NORMAL = "normal"
    BREAKING = "breaking"


class ArticleState(StrEnum):
    PUBLISHED = "published"
    UNPUBLISHED = "unpublished"


class ChannelStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    NEEDS_REAUTH = "needs_reauth"


class PostStatus(StrEnum):
    RENDERING = "rendering"  # waiting for the format task (outbox)
    DRAFT = "draft"
    PENDING_APPROVAL = "pending_approval"
    SCHEDULED = "scheduled"
    HELD = "held"
    QUEUED = "queued"
    PUBLISHING = "publishing"
    RETRY_WAIT = "retry_wait"
    PUBLISHED = "published"
    FAILED = "failed"
    NEEDS_REAUTH = "needs_reauth"
    UNKNOWN = "unknown"
    NEEDS_REVIEW = "needs_review"
    CANCELLED = "cancelled"
    EXPIRED = "expired"  # not sent while still news (the channel's stale_after_minutes)


class WaitCode(StrEnum):
    """Why a due post waits, as recorded by the dispatcher on ``Post.wait_code``."""

    SPACING = "spacing"
    SLOT = "slot"
    DAILY_CAP = "daily_cap"
    QUOTA = "quota"
    PARENT = "parent"  # a follow-up waits for its parent to be live


class AttemptStatus(StrEnum):
    ENQUEUED = "enqueued"
    STARTED = "started"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    RETRY = "retry"
    UNKNOWN = "unknown"
    SUPERSEDED = "superseded"


class Role(StrEnum):
    EDITOR = "editor"
    OPS = "ops"
    ADMIN = "admin"


class Article(SQLModel, table=True):
    __tablename__ = "article"
    __table_args__ = (
        sa.UniqueConstraint("source", "external_id", name="uq_article_source_ext"),
        sa.Index("ix_article_created", "created_at", "id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    source: str = Field(max_length=100)
    external_id: str = Field(max_length=300)
    url: str = Field(max_length=2000)
    title: str = Field(max_length=500)
    summary: str = Field(default="", sa_column=Column(sa.Text, nullable=False, default=""))
    body: str = Field(default="", sa_column=Column(sa.Text, nullable=False, default=""))
    image_url: str | None = Field(default=None, max_length=2000)
    image_credit: str | None = Field(default=None, max_length=300)
    tags: list[str] = _json(list)
    section: str | None = Field(default=None, max_length=200)
    author: str | None = Field(default=None, max_length=300)
    language: str = Field(default="en", max_length=20)
    published_at: datetime | None = _ts()
    priority: Priority = _enum(Priority.NORMAL)
    state: ArticleState = _enum(ArticleState.PUBLISHED)
    revision: int = 1
    content_hash: str = Field(default="", max_length=64)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class Channel(SQLModel, table=True):
    __tablename__ = "channel"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    platform: PlatformName = Field(sa_type=sa.String(20), index=True)
    name: str = Field(max_length=200, unique=True)
    account_id: str = Field(max_length=100)
    credentials_encrypted: str = Field(default="", sa_column=Column(sa.Text, nullable=False))
    timezone: str = Field(default="Asia/Karachi", max_length=64)
    status: ChannelStatus = _enum(ChannelStatus.ACTIVE)
    settings: dict[str, Any] = _json(dict)
    status_reason: str | None = Field(default=None, max_length=1000)
    last_success_at: datetime | None = _ts()
    last_error_at: datetime | None = _ts()
    last_error: str | None = Field(default=None, max_length=2000)
    rate_limit: dict[str, Any] = _json(dict)
    rate_limited_until: datetime | None = _ts()
    token_expires_at: datetime | None = _ts()
    # Pacing state, written by the dispatcher under the channel's row lock: the earliest time
    # the next normal post may be claimed (spacing, slots) and the daily cap's counter.
    next_free_at: datetime | None = _ts()
    cap_day: str | None = Field(default=None, max_length=10)
    cap_count: int = 0
    #: How the credentials got here: "oauth" (the connect flow), "token" (pasted by an admin
    #: over the API) or "sandbox" (the embedded default's seeded channels); who, and when.
    connected_via: str | None = Field(default=None, max_length=20)
    connected_by: str | None = Field(default=None, max_length=200)
    connected_at: datetime | None = _ts()
    created_at: datetime = _created()


class Post(SQLModel, table=True):
    __tablename__ = "post"
    __table_args__ = (
        sa.UniqueConstraint("article_id", "channel_id", "kind", name="uq_post_article_channel"),
        # Partial indexes: the few thousand posts the scheduler reads among a million (0011).
        _partial_index("ix_post_due", "scheduled_at", "status IN ('scheduled', 'retry_wait')"),
        _partial_index("ix_post_retry_due", "next_attempt_at", "status = 'retry_wait'"),
        _partial_index(
            "ix_post_leased",
            "lease_until",
            "status IN ('rendering', 'queued', 'publishing', 'unknown')",
        ),
        sa.Index("ix_post_scheduled_at", "scheduled_at"),
        # "Waiting for you" reads a few posts of one status in schedule order, and counts them.
        sa.Index("ix_post_status_scheduled", "status", "scheduled_at"),
        # The dispatcher's spacing reads a paced channel's latest publish (pacing.py).
        sa.Index("ix_post_channel_published", "channel_id", "published_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    article_id: uuid.UUID = Field(foreign_key="article.id", index=True)
    channel_id: uuid.UUID = Field(foreign_key="channel.id", index=True)
    platform: PlatformName = Field(sa_type=sa.String(20))
    kind: str = Field(default="link", max_length=20)  # intake.followups.PostKind
    parent_id: uuid.UUID | None = Field(default=None, foreign_key="post.id", index=True)
    status: PostStatus = _enum(PostStatus.RENDERING)
    text: str = Field(default="", sa_column=Column(sa.Text, nullable=False, default=""))
    text_override: str | None = Field(default=None, sa_column=Column(sa.Text, nullable=True))
    edited_by: str | None = Field(default=None, max_length=200)
    link: str | None = Field(default=None, max_length=2000)
    media: list[dict[str, Any]] = _json(list)
    problems: list[str] = _json(list)
    warnings: list[str] = _json(list)
    weighted_length: int | None = None
    rendered_revision: int = 0
    render_requested_revision: int = 1
    scheduled_at: datetime | None = _ts()
    approved_by: str | None = Field(default=None, max_length=200)
    approved_at: datetime | None = _ts()
    version: int = 1
    external_id: str | None = Field(default=None, max_length=200)
    external_url: str | None = Field(default=None, max_length=2000)
    platform_state: dict[str, Any] = _json(dict)
    fingerprint: str | None = Field(default=None, max_length=64)
    next_attempt_at: datetime | None = _ts()
    lease_until: datetime | None = _ts()
    last_error: str | None = Field(default=None, max_length=2000)
    attempt_count: int = 0
    published_at: datetime | None = _ts()
    # Why a due post waits (a WaitCode, a sentence, and until when); cleared when claimed.
    wait_code: str | None = Field(default=None, max_length=20)
    wait_reason: str | None = Field(default=None, max_length=2000)
    wait_until: datetime | None = _ts()
    created_at: datetime = _created()
    updated_at: datetime = _created()


class DeliveryAttempt(SQLModel, table=True):
    __tablename__ = "delivery_attempt"
    __table_args__ = (
        # At most one active attempt and one successful attempt per post (DESIGN.md rule 6).
        sa.Index(
            "uq_attempt_active",
            "post_id",
            unique=True,
            postgresql_where=sa.text("status IN ('enqueued', 'started')"),
            sqlite_where=sa.text("status IN ('enqueued', 'started')"),
        ),
        sa.Index(
            "uq_attempt_success",
            "post_id",
            unique=True,
            postgresql_where=sa.text("status = 'succeeded'"),
            sqlite_where=sa.text("status = 'succeeded'"),
        ),
        sa.Index("ix_attempt_created", "created_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    post_id: uuid.UUID = Field(foreign_key="post.id", index=True)
    channel_id: uuid.UUID = Field(foreign_key="channel.id", index=True)
    number: int
    status: AttemptStatus = _enum(AttemptStatus.ENQUEUED)
    created_at: datetime = _created()
    started_at: datetime | None = _ts()
    finished_at: datetime | None = _ts()
    scheduled_for: datetime | None = _ts()
    http_status: int | None = None
    error_code: str | None = Field(default=None, max_length=50)
    error_subcode: str | None = Field(default=None, max_length=50)
    error_class: str | None = Field(default=None, max_length=30)
    message: str | None = Field(default=None, max_length=2000)
    latency_ms: int | None = None
    worker: str | None = Field(default=None, max_length=200)
    rate_limit: dict[str, Any] = _json(dict)
    external_id: str | None = Field(default=None, max_length=200)


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    __table_args__ = (sa.Index("ix_audit_event_at", "at", "id"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    at: datetime = _created()
    actor: str = Field(max_length=200)
    action: str = Field(max_length=100)
    article_id: uuid.UUID | None = Field(default=None, foreign_key="article.id", index=True)
    post_id: uuid.UUID | None = Field(default=None, foreign_key="post.id", index=True)
    channel_id: uuid.UUID | None = Field(default=None, foreign_key="channel.id", index=True)
    detail: str | None = Field(default=None, max_length=2000)
    before: dict[str, Any] = _json(dict)
    after: dict[str, Any] = _json(dict)


class ServiceState(SQLModel, table=True):
    """Small key/value rows shared by all processes: the global pause, heartbeats."""

    __tablename__ = "service_state"

    key: str = Field(primary_key=True, max_length=100)
    value: dict[str, Any] = _json(dict)
    updated_at: datetime = _created()


class ApiKey(SQLModel, table=True):
    """An API key; only its SHA-256 is stored (keys are 256-bit random, so no slow hash needed)."""

    __tablename__ = "api_key"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(max_length=200)
    role: Role = _enum(Role.EDITOR)
    prefix: str = Field(max_length=16, index=True)
    key_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = _created()
    last_used_at: datetime | None = _ts()
    revoked_at: datetime | None = _ts()


class User(SQLModel, table=True):
    """A person who logs in to the web UI (password hashed with scrypt)."""

    __tablename__ = "app_user"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    username: str = Field(max_length=100, unique=True)
    display_name: str = Field(default="", max_length=200)  # shown instead of "user:<username>"
    password_hash: str = Field(max_length=300)
    role: Role = _enum(Role.EDITOR)
    created_at: datetime = _created()
    last_login_at: datetime | None = _ts()
    disabled: bool = False


class WebSession(SQLModel, table=True):
    """A signed-in browser session.  The cookie holds a random id; only its SHA-256 is the key,
    so a copy of this table signs nobody in.  Deleting the row ends the session at once."""

    __tablename__ = "web_session"

    id: str = Field(primary_key=True, max_length=64)
    user_id: uuid.UUID = Field(foreign_key="app_user.id", index=True)
    created_at: datetime = _created()
    expires_at: datetime = _ts(nullable=False, index=True)


class LoginThrottle(SQLModel, table=True):
    """Consecutive failed sign-ins for one key (``user:<name>`` or ``addr:<address>``), shared
    by every API process, and until when that key is refused."""

    __tablename__ = "login_throttle"

    key: str = Field(primary_key=True, max_length=200)
    failures: int = 0
    blocked_until: datetime | None = _ts()
    updated_at: datetime = _ts(nullable=False, index=True)


class FeedSource(SQLModel, table=True):
    """An RSS/Atom feed polled for new articles (the fallback trigger)."""

    __tablename__ = "feed_source"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    url: str = Field(max_length=2000)
    source: str = Field(max_length=100)
    interval_seconds: int = 300
    requires_approval: bool = False
    etag: str | None = Field(default=None, max_length=500)
    last_modified: str | None = Field(default=None, max_length=200)
    last_polled_at: datetime | None = _ts()
    next_poll_at: datetime | None = _ts()
    last_status: int | None = None
    last_error: str | None = Field(default=None, max_length=2000)
    consecutive_failures: int = 0
    items_seen: int = 0
    created_at: datetime = _created()


class WebhookReceipt(SQLModel, table=True):
    """A signature already accepted, refused if replayed inside the timestamp window."""

    __tablename__ = "webhook_receipt"

    signature: str = Field(primary_key=True, max_length=128)
    received_at: datetime = _created()


# Tables kept in their capability package register on the same metadata whenever the models are
# imported (migrations and the models-match-migrations test import only this module).
import scheduler.access.oauth_models  # noqa: E402, F401
