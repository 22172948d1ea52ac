"""Typed settings, read from ``NEWSRELAY_*`` environment variables (nested with ``__``).

The embedded default needs no server: SQLite for the database and for the Celery broker, both in
``NEWSRELAY_DATA_DIR``, and the sandbox platform for X, Instagram and Facebook.  Outside
development the service refuses to start with a missing or placeholder secret.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "dev", "development"})
DEV_SECRET = "dev-only-secret-do-not-use-in-production"  # noqa: S105 - refused in production

# The sandbox platform's registered apps.  They are the defaults outside production so that
# connecting an account works out of the box; they are not secrets (the sandbox is local).
SANDBOX_X_CLIENT_ID = "c2FuZGJveC1uZXdzcmVsYXk6MTpjaQ"
SANDBOX_X_CLIENT_SECRET = "sandbox-x-client-secret-not-for-production"  # noqa: S105
SANDBOX_META_APP_ID = "1000000000000777"
SANDBOX_META_APP_SECRET = "5a4db0c5ec2e7c0ffee5a4db0c5ec2e7"  # noqa: S105


class XSettings(BaseModel):
    """X API v2."""

    base_url: str | None = Field(
        default=None, description="Default: the sandbox outside production, api.x.com in it"
    )
    authorize_base_url: str | None = Field(
        default=None,
        description="Host of /i/oauth2/authorize: the sandbox outside production, x.com in it",
    )
    #: The OAuth 2.0 app (a confidential client: Web App or Automated App).  Outside production
    #: they default to the sandbox's app; in production connecting fails until both are set.
    client_id: str | None = None
    client_secret: SecretStr | None = None


class MetaSettings(BaseModel):
    """Graph API, shared by Facebook Pages and Instagram (Facebook Login flavour)."""

    base_url: str | None = Field(
        default=None,
        description="Default: the sandbox outside production, graph.facebook.com in it",
    )
    api_version: str = "v26.0"
    dialog_base_url: str | None = Field(
        default=None,
        description="Host of the Login dialog: the sandbox outside production, "
        "www.facebook.com in it",
    )
    #: The Meta app (Facebook Login).  Outside production they default to the sandbox's app; in
    #: production connecting fails until both are set.
    app_id: str | None = None
    app_secret: SecretStr | None = None


class InstagramSettings(BaseModel):
    """Instagram container polling."""

    container_poll_interval: float = 1.0
    container_poll_attempts: int = 10


class HttpSettings(BaseModel):
    """Timeouts for every platform call; kept well below the Celery soft time limit."""

    connect_timeout: float = 5.0
    read_timeout: float = 20.0
    write_timeout: float = 20.0
    pool_timeout: float = 5.0
    #: The whole call (connect, request, headers and body) ends within this, however slowly a
    #: server trickles; the timeouts above bound each socket operation only.
    request_deadline: float = Field(default=30.0, gt=0)


class ImageSettings(BaseModel):
    """Fetching and fitting article images."""

    max_bytes: int = 15 * 1024 * 1024
    fetch_timeout: float = 10.0
    #: The whole download, every redirect hop and the body included; past it the post gets
    #: the headline card with the reason.
    fetch_deadline: float = Field(default=15.0, gt=0)
    #: Downloads at once from one image server, and in all, per worker process: a slow server
    #: cannot hold every worker thread.  A post over its share waits ``busy_retry_seconds``.
    fetches_per_server: int = Field(default=2, ge=1)
    fetches_at_once: int = Field(default=8, ge=1)
    busy_retry_seconds: float = Field(default=2.0, gt=0)
    #: A server that ran past the deadline is turned away (headline card) for this long.
    slow_server_seconds: float = Field(default=60.0, ge=0)
    allowed_hosts: list[str] = Field(default_factory=list)
    allowed_networks: list[str] = Field(default_factory=list)

    @field_validator("allowed_networks")
    @classmethod
    def _networks_parse(cls, value: list[str]) -> list[str]:
        for item in value:
            ipaddress.ip_network(item, strict=False)
        return value


class FeedSettings(BaseModel):
    """Polling RSS/Atom feeds."""

    #: The whole fetch of one feed (connect, headers, body, redirects).
    fetch_deadline: float = Field(default=30.0, gt=0)


class AlertSettings(BaseModel):
    """Where alerts go (a signed Slack-compatible webhook, SMTP email); off until configured."""

    webhook_url: str | None = None
    #: Signs the webhook body like our own inbound webhooks (HMAC-SHA256 of "<ts>.<body>").
    webhook_secret: SecretStr | None = None
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    smtp_from: str = "newsrelay@localhost"
    email_to: list[str] = Field(default_factory=list)
    #: An alert still open is re-sent at most this often.
    reminder_minutes: float = Field(default=60.0, gt=0)
    interval_seconds: float = Field(default=30.0, gt=0)
    timeout_seconds: float = Field(default=10.0, gt=0)

    @property
    def enabled(self) -> bool:
        """Whether any destination is configured."""
        return bool(self.webhook_url) or bool(self.smtp_host and self.email_to)


class MediaSettings(BaseModel):
    """The media store: a local folder (one host) or an S3-compatible bucket (several hosts)."""

    store: Literal["local", "s3"] = "local"
    #: Objects stay at least this long after their last save (Instagram containers live 24 h).
    retention_hours: float = Field(default=48.0, ge=24, le=24 * 365)
    sweep_interval_seconds: float = Field(default=3600.0, gt=0)
    s3_bucket: str | None = None
    s3_prefix: str = "media/"
    #: Unset for AWS; the server's URL for MinIO, Ceph, R2 and other S3-compatible stores.
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None

    @model_validator(mode="after")
    def _bucket_named(self) -> MediaSettings:
        if self.store == "s3" and not self.s3_bucket:
            raise ValueError("NEWSRELAY_MEDIA__S3_BUCKET must be set when the media store is s3")
        return self


class Settings(BaseSettings):
    """All of newsrelay's configuration."""

    model_config = SettingsConfigDict(
        env_prefix="NEWSRELAY_", env_nested_delimiter="__", extra="ignore"
    )

    environment: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("./data")
    database_url: str | None = None
    broker_url: str | None = None
    secret_key: SecretStr = SecretStr(DEV_SECRET)
    encryption_keys: list[SecretStr] = Field(default_factory=list)
    webhook_secret: SecretStr | None = None
    #: Where browsers and platforms reach this service; the OAuth redirect URIs to register
    #: with X and Meta are ``{public_base_url}/oauth/callback/x`` and ``.../meta``.
    public_base_url: str = "http://127.0.0.1:8000"
    media_base_url: str | None = None
    newsroom_timezone: str = "Asia/Karachi"
    log_level: str = "INFO"
    # JSON lines, or structlog's console format; unset: JSON unless stderr is a terminal.
    log_json: bool | None = None
    max_body_bytes: int = 1024 * 1024
    webhook_tolerance_seconds: int = 300

    dispatch_interval: float = 0.5
    reap_interval: float = 5.0
    dispatch_batch: int = 100
    queued_lease_seconds: int = 60
    publish_lease_seconds: int = 120
    max_attempts: int = 6
    backoff_base_seconds: float = 5.0
    backoff_max_seconds: float = 900.0
    rate_limit_fallback_seconds: float = 900.0
    task_soft_time_limit: int = 60
    task_time_limit: int = 90
    #: Every I/O a format or delivery task does ends by this: Celery's time limits above do
    #: not apply on the threads pool.  A format task holds its post's lease this long (plus a
    #: margin); past it the dispatcher hands the post to another task.
    task_deadline_seconds: float = Field(default=50.0, gt=0)
    broker_polling_interval: float = 0.05
    #: A worker that started no task for this long while deliveries for its queues have waited
    #: as long exits, so its supervisor restarts it (a consumer that silently stopped).
    worker_stall_seconds: int = Field(default=30, ge=5, le=3600)

    x: XSettings = Field(default_factory=XSettings)
    meta: MetaSettings = Field(default_factory=MetaSettings)
    instagram: InstagramSettings = Field(default_factory=InstagramSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    images: ImageSettings = Field(default_factory=ImageSettings)
    feeds: FeedSettings = Field(default_factory=FeedSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    media: MediaSettings = Field(default_factory=MediaSettings)

    #: X tokens expiring within this many seconds are refreshed by the scheduler's token job,
    #: which runs every ``token_refresh_interval_seconds``; Meta tokens' expiry is re-read with
    #: ``debug_token`` every ``meta_token_check_interval_seconds`` (daily).
    token_refresh_ahead_seconds: float = Field(default=900.0, gt=0, le=24 * 3600)
    token_refresh_interval_seconds: float = Field(default=60.0, gt=0, le=3600)
    meta_token_check_interval_seconds: float = Field(default=86400.0, gt=0)

    #: After a reconnect, the channel's held posts go out this many seconds apart (no burst).
    reconnect_release_spacing_seconds: float = Field(default=30.0, ge=0, le=3600)

    sandbox_host: str = "127.0.0.1"
    #: ``newsrelay run`` creates one demo channel per platform on the sandbox at first start.
    sandbox_seed_channels: bool = True
    sandbox_port: int = 8765
    #: Lifetime of the access tokens the sandbox issues (X access tokens and Meta short-lived
    #: user tokens); the real platforms use 7200 s and about an hour.
    sandbox_token_ttl_seconds: int = Field(default=7200, ge=1, le=90 * 24 * 3600)

    @model_validator(mode="after")
    def _platform_base_urls(self) -> Settings:
        # The real APIs in production; the local sandbox platform everywhere else.
        production = self.environment == "production"
        if self.x.base_url is None:
            self.x.base_url = "https://api.x.com" if production else self.sandbox_url
        if self.meta.base_url is None:
            self.meta.base_url = "https://graph.facebook.com" if production else self.sandbox_url
        if self.x.authorize_base_url is None:
            self.x.authorize_base_url = "https://x.com" if production else self.sandbox_url
        if self.meta.dialog_base_url is None:
            self.meta.dialog_base_url = (
                "https://www.facebook.com" if production else self.sandbox_url
            )
        return self

    @model_validator(mode="after")
    def _sandbox_apps_outside_production(self) -> Settings:
        # Production has no default app: the OAuth clients refuse to start a connection and
        # name the missing variables (connecting is optional, so start-up does not fail).
        if self.environment == "production":
            return self
        if self.x.client_id is None and self.x.client_secret is None:
            self.x.client_id = SANDBOX_X_CLIENT_ID
            self.x.client_secret = SecretStr(SANDBOX_X_CLIENT_SECRET)
        if self.meta.app_id is None and self.meta.app_secret is None:
            self.meta.app_id = SANDBOX_META_APP_ID
            self.meta.app_secret = SecretStr(SANDBOX_META_APP_SECRET)
        return self

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        if self.environment == "production":
            secret = self.secret_key.get_secret_value()
            if secret in PLACEHOLDER_SECRETS or secret == DEV_SECRET or len(secret) < 16:
                raise ValueError(
                    "NEWSRELAY_SECRET_KEY is missing or a placeholder: set it to a random "
                    "value of at least 16 characters"
                )
            if not self.database_url:
                raise ValueError("NEWSRELAY_DATABASE_URL must be set in production")
            if not self.broker_url:
                raise ValueError("NEWSRELAY_BROKER_URL must be set in production")
        return self

    @property
    def resolved_database_url(self) -> str:
        """The application database; SQLite in the data dir by default."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'newsrelay.sqlite').resolve()}"

    @property
    def resolved_broker_url(self) -> str:
        """The Celery broker; kombu's SQLAlchemy transport on SQLite by default."""
        return self.broker_url or f"sqlite:///{(self.data_dir / 'broker.sqlite').resolve()}"

    @property
    def embedded_broker(self) -> bool:
        """True when the broker is the SQLite file in the data dir (no Redis)."""
        return self.broker_url is None or self.broker_url.startswith(("sqlite", "sqla+"))

    @property
    def media_dir(self) -> Path:
        """Where fitted images and headline cards are stored."""
        return (self.data_dir / "media").resolve()

    @property
    def resolved_media_base_url(self) -> str:
        """Public URL prefix of the media store (platforms fetch images from here)."""
        return (self.media_base_url or f"{self.public_base_url.rstrip('/')}/media").rstrip("/")

    @property
    def sandbox_url(self) -> str:
        """Base URL of the local sandbox platform."""
        return f"http://{self.sandbox_host}:{self.sandbox_port}"


class MediaUrlRefused(ValueError):
    """The media store's public URL is one the platforms cannot fetch from (production)."""


def _private_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return not ip.is_global


def check_media_base_url(
    settings: Settings,
    *,
    resolve: Callable[[str], list[str]] | None = None,
) -> None:
    """In production, refuse a media base URL Meta cannot fetch: MediaUrlRefused naming
    ``NEWSRELAY_MEDIA_BASE_URL`` when it is not https, or its host is, or resolves to, a
    loopback, private, link-local or otherwise non-public address.

    Instagram fetches the image itself from this URL (PLATFORMS.md §3.4): a store on a private
    address makes every Instagram post fail, so start-up stops instead.  ``resolve`` (a host
    to its addresses) is injectable for tests; by default the system resolver.
    """
    if settings.environment != "production":
        return
    url = settings.resolved_media_base_url
    named = "NEWSRELAY_MEDIA_BASE_URL" + ("" if settings.media_base_url else " (unset)")
    if settings.media.store == "s3" and not settings.media_base_url:
        if not settings.media.s3_endpoint_url:
            return  # presigned URLs on AWS S3's own public https endpoint
        url, named = settings.media.s3_endpoint_url, "NEWSRELAY_MEDIA__S3_ENDPOINT_URL"
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise MediaUrlRefused(
            f"{named}: the media base URL {url!r} must be an https URL that Meta and X can "
            "fetch images from."
        )
    host = parts.hostname
    try:
        addresses = [host] if _is_ip(host) else (resolve or _system_resolve)(host)
    except OSError as exc:
        raise MediaUrlRefused(
            f"{named}: the host {host!r} of the media base URL does not resolve ({exc})."
        ) from None
    private = sorted({a for a in addresses if _private_address(a)})
    if private or not addresses:
        raise MediaUrlRefused(
            f"{named}: the host {host!r} of the media base URL resolves to a loopback or "
            f"private address ({', '.join(private) or 'none'}); the platforms fetch images "
            "from the public internet, so set a public https URL."
        )


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _system_resolve(host: str) -> list[str]:
    return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, 443)})


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once from the environment."""
    return Settings()
