"""XAdapter.render / validate: twitter-text v3 weighted length, UTM link, truncation order."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from twitter_text import parse_tweet

from adapters.base import ArticleContent, ChannelSettings, Payload
from adapters.x import XAdapter
from tests.adapters.conftest import with_

SHORT_URL = "https://news.example.com/a?id=7"
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # ZWJ family
FLAG_PK = "\U0001f1f5\U0001f1f0"


def _short(article: ArticleContent, **changes: object) -> ArticleContent:
    return with_(article, url=SHORT_URL, **changes)


def test_x_render_fixture_article_fits_280_with_utm_link_whole(
    x: XAdapter, article: ArticleContent
) -> None:
    payload = x.render(article, ChannelSettings(utm_campaign="gaza talks"))
    assert payload.problems == []
    assert parse_tweet(payload.text).weightedLength <= 280
    assert payload.weighted_length == parse_tweet(payload.text).weightedLength
    assert payload.link is not None and payload.link in payload.text
    query = parse_qs(urlsplit(payload.link).query)
    assert query == {
        "utm_source": ["x"],
        "utm_medium": ["social"],
        "utm_campaign": ["gaza talks"],
    }
    assert payload.link.startswith(article.url)
    assert payload.text.startswith(article.title)
    assert "#IshaqDar" in payload.text


def test_x_render_keeps_existing_query_parameters_and_replaces_old_utm(
    x: XAdapter, article: ArticleContent
) -> None:
    url = "https://news.example.com/story?id=42&ref=home%20page&utm_source=rss#top"
    payload = x.render(with_(article, url=url), ChannelSettings())
    assert payload.link == (
        "https://news.example.com/story?id=42&ref=home%20page"
        "&utm_source=x&utm_medium=social&utm_campaign=newsrelay#top"
    )


def test_x_render_hashtags_from_tags_deduped_capped_channel_first(
    x: XAdapter, article: ArticleContent
) -> None:
    settings = ChannelSettings(hashtags=["#Breaking", "pakistan"], max_hashtags=3)
    payload = x.render(_short(article, tags=("Pakistan", "Ishaq Dar", "Gaza")), settings)
    assert payload.text.endswith("#Breaking #pakistan #IshaqDar")  # kept as the editor typed


def test_x_render_drops_hashtags_before_cutting_the_title(
    x: XAdapter, article: ArticleContent
) -> None:
    title = " ".join(["Ceasefire"] * 25)  # 249 characters: fits alone, not with the hashtags
    payload = x.render(_short(article, title=title, tags=("Pakistan", "Gaza")), ChannelSettings())
    assert title in payload.text
    assert "#" not in payload.text
    assert any("#Gaza" in w for w in payload.warnings)
    assert parse_tweet(payload.text).weightedLength <= 280


def test_x_render_truncates_title_at_word_boundary_with_ellipsis(
    x: XAdapter, article: ArticleContent
) -> None:
    title = " ".join(f"word{i}" for i in range(80))
    payload = x.render(_short(article, title=title, tags=()), ChannelSettings())
    first_line = payload.text.split("\n")[0]
    assert first_line.endswith("\u2026")
    kept = first_line[:-1]
    assert title.startswith(kept + " ")  # cut between two whole words
    assert SHORT_URL.split("?")[0] in payload.text and payload.link in payload.text
    assert 270 <= parse_tweet(payload.text).weightedLength <= 280
    assert any("title was shortened" in w for w in payload.warnings)


def test_x_render_cuts_a_500_character_word_at_a_grapheme_boundary(
    x: XAdapter, article: ArticleContent
) -> None:
    payload = x.render(_short(article, title="a" * 500, tags=()), ChannelSettings())
    first_line = payload.text.split("\n")[0]
    assert first_line.endswith("\u2026") and len(first_line) > 200
    assert parse_tweet(payload.text).weightedLength <= 280


def test_x_render_never_splits_emoji_zwj_sequences_or_flags(
    x: XAdapter, article: ArticleContent
) -> None:
    for unit in (FAMILY, FLAG_PK, "\u0915\u094d\u0937"):  # family, flag, Devanagari conjunct
        payload = x.render(_short(article, title=unit * 200, tags=()), ChannelSettings())
        head = payload.text.split("\n")[0]
        assert head.endswith("\u2026")
        body = head[:-1]
        assert body and body == unit * (len(body) // len(unit)), unit
        assert parse_tweet(payload.text).weightedLength <= 280


def test_x_render_never_cuts_inside_a_hashtag_or_url_in_the_title(
    x: XAdapter, article: ArticleContent
) -> None:
    title = "Talks " + "#" + "Z" * 400
    payload = x.render(_short(article, title=title, tags=()), ChannelSettings())
    assert payload.text.split("\n")[0] == "Talks\u2026"


def test_x_render_normalises_crlf_and_nfc(x: XAdapter, article: ArticleContent) -> None:
    payload = x.render(
        _short(article, title="Cafe\u0301\r\nnews\rtoday", tags=()), ChannelSettings()
    )
    assert "\r" not in payload.text
    assert payload.text.startswith("Caf\u00e9 news today")


def test_x_render_blank_title_is_a_problem_not_a_crash(
    x: XAdapter, article: ArticleContent
) -> None:
    payload = x.render(with_(article, title=" \n\t "), ChannelSettings())
    assert payload.problems == ["The article has no title; add one before this post can go out."]


def test_x_render_unknown_template_field_is_a_problem_naming_the_field(
    x: XAdapter, article: ArticleContent
) -> None:
    payload = x.render(article, ChannelSettings(template="{headline} {link}"))
    assert len(payload.problems) == 1 and "{headline}" in payload.problems[0]
    assert payload.link in payload.text  # still previews with the default template


def test_x_render_bad_template_syntax_is_a_problem(x: XAdapter, article: ArticleContent) -> None:
    for template in ("{title", "{title.__class__}", "{0}", "{title:{summary}}", "{title:d}"):
        payload = x.render(article, ChannelSettings(template=template))
        assert payload.problems and payload.problems[0].startswith("The template"), template


def test_x_render_custom_template_without_link_gets_the_link(
    x: XAdapter, article: ArticleContent
) -> None:
    payload = x.render(_short(article), ChannelSettings(template="{section}: {title}"))
    assert payload.text.startswith("South Asia: Pakistan FM")
    assert payload.link in payload.text
    assert payload.problems == []


def test_x_render_is_deterministic(x: XAdapter, article: ArticleContent) -> None:
    a = x.render(article, ChannelSettings()).as_dict()
    b = x.render(article, ChannelSettings()).as_dict()
    assert a == b


def test_x_validate_reports_weighted_length_and_overflow(x: XAdapter) -> None:
    text = "\u4e2d" * 156  # CJK counts 2 each: 312
    problems = x.validate(Payload(channel="x", text=text), ChannelSettings())
    assert problems == [
        "The post is 312 characters by X's count; the limit is 280. Shorten it by 32."
    ]
    assert x.validate(Payload(channel="x", text="fine"), ChannelSettings()) == []
    assert x.validate(Payload(channel="x", text="  "), ChannelSettings()) != []
