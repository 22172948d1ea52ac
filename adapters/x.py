"""X (Twitter) adapter: X API v2 ``POST /2/tweets``; twitter-text v3 weighted length."""

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


class XAdapter:
    """Renders and delivers posts to an X account."""

    platform = "x"
    needs_image = False

    def __init__(self, *, client: httpx.Client, base_url: str) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")

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
