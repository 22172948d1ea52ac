"""Property tests: render never raises and always honours the platforms' hard limits,
whatever Unicode an article carries (Urdu, Devanagari, CJK, emoji ZWJ sequences, flags,
RTL marks, 500-character words, CRLF)."""

from __future__ import annotations

import re

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twitter_text import parse_tweet

from adapters.base import ArticleContent, ChannelSettings, MediaItem
from adapters.facebook import FacebookAdapter
from adapters.instagram import InstagramAdapter
from adapters.x import XAdapter

URL = "https://southasiandesk.example.com/2025/11/03/dar-istanbul?id=9"
MEDIA = MediaItem(url="https://media.example/a.jpg", path="/srv/a.jpg", width=1080, height=1350)
CLIENT = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(599)))
X = XAdapter(client=CLIENT, base_url="http://sandbox.invalid")
IG = InstagramAdapter(client=CLIENT, base_url="http://sandbox.invalid", api_version="v26.0")
FB = FacebookAdapter(client=CLIENT, base_url="http://sandbox.invalid", api_version="v26.0")

URDU = st.text(st.characters(min_codepoint=0x0600, max_codepoint=0x06FF), min_size=1)
DEVANAGARI = st.text(st.characters(min_codepoint=0x0900, max_codepoint=0x097F), min_size=1)
CJK = st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), min_size=1)
EMOJI = st.sampled_from(
    [
        "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466",  # family (ZWJ)
        "\U0001f9d1\u200d\U0001f384",  # newer ZWJ sequence (counted 5 by twitter-text)
        "\u2764\ufe0f\u200d\U0001f525",
        "\U0001f1f5\U0001f1f0",  # flag PK
        "\U0001f1ee\U0001f1f3",  # flag IN
        "\U0001f64b\U0001f3fd",  # skin tone
        "1\ufe0f\u20e3",  # keycap
        "\U0001f637",
    ]
)
MARKS = st.sampled_from(["\u200f", "\u202b", "\u202c", "\u200e", "\r\n", "\r", "\n", "\u0301"])
LONG_WORD = st.integers(300, 600).map(lambda n: "x" * n)
NASTY = st.sampled_from(
    ["#", "@", "##tag", "@@who", "http://a.co/x", "www.a.com", "a.com", "{", "}", "\ufeff", " "]
)
PIECE = st.one_of(st.text(max_size=40), URDU, DEVANAGARI, CJK, EMOJI, MARKS, LONG_WORD, NASTY)
TEXT = st.lists(PIECE, max_size=30).map(" ".join) | st.lists(PIECE, max_size=8).map("".join)
TAGS = st.lists(st.one_of(st.text(max_size=30), URDU, DEVANAGARI, EMOJI, NASTY), max_size=40)
CHANNEL = st.builds(
    ChannelSettings,
    hashtags=st.lists(st.one_of(st.text(max_size=20), URDU), max_size=5),
    max_hashtags=st.none() | st.integers(0, 30),
    utm_campaign=st.text(min_size=1, max_size=30),
    link_in_bio=st.text(max_size=60),
)
PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
URL_LIKE = re.compile(r"://|(?<!\S)www\.", re.IGNORECASE)


def _article(title: str, summary: str, tags: list[str]) -> ArticleContent:
    return ArticleContent(
        source="s", external_id="e", url=URL, title=title, summary=summary, tags=tuple(tags)
    )


@PROPERTY
@given(title=TEXT, summary=TEXT, tags=TAGS, channel=CHANNEL)
def test_x_render_always_fits_280_with_the_utm_link_whole(
    title: str, summary: str, tags: list[str], channel: ChannelSettings
) -> None:
    payload = X.render(_article(title, summary, tags), channel)
    assert parse_tweet(payload.text).weightedLength <= 280
    assert payload.link is not None and payload.link.startswith(URL + "&utm_source=x")
    assert payload.link in payload.text
    assert "\r" not in payload.text
    assert payload.fingerprint  # the text is encodable (no lone surrogates)
    assert X.validate(payload, channel) == []


@PROPERTY
@given(title=TEXT, summary=TEXT, tags=TAGS, channel=CHANNEL)
def test_instagram_render_always_within_caps_and_without_urls(
    title: str, summary: str, tags: list[str], channel: ChannelSettings
) -> None:
    payload = IG.render(_article(title, summary * 20, tags), channel, media=MEDIA)
    assert len(payload.text) <= 2200
    assert len(re.findall(r"(?<!\w)#(?=\w)", payload.text)) <= 30
    assert len(re.findall(r"(?<!\w)@(?=\w)", payload.text)) <= 20
    assert not URL_LIKE.search(payload.text)
    assert payload.link is None
    assert IG.validate(payload, channel) == []


@PROPERTY
@given(title=TEXT, summary=TEXT, tags=TAGS, channel=CHANNEL, template=st.text(max_size=40))
def test_render_never_raises_on_any_template_or_text(
    title: str, summary: str, tags: list[str], channel: ChannelSettings, template: str
) -> None:
    channel = channel.model_copy(update={"template": template})
    article = _article(title, summary, tags)
    for adapter in (X, IG, FB):
        payload = adapter.render(article, channel, media=MEDIA)
        assert isinstance(payload.problems, list)
        assert adapter.render(article, channel, media=MEDIA).as_dict() == payload.as_dict()
    assert FB.render(article, channel).link.startswith(URL + "&utm_source=facebook")
