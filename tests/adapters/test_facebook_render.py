"""FacebookAdapter.render / validate: link posts with UTM, the message limit."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from adapters.base import ArticleContent, ChannelSettings, Payload
from adapters.facebook import FacebookAdapter
from tests.adapters.conftest import with_


def test_facebook_render_fixture_is_a_link_post_with_facebook_utm(
    fb: FacebookAdapter, article: ArticleContent
) -> None:
    payload = fb.render(article, ChannelSettings(utm_campaign="nov"))
    assert payload.problems == []
    assert payload.text == article.summary
    assert payload.link is not None and payload.link.startswith(article.url + "?")
    assert parse_qs(urlsplit(payload.link).query) == {
        "utm_source": ["facebook"],
        "utm_medium": ["social"],
        "utm_campaign": ["nov"],
    }


def test_facebook_render_uses_title_when_there_is_no_summary(
    fb: FacebookAdapter, article: ArticleContent
) -> None:
    payload = fb.render(with_(article, summary=""), ChannelSettings())
    assert payload.text == article.title


def test_facebook_render_template_fields(fb: FacebookAdapter, article: ArticleContent) -> None:
    settings = ChannelSettings(
        template="{title}\r\n\r\n{summary}\n{hashtags}\n{link}", max_hashtags=2
    )
    payload = fb.render(article, settings)
    assert payload.text.split("\n") == [
        article.title,
        "",
        article.summary,
        "#Pakistan #IshaqDar",
        payload.link,
    ]


def test_facebook_render_cuts_an_oversized_message_safely(
    fb: FacebookAdapter, article: ArticleContent
) -> None:
    summary = ("\U0001f1f5\U0001f1f0 " + "word " * 20) * 3000
    payload = fb.render(with_(article, summary=summary), ChannelSettings())
    assert len(payload.text) <= 63_206 and payload.text.endswith("\u2026")
    assert payload.problems == []


def test_facebook_render_blank_title_and_bad_template_are_problems(
    fb: FacebookAdapter, article: ArticleContent
) -> None:
    payload = fb.render(with_(article, title=""), ChannelSettings(template="{title} {oops}"))
    assert any("{oops}" in p for p in payload.problems)
    assert any("no title" in p for p in payload.problems)


def test_facebook_validate_message_limit(fb: FacebookAdapter) -> None:
    problems = fb.validate(Payload(channel="facebook", text="a" * 63_300), ChannelSettings())
    assert problems == [
        "The message is 63,300 characters; Facebook allows 63,206. Shorten it by 94."
    ]
    assert fb.validate(Payload(channel="facebook", text="", link=None), ChannelSettings())
