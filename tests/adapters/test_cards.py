"""Headline cards in every script a newsroom publishes in: the right font, shaped, RTL aligned."""

from __future__ import annotations

import io
import unicodedata

import pytest
from fontTools.ttLib import TTFont
from PIL import Image, ImageChops, features

from adapters.cards import CARD_SIZE, headline_card
from adapters.fonts import available_faces, choose_face, language_of, load_font

TITLES = {
    "urdu": "وزیر خارجہ اسحاق ڈار غزہ مذاکرات کے لیے استنبول پہنچ گئے",
    "hindi": "पाकिस्तान के विदेश मंत्री डार इस्तांबुल पहुंचे, गाज़ा युद्धविराम की मांग",
    "bengali": "পাকিস্তানের পররাষ্ট্রমন্ত্রী দার ইস্তাম্বুলে, গাজা যুদ্ধবিরতির দাবি",
    "arabic": "وزير الخارجية الباكستاني دار يصل إلى إسطنبول لمحادثات غزة",
    "chinese": "巴基斯坦外长达尔抵达伊斯坦布尔\uff0c这次会谈要求落实加沙停火",  # full-width comma
    "japanese": "パキスタン外相ダール氏、イスタンブールでガザ停戦の履行を要求",
    "korean": "파키스탄 외무장관, 이스탄불에서 가자 휴전 이행 촉구",
    "latin": "Pakistan FM Dar: Istanbul Gaza talks demand ceasefire — Miroğlu, Ελλάδα, Москва",
}
SCRIPTS = {
    "urdu": "arabic",
    "hindi": "devanagari",
    "bengali": "bengali",
    "arabic": "arabic",
    "chinese": "cjk",
    "japanese": "cjk",
    "korean": "cjk",
    "latin": "latin",
}
BRAND = (11, 61, 145)  # the default brand colour, #0b3d91
MARGIN = CARD_SIZE[0] // 12


def _cmap(path: object) -> dict[int, str]:
    with TTFont(path) as font:
        return dict(font.getBestCmap())


@pytest.mark.parametrize("name", sorted(TITLES))
def test_card_font_has_a_glyph_for_every_character_of_the_title(name: str) -> None:
    title = TITLES[name]
    face = choose_face(title)
    assert face is not None and face.script == SCRIPTS[name]
    cmap = _cmap(face.path)  # read independently of the module's own cache
    missing = [
        c
        for c in title
        if not c.isspace() and unicodedata.category(c) != "Cf" and ord(c) not in cmap
    ]
    assert missing == [], f"{face.path.name} would draw .notdef for {missing}"


def test_every_script_has_its_font_installed_and_pillow_can_shape() -> None:
    # The fonts are dependencies (pyproject.toml); raqm comes with Pillow's wheel.
    assert {f.script for f in available_faces()} >= set(SCRIPTS.values())
    assert features.check("raqm"), "Pillow cannot shape text: install libfribidi0"


def test_a_mixed_title_falls_back_to_a_font_that_covers_all_of_it() -> None:
    face = choose_face("COP29: 巴基斯坦 Dar")
    assert face is not None and face.script == "cjk"
    assert set("COP29:巴基斯坦Dar") <= {chr(cp) for cp in _cmap(face.path)}


def test_urdu_is_told_apart_from_arabic_for_shaping() -> None:
    assert language_of(TITLES["urdu"], choose_face(TITLES["urdu"])) == "ur"
    assert language_of(TITLES["arabic"], choose_face(TITLES["arabic"])) == "ar"
    assert language_of(TITLES["hindi"], choose_face(TITLES["hindi"]), "hi") == "hi"


def _first_line_ink(card: bytes) -> tuple[int, int]:
    """Left and right x of the title's first line: the ink in the band under the top margin."""
    img = Image.open(io.BytesIO(card)).convert("RGB")
    top = int(MARGIN * 1.5)
    band = img.crop((0, top, img.width, top + 100))
    diff = ImageChops.difference(band, Image.new("RGB", band.size, BRAND)).convert("L")
    bbox = diff.point(lambda v: 255 if v > 80 else 0).getbbox()
    assert bbox is not None, "no title ink on the first line"
    return bbox[0], bbox[2]


def test_an_urdu_card_is_laid_out_right_to_left() -> None:
    left, right = _first_line_ink(headline_card(TITLES["urdu"], language="ur"))
    width = CARD_SIZE[0]
    assert abs((width - MARGIN) - right) <= 6, f"first line ends at {right}, not the right margin"
    assert left > MARGIN + 40, "the first line should be ragged on the left"


def test_a_latin_card_is_laid_out_left_to_right() -> None:
    left, right = _first_line_ink(headline_card("Pakistan FM Dar in Istanbul for Gaza talks"))
    assert abs(left - MARGIN) <= 8
    assert right < CARD_SIZE[0] - MARGIN


def test_fonts_are_loaded_once_per_file_and_size() -> None:
    face = choose_face(TITLES["chinese"])
    assert load_font(face, 64) is load_font(face, 64)
