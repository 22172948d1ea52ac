"""Instagram adapter: Graph API content publishing (container, status, media_publish)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from adapters.base import (
    ArticleContent,
    ChannelSettings,
    MediaItem,
    Payload,
    ProgressCallback,
    PublishResult,
    ReconcileResult,
)


class InstagramAdapter:
    """Renders and delivers posts to an Instagram professional account."""

    platform = "instagram"
    needs_image = True

    def __init__(
        self,
        *,
        client: httpx.Client,
        base_url: str,
        api_version: str,
        poll_interval: float = 1.0,
        poll_attempts: int = 10,
    ) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.api_version = api_version
        self.poll_interval = poll_interval
        self.poll_attempts = poll_attempts

    # --- rendering (pure) -------------------------------------------------------------------
    def render(
        self, article: ArticleContent, settings: ChannelSettings, *, media: MediaItem | None = None
    ) -> Payload:
        raise NotImplementedError

    def validate(self, payload: Payload, settings: ChannelSettings) -> list[str]:
        raise NotImplementedError

    # --- delivery (I/O) ---------------------------------------------------------------------
    def publish(
        self,
        payload: Payload,
        credentials: dict[str, str],
        *,
        account_id: str,
        state: dict[str, Any] | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> PublishResult:
        raise NotImplementedError

    def reconcile(
        self,
        payload: Payload,
        credentials: dict[str, str],
        *,
        account_id: str,
        state: dict[str, Any] | None = None,
        since: datetime | None = None,
    ) -> ReconcileResult:
        raise NotImplementedError
