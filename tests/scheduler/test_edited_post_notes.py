"""Once an editor's text wins, the render's notes about the text ("Left out … hashtags", "the
title was shortened") no longer describe what goes out and are not shown; a note about the image
still is.  The rule lives in the read model (``current_notes``), used by the API's post detail
and the article page alike; the stored notes stay the render's record."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session

from adapters.base import ArticleContent, ChannelSettings
from config import Settings
from scheduler.db.engine import session_scope
from scheduler.editorial.actions import edit_post_text, get_post
from scheduler.editorial.rendering import render_for_channel
from tests.scheduler.post_actions_support import EDITOR, load, seed
from tests.utils.factories import set_post

MANY_TAGS = tuple(f"Tag number {i}" for i in range(40))
# Instagram takes 30 hashtags a caption, these two included: the render leaves out two tags.
SUMMARY = "Pakistan's foreign minister reached Istanbul on Monday. #Gaza #OIC"


def _rendered_notes(settings: Settings) -> list[str]:
    """What the format task stores for an Instagram post of an article with 40 tags and no
    image: the image note first, then the adapter's notes on the text."""
    content = ArticleContent(
        source="southasiandesk",
        external_id="notes",
        url="https://news.example.com/2026/11/03/dar",
        title="Dar in Istanbul for Gaza talks",
        summary=SUMMARY,
        tags=MANY_TAGS,
    )
    with httpx.Client() as client:  # no image to fetch: a headline card is drawn instead
        payload = render_for_channel(
            content, "instagram", ChannelSettings(), settings=settings, client=client
        )
    return payload.warnings


def test_an_edit_drops_the_text_notes_and_keeps_the_image_note(
    engine: Engine, settings: Settings, channels: dict[str, uuid.UUID], article_json: dict[str, Any]
) -> None:
    notes = _rendered_notes(settings)
    image_note, *text_notes = notes
    assert image_note.startswith("The article image was not used (the article has no image)")
    assert any(n.startswith("Left out 2 hashtags") for n in text_notes), notes
    ig = seed(engine, article_json)["instagram"]
    set_post(engine, ig, warnings=notes)
    with Session(engine) as s:
        assert get_post(session=s, post_id=ig).warnings == notes  # not edited: all apply

    with session_scope(engine) as s:
        edit_post_text(
            session=s, post_id=ig, text="Dar in Istanbul #Gaza", actor=EDITOR, settings=settings
        )
    with Session(engine) as s:
        assert get_post(session=s, post_id=ig).warnings == [image_note]
    assert load(engine, ig).warnings == notes  # the render's record is kept as it was


def test_an_edited_post_shows_no_text_note_after_a_re_render_either(
    engine: Engine, settings: Settings, channels: dict[str, uuid.UUID], article_json: dict[str, Any]
) -> None:
    x = seed(engine, article_json)["x"]
    with session_scope(engine) as s:
        edit_post_text(
            session=s, post_id=x, text="Dar in Istanbul", actor=EDITOR, settings=settings
        )
    # A corrected article re-renders the post; the format task stores the new render's notes,
    # and the editor's text still wins over the new rendering.
    set_post(engine, x, warnings=["Left out #Gaza #OIC to fit X's 280-character limit."])
    with Session(engine) as s:
        detail = get_post(session=s, post_id=x)
    assert (detail.text, detail.warnings) == ("Dar in Istanbul", [])
