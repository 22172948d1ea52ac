"""Posts that carry an image, through httpx.MockTransport: X's upload with alt text
(``POST /2/media/metadata``) before ``POST /2/tweets`` with ``media.media_ids``; X's link-free
posts (``include_link: false``); Facebook photo posts (``POST /{page-id}/photos``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from adapters.base import ArticleContent, ChannelSettings, MediaItem, Payload
from adapters.errors import UnknownOutcomeError
from adapters.facebook import FacebookAdapter
from adapters.matching import expand_x_urls
from adapters.x import XAdapter, x_weighted_length
from tests.adapters.test_facebook_publish import PAGE, POST_ID
from tests.adapters.test_facebook_publish import make_adapter as make_fb
from tests.adapters.x_api import CREDENTIALS, TEXT, make_adapter

MEDIA_ID = "1880028106020515840"
ALT = "Ishaq Dar and Hakan Fidan shake hands in Istanbul"
IMAGE_URL = "https://media.example.pk/3f2a.jpg"


def image(tmp_path: Path, *, alt_text: str = ALT) -> MediaItem:
    path = tmp_path / "3f2a.jpg"
    path.write_bytes(b"\xff\xd8" + b"p" * 2000 + b"\xff\xd9")
    return MediaItem(url=IMAGE_URL, path=str(path), width=1080, height=608, alt_text=alt_text)


class FakeX:
    """The v2 upload, the metadata endpoint and POST /2/tweets, recording every request."""

    def __init__(self) -> None:
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        path = request.url.path
        if path == "/2/media/upload/initialize":
            return httpx.Response(200, json={"data": {"id": MEDIA_ID}})
        if path.endswith("/append"):
            return httpx.Response(200, json={"data": {"expires_at": 1}})
        if path.endswith("/finalize"):
            return httpx.Response(200, json={"data": {"id": MEDIA_ID, "size": 2004}})
        if path == "/2/media/metadata":
            sent = json.loads(request.content)["metadata"]
            return httpx.Response(200, json={"data": {"associated_metadata": sent}})
        if path == "/2/tweets":
            return httpx.Response(201, json={"data": {"id": "99", "text": TEXT}})
        return httpx.Response(404, json={"title": "Not Found", "type": "about:blank"})


def test_x_uploads_the_image_sets_its_alt_text_then_posts_with_the_media_id(
    tmp_path: Path,
) -> None:
    fake = FakeX()
    progress: list[dict[str, Any]] = []
    payload = Payload(channel="x", text=TEXT, media=[image(tmp_path)])
    result = make_adapter(fake).publish(
        payload, CREDENTIALS, account_id="42", on_progress=progress.append
    )
    assert [(r.method, r.url.path) for r in fake.seen] == [
        ("POST", "/2/media/upload/initialize"),
        ("POST", f"/2/media/upload/{MEDIA_ID}/append"),
        ("POST", f"/2/media/upload/{MEDIA_ID}/finalize"),
        ("POST", "/2/media/metadata"),
        ("POST", "/2/tweets"),
    ]
    assert json.loads(fake.seen[3].content) == {
        "id": MEDIA_ID,
        "metadata": {"alt_text": {"text": ALT}},
    }
    assert fake.seen[3].headers["content-type"] == "application/json"
    assert json.loads(fake.seen[4].content) == {"text": TEXT, "media": {"media_ids": [MEDIA_ID]}}
    assert progress == [{"media_ids": [MEDIA_ID], "media_for": [[IMAGE_URL, ALT]]}]
    assert result.external_id == "99"


def test_x_alt_text_is_cut_to_the_1000_characters_x_accepts(tmp_path: Path) -> None:
    fake = FakeX()
    payload = Payload(channel="x", text=TEXT, media=[image(tmp_path, alt_text="a" * 1500)])
    make_adapter(fake).publish(payload, CREDENTIALS, account_id="42")
    sent = next(r for r in fake.seen if r.url.path == "/2/media/metadata")
    assert json.loads(sent.content)["metadata"]["alt_text"]["text"] == "a" * 1000


def test_x_reuses_media_ids_only_for_the_same_image_and_alt_text(tmp_path: Path) -> None:
    payload = Payload(channel="x", text=TEXT, media=[image(tmp_path)])
    same = {"media_ids": ["7"], "media_for": [[IMAGE_URL, ALT]]}
    fake = FakeX()
    make_adapter(fake).publish(payload, CREDENTIALS, account_id="42", state=same)
    assert [r.url.path for r in fake.seen] == ["/2/tweets"]
    assert json.loads(fake.seen[0].content)["media"] == {"media_ids": ["7"]}
    # The article was corrected and its image changed since: the old ids show the old image.
    other = {"media_ids": ["7"], "media_for": [["https://media.example.pk/old.jpg", ALT]]}
    fake = FakeX()
    make_adapter(fake).publish(payload, CREDENTIALS, account_id="42", state=other)
    assert json.loads(fake.seen[-1].content)["media"] == {"media_ids": [MEDIA_ID]}


def test_x_render_attaches_media_which_counts_no_characters(
    x: XAdapter, article: ArticleContent, tmp_path: Path
) -> None:
    item = image(tmp_path)
    bare = x.render(article, ChannelSettings())
    with_image = x.render(article, ChannelSettings(attach_image=True), media=item)
    assert with_image.media == [item] and with_image.text == bare.text
    assert with_image.weighted_length == bare.weighted_length == x_weighted_length(bare.text)


def test_x_include_link_false_posts_no_url(x: XAdapter, article: ArticleContent) -> None:
    linked = x.render(article, ChannelSettings())
    bare = x.render(article, ChannelSettings(include_link=False))
    assert linked.link and linked.link in linked.text
    assert bare.link is None and "http" not in bare.text and bare.problems == []
    assert bare.text.startswith(article.title)
    # A template naming {link} still gets no URL, and no "link was added" warning.
    templated = x.render(article, ChannelSettings(include_link=False, template="{title} {link}"))
    assert templated.text == article.title and templated.warnings == []


def test_x_reconcile_finds_a_post_whose_listing_ends_with_the_media_link() -> None:
    # X shows a post with media with one more t.co link, to the photo; its entity has the
    # media_key.  The short text is below the URL-free fallback's floor, so only stripping the
    # media link finds it.
    for sent in ("Dar meets Fidan in Istanbul for Gaza talks #Pakistan", "Dar in Turkey"):
        short = "https://t.co/AbCdEf1234"
        media_link = {
            "start": len(sent) + 1,
            "end": len(sent) + 1 + len(short),
            "url": short,
            "expanded_url": "https://x.com/desk/status/1900/photo/1",
            "display_url": "pic.x.com/AbCdEf1234",
            "media_key": f"3_{MEDIA_ID}",
        }
        item = {"id": "1900", "text": f"{sent} {short}", "entities": {"urls": [media_link]}}
        body = {"data": [item], "meta": {"result_count": 1}}
        adapter = make_adapter(lambda _r, b=body: httpx.Response(200, json=b))  # type: ignore[misc]
        found = adapter.reconcile(Payload(channel="x", text=sent), CREDENTIALS, account_id="42")
        assert found.published is True and found.external_id == "1900", sent


def test_the_media_link_is_left_out_by_its_media_key_or_its_photo_address() -> None:
    photo = "https://x.com/desk/status/1900/photo/1"
    keyed = {"url": "https://t.co/a", "expanded_url": photo, "media_key": "3_1"}
    unkeyed = {"url": "https://t.co/a", "expanded_url": photo}
    article = {"url": "https://t.co/b", "expanded_url": "https://example.pk/news/1"}
    for media in (keyed, unkeyed):
        text = expand_x_urls("Dar https://t.co/b https://t.co/a", {"urls": [article, media]})
        assert text.split() == ["Dar", "https://example.pk/news/1"]
    # A link to someone else's post is kept: only a /photo/ or /video/ address is media.
    quoted = {"url": "https://t.co/a", "expanded_url": "https://x.com/desk/status/1900"}
    assert expand_x_urls("See https://t.co/a", {"urls": [quoted]}) == (
        "See https://x.com/desk/status/1900"
    )


# --- Facebook photo posts -------------------------------------------------------------------------
CAPTION = "Dar and Fidan discussed Gaza in Istanbul.\n\nhttps://example.pk/news/dar?utm_source=fb"


def test_fb_photo_post_sends_url_and_caption_to_photos_and_keeps_the_post_id(
    tmp_path: Path,
) -> None:
    seen: list[httpx.Request] = []
    adapter = make_fb(
        lambda r: httpx.Response(200, json={"id": "5550001", "post_id": POST_ID}), seen
    )
    payload = Payload(channel="facebook", text=CAPTION, link=None, media=[image(tmp_path)])
    result = adapter.publish(payload, {"access_token": "tok-123"}, account_id=PAGE)
    assert [(r.method, r.url.path) for r in seen] == [("POST", f"/v26.0/{PAGE}/photos")]
    form = parse_qs(seen[0].content.decode())
    assert form["url"] == [IMAGE_URL] and form["caption"] == [CAPTION]
    assert form["published"] == ["true"] and "message" not in form and "link" not in form
    assert result.external_id == POST_ID
    assert result.external_url == f"https://www.facebook.com/{POST_ID}"


def test_fb_photo_answer_without_post_id_is_an_unknown_outcome(tmp_path: Path) -> None:
    adapter = make_fb(lambda r: httpx.Response(200, json={"id": "5550001"}))
    payload = Payload(channel="facebook", text=CAPTION, media=[image(tmp_path)])
    with pytest.raises(UnknownOutcomeError):
        adapter.publish(payload, {"access_token": "tok-123"}, account_id=PAGE)


def test_fb_photo_render_puts_the_link_in_the_caption(
    fb: FacebookAdapter, article: ArticleContent, tmp_path: Path
) -> None:
    facebook = fb
    item = image(tmp_path)
    link_post = facebook.render(article, ChannelSettings())
    photo = facebook.render(article, ChannelSettings(post_type="photo"), media=item)
    assert link_post.media == [] and link_post.link not in link_post.text  # type: ignore[operator]
    assert photo.media == [item] and photo.problems == []
    assert photo.link is not None and photo.text.endswith(photo.link)
    assert photo.text.startswith(link_post.text)
