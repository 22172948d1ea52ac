"""Fonts for drawn text: one Noto family per script, chosen by the text's own characters.

The font files come from PyPI packages declared in ``pyproject.toml`` (all SIL Open Font
License 1.1), so ``pip install`` alone brings them: Noto Sans (Latin, Greek, Cyrillic), Noto
Naskh Arabic (Arabic and Urdu), Noto Sans Devanagari, Bengali, Tamil and Telugu, and Noto Sans
CJK (Chinese, Japanese and Korean in one file).  A missing package only drops its script from
the chain; with none at all, Pillow's built-in font is used.

:func:`choose_face` counts the letters of each script in the text, tries the dominant script's
font first and then the others (the fallback chain), and takes the first whose ``cmap`` has a
glyph for every visible character, else the one that covers the most.  A whole title is set in
one font, because Pillow draws a string with a single face (no per-run fallback): a title that
mixes, say, Urdu with Latin letters gets whichever font covers more of it.

Font files are large (the CJK one is 16 MB): each is opened once per size and kept
(:func:`load_font`), and FreeType maps the file rather than reading it into memory.
"""

from __future__ import annotations

import functools
import threading
import unicodedata
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

from PIL import ImageFont, features

Direction = Literal["ltr", "rtl"]


@dataclass(frozen=True)
class FontFace:
    """One font file, the script it is chosen for, and how its text runs."""

    script: str
    package: str
    path: Path
    direction: Direction = "ltr"


# (script, package, file inside the package, direction), in fallback order after the
# dominant script's own font: Latin first because digits and names in Latin letters are the
# commonest mix in every newsroom's titles.
_SOURCES: tuple[tuple[str, str, str, Direction], ...] = (
    ("latin", "fontpkg_noto_sans", "files/NotoSans[wdth,wght].ttf", "ltr"),
    ("arabic", "pylopdf_fonts_ar", "NotoNaskhArabic-Variable.ttf", "rtl"),
    (
        "devanagari",
        "justmytype_intl_south_asia",
        "fonts/ofl/notosansdevanagari/NotoSansDevanagari[wdth,wght].ttf",
        "ltr",
    ),
    (
        "bengali",
        "justmytype_intl_south_asia",
        "fonts/ofl/notosansbengali/NotoSansBengali[wdth,wght].ttf",
        "ltr",
    ),
    (
        "tamil",
        "justmytype_intl_south_asia",
        "fonts/ofl/notosanstamil/NotoSansTamil[wdth,wght].ttf",
        "ltr",
    ),
    (
        "telugu",
        "justmytype_intl_south_asia",
        "fonts/ofl/notosanstelugu/NotoSansTelugu[wdth,wght].ttf",
        "ltr",
    ),
    ("cjk", "noto_cjk_sans_jp_regular", "NotoSansCJKjp-Regular.otf", "ltr"),
)

# Unicode blocks by script (inclusive code point ranges).  Letters outside them (Latin,
# Greek, Cyrillic...) count as "latin": Noto Sans covers those three.
_BLOCKS: tuple[tuple[int, int, str], ...] = (
    (0x0600, 0x06FF, "arabic"),
    (0x0750, 0x077F, "arabic"),
    (0x08A0, 0x08FF, "arabic"),
    (0xFB50, 0xFDFF, "arabic"),
    (0xFE70, 0xFEFF, "arabic"),
    (0x0900, 0x097F, "devanagari"),
    (0xA8E0, 0xA8FF, "devanagari"),
    (0x0980, 0x09FF, "bengali"),
    (0x0B80, 0x0BFF, "tamil"),
    (0x0C00, 0x0C7F, "telugu"),
    (0x1100, 0x11FF, "cjk"),  # Hangul Jamo
    (0x2E80, 0x2FDF, "cjk"),  # radicals
    (0x3000, 0x31FF, "cjk"),  # punctuation, kana, bopomofo, Hangul compatibility jamo
    (0x3400, 0x4DBF, "cjk"),
    (0x4E00, 0x9FFF, "cjk"),
    (0xAC00, 0xD7AF, "cjk"),  # Hangul syllables
    (0xF900, 0xFAFF, "cjk"),
    (0xFF00, 0xFFEF, "cjk"),  # full-width forms
    (0x20000, 0x2FA1F, "cjk"),
)
# Letters Urdu uses and Arabic does not: they tell raqm to apply Urdu's language rules.
_URDU_LETTERS = frozenset("ٹڈڑںےۓھۂۃ")

_lock = threading.Lock()


def script_of(char: str) -> str | None:
    """The script a character needs a font for, or ``None`` for digits, spaces, punctuation."""
    cp = ord(char)
    for first, last, script in _BLOCKS:
        if first <= cp <= last:
            return script
    return "latin" if unicodedata.category(char).startswith("L") else None


def _visible(text: str) -> set[str]:
    """Characters that need a glyph (not spaces, controls or joiners, which shaping handles)."""
    return {c for c in text if unicodedata.category(c) not in ("Zs", "Zl", "Zp", "Cc", "Cf")}


@functools.cache
def available_faces() -> tuple[FontFace, ...]:
    """The bundled fonts that are installed, in fallback order."""
    faces = []
    for script, package, name, direction in _SOURCES:
        try:
            path = Path(str(resources.files(package).joinpath(name)))
        except ModuleNotFoundError:
            continue
        if path.is_file():
            faces.append(FontFace(script, package, path, direction))
    return tuple(faces)


@functools.cache
def coverage(path: Path) -> frozenset[int]:
    """Code points the font has a glyph for (its best Unicode cmap), read once per file."""
    # Imported here: only a process that draws a card pays for fontTools.
    from fontTools.ttLib import TTFont

    with TTFont(path, lazy=True, fontNumber=0) as font:
        return frozenset(font.getBestCmap())


def covers(face: FontFace, text: str) -> bool:
    """True when ``face`` has a glyph for every visible character of ``text``."""
    cmap = coverage(face.path)
    return all(ord(c) in cmap for c in _visible(text))


def choose_face(text: str) -> FontFace | None:
    """The font to set ``text`` in: the dominant script's, else the next that covers it all."""
    faces = available_faces()
    if not faces:
        return None
    counts = Counter(s for s in map(script_of, text) if s is not None)
    dominant = counts.most_common(1)[0][0] if counts else "latin"
    chain = sorted(faces, key=lambda f: f.script != dominant)  # stable: keeps the order
    visible = {ord(c) for c in _visible(text)}
    best, best_missing = chain[0], len(visible) + 1
    for face in chain:
        missing = len(visible - coverage(face.path))
        if missing == 0:
            return face
        if missing < best_missing:
            best, best_missing = face, missing
    return best


def language_of(text: str, face: FontFace | None, hint: str | None = None) -> str | None:
    """The OpenType language for shaping: the article's, else Urdu or Arabic by its letters."""
    if face is None or face.script != "arabic":
        return hint or None
    if hint and hint.split("-")[0].lower() in ("ur", "ar", "fa", "ps", "sd"):
        return hint.split("-")[0].lower()
    return "ur" if any(c in _URDU_LETTERS for c in text) else "ar"


def raqm_available() -> bool:
    """Whether Pillow can shape text (libraqm with FriBiDi): joins Arabic, reorders RTL."""
    return bool(features.check("raqm"))


@functools.cache
def load_font(face: FontFace | None, size: int) -> ImageFont.FreeTypeFont:
    """``face`` at ``size`` px, bold where the font is variable; opened once and kept."""
    if face is None:
        return ImageFont.load_default(size=size)  # type: ignore[return-value]
    layout = ImageFont.Layout.RAQM if raqm_available() else ImageFont.Layout.BASIC
    with _lock:  # one FreeType face per (file, size), even when threads ask at once
        font = ImageFont.truetype(str(face.path), size, layout_engine=layout)
        try:
            axes = font.get_variation_axes()
        except OSError:  # a static font: it is what it is
            return font
        values = [
            float(min(700, axis["maximum"] or 700))
            if axis.get("name") == b"Weight"
            else float(axis["default"] or 0)
            for axis in axes
        ]
        font.set_variation_by_axes(values)
        return font
