"""Facebook Page adapter: Graph API ``POST /{page-id}/feed`` link posts."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Any

import httpx

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
    fill_template,
    resolve_template,
    shorten_fields,
    template_fields,
    tidy_layout,
    truncate_to_fit,
    with_utm,
)

# Commonly cited Page post limit (PLATFORMS.md section 4.3; not in Meta's docs).
FB_MESSAGE_LIMIT = 63_206
# A link post: Facebook draws the article card from the link, so the message is the summary.
DEFAULT_FB_TEMPLATE = "{summary}"
FB_FALLBACK_TEMPLATE = "{title}"  # when the article has no summary
FB_SHORTEN_ORDER = ("summary", "title", "section", "author", "link_in_bio")


def facebook_message_problems(text: str, link: str | None) -> list[str]:
    """Facebook's rules for a Page post's message, as sentences for an editor."""
    problems = []
    length = len(unicodedata.normalize("NFC", text))
    if length > FB_MESSAGE_LIMIT:
        problems.append(
            f"The message is {length:,} characters; Facebook allows {FB_MESSAGE_LIMIT:,}. "
            f"Shorten it by {length - FB_MESSAGE_LIMIT:,}."
        )
    if not text.strip() and not link:
        problems.append("The post has neither a message nor a link; Facebook needs one of them.")
    return problems


def render_facebook(
    article: ArticleContent, settings: ChannelSettings, media: MediaItem | None
) -> Payload:
    """A link post: the summary (or template) as the message, the UTM link beside it."""
    fields = article_fields(article, settings)
    default = DEFAULT_FB_TEMPLATE if fields["summary"] else FB_FALLBACK_TEMPLATE
    template, problems = resolve_template(settings.template, default)
    warnings: list[str] = []
    if not fields["title"]:
        problems.append("The article has no title; add one before this post can go out.")
    link = with_utm(article.url, source="facebook", campaign=settings.utm_campaign)
    if link is None:
        problems.append(f"The article link {article.url!r} is not a web address to share.")
    fields["link"] = link or ""
    fields["hashtags"] = " ".join(
        build_hashtags(
            article.tags,
            settings.hashtags,
            use_tags=settings.tags_as_hashtags,
            limit=settings.max_hashtags,
            already_in=fields["title"],
        )
    )

    def build(values: dict[str, str]) -> str:
        return unicodedata.normalize("NFC", tidy_layout(fill_template(template, values)))

    def fits(text: str) -> bool:
        return len(text) <= FB_MESSAGE_LIMIT

    used = template_fields(template)
    changed = shorten_fields(fields, [n for n in FB_SHORTEN_ORDER if n in used], build, fits)
    text = build(fields)
    if not fits(text):  # only a template with very long literal text gets here
        text = truncate_to_fit(text, fits)
        changed.append("message")
    warnings += [
        f"The {n.replace('_', ' ')} was shortened to fit Facebook's limit." for n in changed
    ]
    problems += facebook_message_problems(text, link)
    return Payload(
        channel="facebook",
        text=text,
        link=link,
        media=[media] if media else [],
        problems=problems,
        warnings=warnings,
    )


class FacebookAdapter:
    """Renders and delivers posts to a Facebook Page."""

    platform = "facebook"
    needs_image = False

    def __init__(self, *, client: httpx.Client, base_url: str, api_version: str) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.api_version = api_version

    # --- rendering (pure) -------------------------------------------------------------------
    def render(
        self, article: ArticleContent, settings: ChannelSettings, *, media: MediaItem | None = None
    ) -> Payload:
        """Pure: a link post, the message within Facebook's limit and the link with UTM."""
        return render_facebook(article, settings, media)

    def validate(self, payload: Payload, settings: ChannelSettings) -> list[str]:
        """Re-check an (edited) message against Facebook's rules."""
        return facebook_message_problems(payload.text, payload.link)

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
