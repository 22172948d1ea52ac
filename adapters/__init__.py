"""Channel adapters: one class per platform, their error tree, and the sandbox platform."""

from __future__ import annotations

import ssl
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
from adapters.deadline import DEFAULT_LIMITS, make_client
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
    "platform_client",
]


def http_timeout(settings: Settings) -> httpx.Timeout:
    """The explicit timeouts every platform call uses."""
    h = settings.http
    return httpx.Timeout(
        connect=h.connect_timeout, read=h.read_timeout, write=h.write_timeout, pool=h.pool_timeout
    )


def platform_client(
    settings: Settings,
    *,
    verify: ssl.SSLContext | bool = True,
    limits: httpx.Limits = DEFAULT_LIMITS,
) -> httpx.Client:
    """A client for platform calls and image downloads: our timeouts on each socket operation
    and ``settings.http.request_deadline`` over each whole request (adapters.deadline)."""
    return make_client(
        timeout=http_timeout(settings),
        per_request=settings.http.request_deadline,
        verify=verify,
        limits=limits,
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
    """The adapter for ``platform``, talking through ``client`` (or a new one with our timeouts
    and deadline)."""
    XAdapter, InstagramAdapter, FacebookAdapter = _adapter_classes()
    client = client or platform_client(settings)
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
