"""Articles with hundreds of tags: each platform gets the most relevant ones within its limits.

"Most relevant" (adapters/text.py ``build_hashtags``): the channel's hashtags, then the article's
tags in the CMS's order, without duplicates, digit-only, one-character or over-40 tags.
"""

from __future__ import annotations

import re
from dataclasses import replace

from adapters.base import ArticleContent, ChannelSettings, MediaItem
from adapters.facebook import FacebookAdapter
from adapters.instagram import InstagramAdapter
from adapters.text import build_hashtags
from adapters.x import XAdapter, x_weighted_length

MEDIA = MediaItem(url="https://media.example/a.jpg", path="/srv/a.jpg", width=1080, height=1350)
HASHTAG = re.compile(r"(?<!\w)#\w+")
# A CMS-shaped list: the important tags first, then noise, then a long tail.
CMS_TAGS = (
    "Pakistan",
    "pakistan",
    "Ishaq Dar",
    "2025",
    "X",
    "a tag that is really a whole sentence about the talks in Istanbul",
    "Gaza",
    *(f"Topic {n}" for n in range(1, 117)),
)
RELEVANT = ["#Pakistan", "#IshaqDar", "#Gaza", *(f"#Topic{n}" for n in range(1, 117))]


def _many(article: ArticleContent) -> ArticleContent:
    return replace(article, tags=CMS_TAGS)


def test_relevance_is_cms_order_without_duplicates_or_noise() -> None:
    assert build_hashtags(CMS_TAGS, ["#Desk"]) == ["#Desk", *RELEVANT[:29]]
    assert build_hashtags(CMS_TAGS, [], limit=5) == RELEVANT[:5]


def test_instagram_caption_keeps_the_30_most_relevant_hashtags(
    ig: InstagramAdapter, article: ArticleContent
) -> None:
    payload = ig.render(_many(article), ChannelSettings(), media=MEDIA)
    assert payload.problems == []
    assert HASHTAG.findall(payload.text) == RELEVANT[:30]
    capped = ig.render(_many(article), ChannelSettings(max_hashtags=4), media=MEDIA)
    assert HASHTAG.findall(capped.text) == RELEVANT[:4]


def test_x_keeps_the_most_relevant_hashtags_that_fit_the_weighted_length(
    x: XAdapter, article: ArticleContent
) -> None:
    payload = x.render(replace(_many(article), title="Dar in Istanbul"), ChannelSettings())
    assert payload.problems == []
    assert x_weighted_length(payload.text) <= 280
    tags = HASHTAG.findall(payload.text)
    assert 5 < len(tags) < 30 and tags == RELEVANT[: len(tags)]


def test_facebook_never_gets_more_than_30_hashtags(
    fb: FacebookAdapter, article: ArticleContent
) -> None:
    # The default Facebook template has no hashtags; a newsroom's own template may.
    payload = fb.render(_many(article), ChannelSettings(template="{summary}\n\n{hashtags}"))
    assert payload.problems == []
    assert HASHTAG.findall(payload.text) == RELEVANT[:30]
