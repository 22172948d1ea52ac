"""Headline cards: the title drawn on the brand colour when an article has no usable image.

Text is set in a Noto font chosen for its script (:mod:`adapters.fonts`) and shaped by raqm
(HarfBuzz + FriBiDi, bundled with Pillow's wheels; FriBiDi is loaded from the system), so
Arabic and Urdu letters join, Indic conjuncts form, and right-to-left lines read right to left
and are right-aligned.  Without raqm the card still draws, unshaped.
"""

from __future__ import annotations

import io

from PIL import Image, ImageColor, ImageDraw, ImageFont

from adapters.fonts import FontFace, choose_face, covers, language_of, load_font, raqm_available
from adapters.text import graphemes, one_line

CARD_SIZE = (1080, 1350)
TITLE_SIZES = (96, 84, 72, 64, 56, 48, 40)
SOURCE_SIZE = 36
JPEG_QUALITY = 88


class _Setter:
    """Measures and draws one string's lines in one font, direction and language."""

    def __init__(
        self,
        draw: ImageDraw.ImageDraw,
        text: str,
        *,
        language: str | None,
        fill: tuple[int, int, int],
    ) -> None:
        self.draw = draw
        self.fill = fill
        self.face: FontFace | None = choose_face(text)
        self.rtl = self.face is not None and self.face.direction == "rtl"
        # Direction and language are raqm options: the basic layout refuses them.
        shaped = raqm_available()
        self.direction = ("rtl" if self.rtl else "ltr") if shaped else None
        self.language = language_of(text, self.face, language) if shaped else None

    def font(self, size: int) -> ImageFont.FreeTypeFont:
        return load_font(self.face, size)

    def length(self, text: str, font: ImageFont.FreeTypeFont) -> float:
        return self.draw.textlength(
            text, font=font, direction=self.direction, language=self.language
        )

    def wrap(self, text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
        """Greedy word wrap; words wider than a line (or unspaced CJK) split between clusters."""
        lines: list[str] = []
        line = ""
        for word in text.split(" "):
            candidate = f"{line} {word}".strip()
            if self.length(candidate, font) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            line = ""
            for cluster in graphemes(word):
                if line and self.length(line + cluster, font) > width:
                    lines.append(line)
                    line = ""
                line += cluster
        if line:
            lines.append(line)
        return lines

    def ellipsis(self) -> str:
        return "…" if self.face is None or covers(self.face, "…") else "..."

    def line(self, text: str, *, y: float, margin: int, font: ImageFont.FreeTypeFont) -> None:
        """Draw one line from the start margin: the left one, or the right one for RTL."""
        width = self.draw.im.size[0]
        x, anchor = (width - margin, "ra") if self.rtl else (margin, "la")
        self.draw.text(
            (x, y),
            text,
            font=font,
            fill=self.fill,
            anchor=anchor,
            direction=self.direction,
            language=self.language,
        )


def headline_card(
    title: str,
    *,
    brand_color: str = "#0b3d91",
    source: str = "",
    language: str | None = None,
    width: int = CARD_SIZE[0],
    height: int = CARD_SIZE[1],
) -> bytes:
    """A deterministic JPEG: the title wrapped in white (or black) on the brand colour.

    ``language`` is the article's (BCP 47, e.g. ``ur``); it selects language-specific shaping.
    """
    try:
        bg = ImageColor.getrgb(brand_color)[:3]
    except ValueError:
        bg = ImageColor.getrgb("#0b3d91")[:3]
    fg = (20, 20, 20) if 0.299 * bg[0] + 0.587 * bg[1] + 0.114 * bg[2] > 160 else (255, 255, 255)
    img = Image.new("RGB", (width, height), (bg[0], bg[1], bg[2]))
    draw = ImageDraw.Draw(img)
    margin = width // 12
    text = one_line(title)
    setter = _Setter(draw, text, language=language, fill=fg)
    room = height - 3 * margin
    for size in TITLE_SIZES:
        font = setter.font(size)
        # Scripts with tall marks (Naskh, Devanagari) need more than 1.25 em between lines.
        line_height = max(size * 1.25, float(sum(font.getmetrics())))
        lines = setter.wrap(text, font, width - 2 * margin)
        if len(lines) * line_height <= room:
            break
    max_lines = max(1, int(room // line_height))
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1] + setter.ellipsis()
    y = margin * 1.5
    for line in lines:
        setter.line(line, y=y, margin=margin, font=font)
        y += line_height
    if source:
        label = one_line(source)[:80]
        small = _Setter(draw, label, language=None, fill=fg)
        y = height - margin - SOURCE_SIZE
        small.line(label, y=y, margin=margin, font=small.font(SOURCE_SIZE))
    return _encode(img)


def _encode(img: Image.Image) -> bytes:
    """Baseline JPEG without EXIF (a card is far below Instagram's 8 MB)."""
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=JPEG_QUALITY, progressive=False, optimize=False)
    return buf.getvalue()
