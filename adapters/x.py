"""X (Twitter) adapter: X API v2 ``POST /2/tweets``; twitter-text v3 weighted length."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Any

import httpx
from twitter_text import parse_tweet

from adapters.base import (
    ArticleContent,
    ChannelSettings,
    MediaItem,
    Payload,
    ProgressCallback,
    PublishResult,
    ReconcileResult,
)
from adapters.text import (
    article_fields,
    build_hashtags,
    clean_text,
    drop_hashtags_to_fit,
    fill_template,
    resolve_template,
    shorten_fields,
    template_fields,
    tidy_layout,
    with_utm,
)

# twitter-text config v3 (PLATFORMS.md section 2): URLs count 23, CJK and emoji 2, limit 280.
X_MAX_WEIGHTED_LENGTH = 280
DEFAULT_X_TEMPLATE = "{title}\n\n{link} {hashtags}"
# What gives way first when a post is too long: hashtags (dropped whole), then these fields.
X_SHORTEN_ORDER = ("summary", "title", "section", "author", "link_in_bio")
_X_INVALID = ("\ufeff", "\ufffe", "\uffff")  # twitter-text refuses the whole post for these


def x_weighted_length(text: str) -> int:
    """The post's length as X counts it (twitter-text v3, after NFC and newline folding)."""
    return int(parse_tweet(clean_text(text)).weightedLength)


def x_text_problems(text: str) -> list[str]:
    """X's rules for a post's text, as sentences for an editor."""
    if not text.strip():
        return ["The post is empty; X needs some text."]
    problems = []
    length = x_weighted_length(text)
    if length > X_MAX_WEIGHTED_LENGTH:
        problems.append(
            f"The post is {length} characters by X's count; the limit is "
            f"{X_MAX_WEIGHTED_LENGTH}. Shorten it by {length - X_MAX_WEIGHTED_LENGTH}."
        )
    if any(ch in text for ch in _X_INVALID):
        problems.append("The post contains an invisible character X refuses (U+FEFF or U+FFFE).")
    return problems


def render_x(
    article: ArticleContent, settings: ChannelSettings, media: MediaItem | None
) -> Payload:
    """Title, UTM link and hashtags within 280 weighted characters (see XAdapter.render)."""
    template, problems = resolve_template(settings.template, DEFAULT_X_TEMPLATE)
    warnings: list[str] = []
    if "link" not in template_fields(template):
        template += "\n\n{link}"
        warnings.append("The template has no {link}, so the article link was added at the end.")
    fields = article_fields(article, settings)
    fields["summary"] = " ".join(fields["summary"].split())
    if not fields["title"]:
        problems.append("The article has no title; add one before this post can go out.")
    link = with_utm(article.url, source="x", campaign=settings.utm_campaign)
    if link is None:
        problems.append(f"The article link {article.url!r} is not a web address X can link to.")
    fields["link"] = link or ""
    tags = build_hashtags(
        article.tags,
        settings.hashtags,
        use_tags=settings.tags_as_hashtags,
        limit=settings.max_hashtags,
        already_in=fields["title"],
    )
    fields["hashtags"] = " ".join(tags)

    def build(values: dict[str, str]) -> str:
        return tidy_layout(fill_template(template, values))

    def fits(text: str) -> bool:
        return x_weighted_length(text) <= X_MAX_WEIGHTED_LENGTH

    dropped = drop_hashtags_to_fit(fields, tags, build, fits)
    if dropped:
        warnings.append(f"Left out {' '.join(dropped)} to fit X's 280-character limit.")
    used = template_fields(template)
    order = [name for name in X_SHORTEN_ORDER if name in used]
    for name in shorten_fields(fields, order, build, fits):
        warnings.append(f"The {name.replace('_', ' ')} was shortened to fit X's limit.")
    text = unicodedata.normalize("NFC", build(fields))
    payload = Payload(
        channel="x",
        text=text,
        link=link,
        media=[media] if media else [],
        problems=problems,
        warnings=warnings,
        weighted_length=x_weighted_length(text),
    )
    payload.problems += x_text_problems(text)
    return payload


class XAdapter:
    """Renders and delivers posts to an X account."""

    platform = "x"
    needs_image = False

    def __init__(self, *, client: httpx.Client, base_url: str) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")

    # --- rendering (pure) -------------------------------------------------------------------
    def render(
        self, article: ArticleContent, settings: ChannelSettings, *, media: MediaItem | None = None
    ) -> Payload:
        """Pure: the post text within X's 280 weighted characters, the UTM link whole in it.

        Too long?  Hashtags are dropped first (whole, from the last), then the title is cut at a
        word boundary with "…" -- never inside the link, a hashtag or a grapheme cluster.
        """
        return render_x(article, settings, media)

    def validate(self, payload: Payload, settings: ChannelSettings) -> list[str]:
        """Re-check an (edited) post's text against X's rules."""
        return x_text_problems(payload.text)

    # --- delivery (I/O) ---------------------------------------------------------------------
    def publish(
        self,
        payload: Payload,
        credentials: dict[str, str],
        *,
        account_id: str,
        state: dict[str, Any] | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> PublishResult:
        raise NotImplementedError

    def reconcile(
        self,
        payload: Payload,
        credentials: dict[str, str],
        *,
        account_id: str,
        state: dict[str, Any] | None = None,
        since: datetime | None = None,
    ) -> ReconcileResult:
        raise NotImplementedError
