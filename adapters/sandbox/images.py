"""Fetching and inspecting images the way Instagram and Facebook do (PLATFORMS.md §3.3, §4.3),
and generating test images for ``GET /_sandbox/images/{w}x{h}.{jpg|png}``.

The real platforms cURL the public URL; the sandbox fetches with httpx, loopback included,
because it only ever runs next to the service it serves.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache, lru_cache

import httpx
from PIL import Image, UnidentifiedImageError

FETCH_TIMEOUT = 10.0
MAX_GENERATED_SIDE = 4096
MAX_PAD_BYTES = 20 * 1024 * 1024


class FetchError(Exception):
    """The image could not be fetched; ``timeout`` tells a slow host from a broken URL."""

    def __init__(self, reason: str, *, timeout: bool = False) -> None:
        super().__init__(reason)
        self.timeout = timeout


class TooLarge(Exception):
    """The image is larger than the platform accepts."""


@dataclass(frozen=True)
class ImageInfo:
    """What the platform sees in the fetched bytes."""

    size: int
    format: str | None
    width: int
    height: int

    @property
    def aspect(self) -> float:
        return self.width / self.height if self.height else 0.0


@cache
def _shared_client() -> httpx.Client:
    """One keep-alive client for the whole server: building one (its TLS context, the CA
    bundle) costs milliseconds of CPU, more than the rest of a container request.  Two threads
    racing on the first call may each build one; one of them is kept."""
    return httpx.Client(
        timeout=FETCH_TIMEOUT,
        follow_redirects=True,
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
    )


def fetch_image(url: str, *, max_bytes: int) -> ImageInfo:
    """GET ``url`` (10 s timeout, redirects followed) and inspect at most ``max_bytes``."""
    if not url.startswith(("http://", "https://")):
        raise FetchError("not an http(s) URL")
    try:
        with _shared_client().stream("GET", url) as response:
            if response.status_code != 200:
                raise FetchError(f"HTTP {response.status_code}")
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise TooLarge(declared)
            buffer = bytearray()
            for chunk in response.iter_bytes():
                buffer.extend(chunk)
                if len(buffer) > max_bytes:
                    raise TooLarge(str(len(buffer)))
    except httpx.TimeoutException as exc:
        raise FetchError("timed out", timeout=True) from exc
    except httpx.HTTPError as exc:
        raise FetchError(type(exc).__name__) from exc
    return inspect_image(bytes(buffer))


def inspect_image(data: bytes) -> ImageInfo:
    """Format and size from the header only (Pillow does not decode the pixels here)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return ImageInfo(len(data), image.format, image.width, image.height)
    except (UnidentifiedImageError, OSError, ValueError):
        return ImageInfo(len(data), None, 0, 0)


@lru_cache(maxsize=32)
def _generated(width: int, height: int, fmt: str) -> bytes:
    image = Image.new("RGB", (width, height), (11, 61, 145))
    out = io.BytesIO()
    options = {"quality": 80} if fmt == "JPEG" else {}
    image.save(out, format=fmt, **options)
    return out.getvalue()


def generate_image(width: int, height: int, fmt: str, pad_bytes: int = 0) -> bytes:
    """A solid-colour test image; ``pad_bytes`` of trailing zeros make it as large as needed
    (decoders ignore data after the JPEG end marker)."""
    if not (1 <= width <= MAX_GENERATED_SIDE and 1 <= height <= MAX_GENERATED_SIDE):
        raise ValueError(f"sides must be 1..{MAX_GENERATED_SIDE}")
    if not 0 <= pad_bytes <= MAX_PAD_BYTES:
        raise ValueError(f"pad_bytes must be 0..{MAX_PAD_BYTES}")
    return _generated(width, height, fmt) + b"\0" * pad_bytes
