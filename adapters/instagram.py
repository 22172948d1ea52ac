"""Instagram adapter: Graph API content publishing (container, status, media_publish)."""

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
    HASHTAG_MARK,
    MENTION_MARK,
    URL_TOKEN,
    article_fields,
    build_hashtags,
    cap_marks,
    count_marks,
    drop_hashtags_to_fit,
    fill_template,
    resolve_template,
    shorten_fields,
    strip_urls,
    template_fields,
    tidy_layout,
    truncate_to_fit,
)

# IG User Media `caption` (PLATFORMS.md section 3.3): at most 2,200 characters, 30 hashtags and
# 20 @-tags.  We count characters as Python code points after NFC: what we send, and never fewer
# than the user-perceived characters (an emoji ZWJ sequence counts as several).
IG_CAPTION_LIMIT = 2200
IG_HASHTAG_LIMIT = 30
IG_MENTION_LIMIT = 20
DEFAULT_IG_TEMPLATE = "{title}\n\n{summary}\n\n{link_in_bio}\n\n{hashtags}"
IG_SHORTEN_ORDER = ("summary", "title", "section", "author", "link_in_bio")
IMAGE_REQUIRED = (
    "Instagram needs an image, and none is attached to this post; add an article image or "
    "re-render the post to generate a headline card."
)


def _finish_caption(text: str) -> tuple[str, dict[str, int]]:
    """Tidy, then enforce "no links, 30 hashtags, 20 mentions"; counts what was removed."""
    text, urls = strip_urls(tidy_layout(text))
    text, mentions = cap_marks(tidy_layout(text), MENTION_MARK, IG_MENTION_LIMIT)
    text, hashtags = cap_marks(text, HASHTAG_MARK, IG_HASHTAG_LIMIT)
    text = unicodedata.normalize("NFC", text)
    return text, {"urls": len(urls), "mentions": mentions, "hashtags": hashtags}


def instagram_caption_problems(text: str, media: list[MediaItem]) -> list[str]:
    """Instagram's caption and image rules, as sentences for an editor."""
    problems = []
    length = len(unicodedata.normalize("NFC", text))
    if length > IG_CAPTION_LIMIT:
        problems.append(
            f"The caption is {length:,} characters; Instagram allows {IG_CAPTION_LIMIT:,}. "
            f"Shorten it by {length - IG_CAPTION_LIMIT:,}."
        )
    for mark, limit, what in (
        (HASHTAG_MARK, IG_HASHTAG_LIMIT, "hashtags"),
        (MENTION_MARK, IG_MENTION_LIMIT, "@mentions"),
    ):
        count = count_marks(text, mark)
        if count > limit:
            problems.append(
                f"The caption has {count} {what}; Instagram allows {limit}. Remove {count - limit}."
            )
    urls = URL_TOKEN.findall(text)
    if urls:
        problems.append(
            f"The caption contains a web address ({urls[0]}); Instagram does not make links "
            "clickable, so remove it and rely on the link-in-bio line."
        )
    if not media:
        problems.append(IMAGE_REQUIRED)
    return problems


def render_instagram(
    article: ArticleContent, settings: ChannelSettings, media: MediaItem | None
) -> Payload:
    """Title, summary, link-in-bio line and hashtags within Instagram's caps (no URL)."""
    template, problems = resolve_template(settings.template, DEFAULT_IG_TEMPLATE)
    warnings: list[str] = []
    used = template_fields(template)
    if "link" in used:
        warnings.append("Instagram captions cannot carry links, so {link} was left empty.")
    fields = article_fields(article, settings)
    if not fields["title"]:
        problems.append("The article has no title; add one before this post can go out.")
    # Hashtags already in the title or summary count towards the 30.
    body, _ = _finish_caption(fill_template(template, fields))
    room = max(0, IG_HASHTAG_LIMIT - count_marks(body, HASHTAG_MARK))
    limit = room if settings.max_hashtags is None else min(room, settings.max_hashtags)
    tags = build_hashtags(
        article.tags,
        settings.hashtags,
        use_tags=settings.tags_as_hashtags,
        already_in=f"{fields['title']} {fields['summary']}",
    )
    if len(tags) > limit:
        if settings.max_hashtags is None or room < settings.max_hashtags:
            warnings.append(
                f"Left out {len(tags) - limit} hashtags: Instagram allows {IG_HASHTAG_LIMIT} "
                "per caption, counting those in the text."
            )
        tags = tags[:limit]
    fields["hashtags"] = " ".join(tags)

    def build(values: dict[str, str]) -> str:
        return _finish_caption(fill_template(template, values))[0]

    def fits(text: str) -> bool:
        return len(text) <= IG_CAPTION_LIMIT

    order = [name for name in IG_SHORTEN_ORDER if name in used]
    changed = shorten_fields(fields, order[:1], build, fits)
    dropped = drop_hashtags_to_fit(fields, tags, build, fits)
    changed += shorten_fields(fields, order[1:], build, fits)
    text, removed = _finish_caption(fill_template(template, fields))
    if not fits(text):  # only a template with very long literal text gets here
        text = truncate_to_fit(text, fits)
        changed.append("caption")
    warnings += [
        f"The {n.replace('_', ' ')} was shortened to fit Instagram's limit." for n in changed
    ]
    if dropped:
        warnings.append(f"Left out {' '.join(dropped)} to fit Instagram's 2,200-character limit.")
    if removed["urls"]:
        warnings.append(
            f"Removed {removed['urls']} web address(es) from the caption: Instagram does not make "
            "links clickable, so the link-in-bio line points readers to the article."
        )
    if removed["mentions"]:
        warnings.append(
            f"Instagram allows {IG_MENTION_LIMIT} @mentions; the @ was removed from "
            f"{removed['mentions']} more."
        )
    if removed["hashtags"]:
        warnings.append(
            f"Instagram allows {IG_HASHTAG_LIMIT} hashtags; the # was removed from "
            f"{removed['hashtags']} more."
        )
    media_list = [media] if media else []
    problems += instagram_caption_problems(text, media_list)
    return Payload(
        channel="instagram",
        text=text,
        link=None,
        media=media_list,
        problems=problems,
        warnings=warnings,
    )


class InstagramAdapter:
    """Renders and delivers posts to an Instagram professional account."""

    platform = "instagram"
    needs_image = True

    def __init__(
        self,
        *,
        client: httpx.Client,
        base_url: str,
        api_version: str,
        poll_interval: float = 1.0,
        poll_attempts: int = 10,
    ) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.api_version = api_version
        self.poll_interval = poll_interval
        self.poll_attempts = poll_attempts

    # --- rendering (pure) -------------------------------------------------------------------
    def render(
        self, article: ArticleContent, settings: ChannelSettings, *, media: MediaItem | None = None
    ) -> Payload:
        """Pure: a caption within Instagram's caps, no URL (link-in-bio line), ``media`` attached.

        ``media`` comes from :func:`adapters.images.prepare_instagram_image`; without it the
        payload carries a problem, since Instagram cannot post text alone.
        """
        return render_instagram(article, settings, media)

    def validate(self, payload: Payload, settings: ChannelSettings) -> list[str]:
        """Re-check an (edited) caption and the image against Instagram's rules."""
        return instagram_caption_problems(payload.text, payload.media)

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
