"""Channel adapters: one class per platform, their error tree, and the sandbox platform."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import httpx

from adapters.base import (
    PLATFORMS,
    Adapter,
    ArticleContent,
    ChannelSettings,
    MediaItem,
    Payload,
    Platform,
    PublishResult,
    ReconcileResult,
)
from config import Settings

if TYPE_CHECKING:
    from adapters.facebook import FacebookAdapter
    from adapters.instagram import InstagramAdapter
    from adapters.x import XAdapter

__all__ = [
    "PLATFORMS",
    "Adapter",
    "ArticleContent",
    "ChannelSettings",
    "MediaItem",
    "Payload",
    "Platform",
    "PublishResult",
    "ReconcileResult",
    "build_adapter",
    "http_timeout",
]


def http_timeout(settings: Settings) -> httpx.Timeout:
    """The explicit timeouts every platform call uses."""
    h = settings.http
    return httpx.Timeout(
        connect=h.connect_timeout, read=h.read_timeout, write=h.write_timeout, pool=h.pool_timeout
    )


@cache
def _adapter_classes() -> tuple[type[XAdapter], type[InstagramAdapter], type[FacebookAdapter]]:
    # Imported on first use (``import adapters`` stays light), then never again: an import
    # statement on the delivery hot path costs more than building the adapter.
    from adapters.facebook import FacebookAdapter
    from adapters.instagram import InstagramAdapter
    from adapters.x import XAdapter

    return XAdapter, InstagramAdapter, FacebookAdapter


def build_adapter(
    platform: str, *, settings: Settings, client: httpx.Client | None = None
) -> Adapter:
    """The adapter for ``platform``, talking through ``client`` (or a new one with our timeouts)."""
    XAdapter, InstagramAdapter, FacebookAdapter = _adapter_classes()
    client = client or httpx.Client(timeout=http_timeout(settings))
    if platform == "x":
        return XAdapter(client=client, base_url=str(settings.x.base_url))
    if platform == "instagram":
        return InstagramAdapter(
            client=client,
            base_url=str(settings.meta.base_url),
            api_version=settings.meta.api_version,
            poll_interval=settings.instagram.container_poll_interval,
            poll_attempts=settings.instagram.container_poll_attempts,
        )
    if platform == "facebook":
        return FacebookAdapter(
            client=client,
            base_url=str(settings.meta.base_url),
            api_version=settings.meta.api_version,
        )
    raise ValueError(f"unknown platform {platform!r}; expected one of {', '.join(PLATFORMS)}")
