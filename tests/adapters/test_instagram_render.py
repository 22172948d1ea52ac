"""InstagramAdapter.render / validate: caption caps, no URLs, link-in-bio, image required."""

from __future__ import annotations

import re

from adapters.base import ArticleContent, ChannelSettings, MediaItem, Payload
from adapters.instagram import InstagramAdapter
from tests.adapters.conftest import with_

MEDIA = MediaItem(
    url="https://media.example/abc.jpg", path="/srv/media/abc.jpg", width=1080, height=1350
)
HASHTAG = re.compile(r"(?<!\w)#(?=\w)")
MENTION = re.compile(r"(?<!\w)@(?=\w)")


def test_instagram_render_fixture_caption_layout(
    ig: InstagramAdapter, article: ArticleContent
) -> None:
    payload = ig.render(
        article, ChannelSettings(link_in_bio="Read more: link in bio."), media=MEDIA
    )
    assert payload.problems == []
    assert payload.link is None
    assert payload.media == [MEDIA]
    parts = payload.text.split("\n\n")
    assert parts[0] == article.title
    assert parts[1] == article.summary
    assert parts[2] == "Read more: link in bio."
    assert parts[3].split() == [
        "#Pakistan",
        "#IshaqDar",
        "#Gaza",
        "#Ceasefire",
        "#OIC",
        "#Turkey",
        "#Istanbul",
    ]
    assert "://" not in payload.text and "southasiandesk.example" not in payload.text


def test_instagram_render_without_media_is_a_problem(
    ig: InstagramAdapter, article: ArticleContent
) -> None:
    payload = ig.render(article, ChannelSettings())
    assert [p for p in payload.problems if p.startswith("Instagram needs an image")]


def test_instagram_render_strips_urls_from_title_and_summary_and_warns(
    ig: InstagramAdapter, article: ArticleContent
) -> None:
    art = with_(
        article,
        title="Talks live at https://live.example.com/gaza now",
        summary="Details: www.example.org/x and HTTP://EXAMPLE.COM/Y.",
    )
    payload = ig.render(art, ChannelSettings(), media=MEDIA)
    assert "://" not in payload.text and "www." not in payload.text
    assert payload.text.startswith("Talks live at now")
    assert any("web address" in w for w in payload.warnings)
    assert payload.problems == []


def test_instagram_render_caps_hashtags_at_30_counting_those_in_text(
    ig: InstagramAdapter, article: ArticleContent
) -> None:
    summary = " ".join(f"#inline{i}" for i in range(25))
    tags = tuple(f"Tag {i}x" for i in range(40))
    payload = ig.render(with_(article, summary=summary, tags=tags), ChannelSettings(), media=MEDIA)
    assert len(HASHTAG.findall(payload.text)) == 30
    assert "#Tag4x" in payload.text and "#Tag5x" not in payload.text
    assert payload.problems == []


def test_instagram_render_strips_at_sign_from_mentions_beyond_20(
    ig: InstagramAdapter, article: ArticleContent
) -> None:
    summary = " ".join(f"@user{i}" for i in range(25))
    payload = ig.render(with_(article, summary=summary), ChannelSettings(), media=MEDIA)
    assert len(MENTION.findall(payload.text)) == 20
    assert "@user19" in payload.text and "@user20" not in payload.text and "user24" in payload.text
    assert any("@mentions" in w for w in payload.warnings)


def test_instagram_render_long_summary_cut_to_2200(
    ig: InstagramAdapter, article: ArticleContent
) -> None:
    payload = ig.render(
        with_(article, summary="lorem ipsum " * 400), ChannelSettings(), media=MEDIA
    )
    assert len(payload.text) <= 2200
    assert "ipsum\u2026" in payload.text or "lorem\u2026" in payload.text
    assert payload.text.endswith("#Istanbul")  # hashtags survive; the summary gave way
    assert payload.problems == []


def test_instagram_render_link_field_in_template_stays_empty(
    ig: InstagramAdapter, article: ArticleContent
) -> None:
    payload = ig.render(article, ChannelSettings(template="{title} {link}"), media=MEDIA)
    assert payload.text == article.title
    assert any("{link}" in w for w in payload.warnings)


def test_instagram_validate_reports_each_rule(ig: InstagramAdapter) -> None:
    text = "x" * 2300 + " " + " ".join(f"#t{i}" for i in range(31)) + " https://a.example/b"
    problems = ig.validate(Payload(channel="instagram", text=text), ChannelSettings())
    assert any(p.startswith("The caption is 2,") and "2,200" in p for p in problems)
    assert "The caption has 31 hashtags; Instagram allows 30. Remove 1." in problems
    assert any("web address (https://a.example/b)" in p for p in problems)
    assert any(p.startswith("Instagram needs an image") for p in problems)
    ok = Payload(channel="instagram", text="Fine caption", media=[MEDIA])
    assert ig.validate(ok, ChannelSettings()) == []
