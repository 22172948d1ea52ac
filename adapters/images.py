"""Article images for Instagram: fetch safely, fit to Instagram's rules, or draw a headline card.

The card itself is drawn by :mod:`adapters.cards`.

Instagram takes a JPEG of at most 8 MB, aspect 4:5 (0.8) to 1.91:1, 320-1440 px wide, sRGB
(PLATFORMS.md section 3.3), fetched by Meta from a public URL, so fitted images go to a media
store (:mod:`adapters.media_store`).  Downloading (SSRF checks, the checked address pinned, the
deadline and the per-server shares) is :mod:`adapters.image_fetch`.
"""

from __future__ import annotations

import contextlib
import functools
import io
import warnings
from typing import Literal

import httpx
from PIL import Image, ImageCms, ImageColor, ImageOps

from adapters.base import ArticleContent, ChannelSettings, MediaItem
from adapters.cards import CARD_SIZE as CARD_SIZE  # re-exported: the card's old home
from adapters.cards import headline_card as headline_card
from adapters.errors import ImageError
from adapters.image_fetch import (
    FetchGate,
    ImagePolicy,
    ImageServerBusy,
    Resolver,
    fetch_image,
)
from adapters.media_store import LocalMediaStore, MediaStore

__all__ = [
    "CARD_SIZE",
    "FetchGate",
    "ImagePolicy",
    "ImageServerBusy",
    "LocalMediaStore",
    "MediaStore",
    "fetch_image",
    "fit_for_instagram",
    "headline_card",
    "is_image_note",
    "prepare_instagram_image",
]

IG_MIN_RATIO, IG_MAX_RATIO = 0.8, 1.91
IG_MIN_WIDTH = 320
# Instagram accepts up to 1440 px but displays feed images at 1080: larger only costs bytes.
IG_TARGET_MAX_WIDTH = 1080
IG_MAX_BYTES = 8 * 1024 * 1024
JPEG_QUALITIES = (88, 80, 70, 60, 50)
# Far above any real photo (a 50 MP camera); refuses decompression bombs before decoding.
MAX_PIXELS = 60_000_000
# Every note prepare_instagram_image makes starts so: is_image_note() tells them from text notes.
IMAGE_NOT_USED = "The article image was not used "


# --- fitting ----------------------------------------------------------------------------------
def _decode(data: bytes) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            if img.width * img.height > MAX_PIXELS:
                raise ImageError(f"The image is too large to process ({img.width}x{img.height}).")
            img.seek(0)  # the first frame of an animation
            img.load()
    except ImageError:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise ImageError("The image is too large to process.") from exc
    except Exception as exc:  # Pillow raises many types for corrupt or foreign files
        raise ImageError("The file is not an image that can be read (JPEG, PNG, WebP…).") from exc
    return img


def _to_srgb(img: Image.Image, background: tuple[int, int, int]) -> Image.Image:
    """RGB in sRGB, alpha flattened onto ``background``."""
    icc = img.info.get("icc_profile")
    if icc and img.mode in ("RGB", "RGBA", "CMYK", "L"):
        try:
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            out_mode = "RGBA" if img.mode == "RGBA" else "RGB"
            converted = ImageCms.profileToProfile(
                img, src, ImageCms.createProfile("sRGB"), outputMode=out_mode
            )
            img = converted or img
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken profile: fall back to a plain conversion below
    if img.mode.startswith("I"):  # 16-bit greyscale (PNG): scale to 8 bits, do not clip
        img = img.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    elif img.mode == "F":
        img = img.convert("L")
    has_alpha = img.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in img.info
    if has_alpha:
        rgba = img.convert("RGBA")
        flat = Image.new("RGB", rgba.size, background)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return img.convert("RGB")


def _fit_size(width: int, height: int) -> tuple[int, int]:
    """Final (width, height): width in 320..1080, ratio clamped into 0.8..1.91."""
    ratio = min(max(width / height, IG_MIN_RATIO), IG_MAX_RATIO)
    out_w = min(max(width, IG_MIN_WIDTH), IG_TARGET_MAX_WIDTH)
    out_h = round(out_w / ratio)
    # Rounding must not push the ratio outside Instagram's range.
    lo, hi = -(-out_w * 100 // 191), out_w * 10 // 8
    return out_w, min(max(out_h, lo), hi)


def fit_for_instagram(
    data: bytes, *, fit: Literal["pad", "crop"] = "pad", background: str = "#ffffff"
) -> tuple[bytes, int, int]:
    """Decode, orient, sRGB, fit 4:5..1.91:1 by padding or centre-cropping, JPEG ≤ 8 MB.

    Width ends up in 320..1080: small images are upscaled to 320, large ones downscaled to
    1080 (Instagram's display width; its 1440 maximum only adds bytes).
    """
    img = _decode(data)
    with contextlib.suppress(Exception):  # a broken EXIF block must not lose the picture
        img = ImageOps.exif_transpose(img) or img
    try:
        bg = ImageColor.getrgb(background)[:3]
    except ValueError:
        bg = (255, 255, 255)
    img = _to_srgb(img, (bg[0], bg[1], bg[2]))
    w, h = img.size
    if fit == "crop":
        if w / h > IG_MAX_RATIO:
            cw = max(1, int(h * IG_MAX_RATIO))
            img = img.crop(((w - cw) // 2, 0, (w - cw) // 2 + cw, h))
        elif w / h < IG_MIN_RATIO:
            ch = max(1, int(w / IG_MIN_RATIO))
            img = img.crop((0, (h - ch) // 2, w, (h - ch) // 2 + ch))
        out_w, out_h = _fit_size(*img.size)
        canvas = img.resize((out_w, out_h), Image.Resampling.LANCZOS)
    else:
        # The padded canvas at the picture's own scale, so padding never shrinks the picture.
        ratio = min(max(w / h, IG_MIN_RATIO), IG_MAX_RATIO)
        out_w, out_h = _fit_size(max(w, round(h * ratio)), max(h, round(w / ratio)))
        scale = min(out_w / w, out_h / h)
        inner = (max(1, min(out_w, round(w * scale))), max(1, min(out_h, round(h * scale))))
        canvas = Image.new("RGB", (out_w, out_h), bg)
        resized = img.resize(inner, Image.Resampling.LANCZOS)
        canvas.paste(resized, ((out_w - inner[0]) // 2, (out_h - inner[1]) // 2))
    return _encode_jpeg(canvas), out_w, out_h


def _encode_jpeg(img: Image.Image) -> bytes:
    """Baseline JPEG without EXIF, at the best quality that stays under Instagram's 8 MB."""
    out = b""
    for quality in JPEG_QUALITIES:
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=quality, progressive=False, optimize=False)
        out = buf.getvalue()
        if len(out) <= IG_MAX_BYTES:
            return out
    raise ImageError("The image could not be compressed below Instagram's 8 MB limit.")


# --- the pipeline -----------------------------------------------------------------------------
def _as_clause(reason: str) -> str:
    reason = reason.rstrip(".")
    return reason[:1].lower() + reason[1:] if reason[1:2].islower() else reason


@functools.lru_cache(maxsize=32)
def _card(title: str, brand_color: str, source: str, language: str) -> bytes:
    # Drawing is the costly part (a fraction of a second); one article's card is wanted by
    # several channels (Instagram, X with attach_image, Facebook photo posts) in one process.
    return headline_card(title, brand_color=brand_color, source=source, language=language)


def prepare_instagram_image(
    article: ArticleContent,
    settings: ChannelSettings,
    *,
    store: MediaStore,
    client: httpx.Client,
    policy: ImagePolicy,
    resolver: Resolver | None = None,
    gate: FetchGate | None = None,
) -> tuple[MediaItem, list[str]]:
    """The article image fetched, fitted and stored; a headline card (and a warning) if not.

    With a ``gate``, :class:`ImageServerBusy` propagates: the caller retries later rather than
    give up an image that may be fine.
    """
    if article.image_url:
        try:
            raw = fetch_image(
                article.image_url, client=client, policy=policy, resolver=resolver, gate=gate
            )
            data, width, height = fit_for_instagram(raw, fit=settings.image_fit)
            return store.save_jpeg(data, width=width, height=height), []
        except ImageError as exc:
            reason = exc.reason
    else:
        reason = "The article has no image."
    card = _card(article.title, settings.brand_color, article.source, article.language)
    item = store.save_jpeg(card, width=CARD_SIZE[0], height=CARD_SIZE[1])
    return item, [f"{IMAGE_NOT_USED}({_as_clause(reason)}); a headline card was generated instead."]


def is_image_note(note: str) -> bool:
    """Whether a render note is about the image (not the text), so an edited text keeps it."""
    return note.startswith(IMAGE_NOT_USED)
