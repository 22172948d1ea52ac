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
    Platform,
    ProgressCallback,
    PublishResult,
    ReconcileResult,
)
from adapters.followups import find_comment, publish_comment
from adapters.graph import GraphCall, find_in_listing
from adapters.text import (
    article_fields,
    build_hashtags,
    fill_template,
    nfc_length,
    resolve_template,
    shorten_fields,
    template_fields,
    tidy_layout,
    truncate_to_fit,
    with_utm,
)
from adapters.transport import access_token

# Commonly cited Page post limit (PLATFORMS.md section 4.3; not in Meta's docs).
FB_MESSAGE_LIMIT = 63_206
# A link post: Facebook draws the article card from the link, so the message is the summary.
DEFAULT_FB_TEMPLATE = "{summary}"
FB_FALLBACK_TEMPLATE = "{title}"  # when the article has no summary
FB_SHORTEN_ORDER = ("summary", "title", "section", "author", "link_in_bio")


def facebook_message_problems(text: str, link: str | None) -> list[str]:
    """Facebook's rules for a Page post's message, as sentences for an editor."""
    problems = []
    length = nfc_length(text)
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
    """A link post: the summary (or template) as the message, the UTM link beside it.

    With ``media`` (``post_type: photo``), a photo post: the link goes into the caption text,
    since a photo post has no link field.
    """
    fields = article_fields(article, settings)
    default = DEFAULT_FB_TEMPLATE if fields["summary"] else FB_FALLBACK_TEMPLATE
    template, problems = resolve_template(settings.template, default)
    warnings: list[str] = []
    if media is not None and "link" not in template_fields(template):
        template += "\n\n{link}"
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
        return nfc_length(text) <= FB_MESSAGE_LIMIT

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

    platform: Platform = "facebook"
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
        """Create the post (PLATFORMS.md §4.3): a link post with ``POST /{page-id}/feed``, or
        with an image, a photo post with ``POST /{page-id}/photos`` (``url``, ``caption``)."""
        call = self._call(credentials)
        if payload.media:
            edge = "photos"
            data = {"url": payload.media[0].url, "caption": payload.text, "published": "true"}
        else:
            edge, data = "feed", {"message": payload.text}
            if payload.link:
                data["link"] = payload.link
        # A photo's answer is {"id": photo id, "post_id": Page post id}: the post id is what
        # the Page's feed (and reconciliation) knows.
        post_id, status = call.create(
            f"{account_id}/{edge}",
            what="post",
            data=data,
            id_key="post_id" if payload.media else "id",
        )
        return PublishResult(
            external_id=post_id,
            external_url=facebook_post_url(post_id),
            http_status=status,
            rate_limit=dict(call.usage),
        )

    def _call(self, credentials: dict[str, str]) -> GraphCall:
        return GraphCall(
            client=self.client,
            base_url=self.base_url,
            api_version=self.api_version,
            token=access_token(credentials, platform="Facebook"),
            platform="Facebook",
        )

    def publish_followup(
        self, payload: Payload, credentials: dict[str, str], *, account_id: str, parent_id: str
    ) -> PublishResult:
        """A comment on the live Page post: ``POST /{page-post-id}/comments`` with ``message``."""
        return publish_comment(
            self._call(credentials), parent_id, payload.text, url=facebook_post_url
        )

    def reconcile_followup(
        self,
        payload: Payload,
        credentials: dict[str, str],
        *,
        account_id: str,
        parent_id: str,
        since: datetime | None = None,
    ) -> ReconcileResult:
        """Look for our comment in ``GET /{page-post-id}/comments`` (``message``)."""
        return find_comment(
            self._call(credentials),
            parent_id,
            payload.text,
            text_field="message",
            time_field="created_time",
        )

    def reconcile(
        self,
        payload: Payload,
        credentials: dict[str, str],
        *,
        account_id: str,
        state: dict[str, Any] | None = None,
        since: datetime | None = None,
    ) -> ReconcileResult:
        """Look for the message in the Page's ``/feed``, matched on its fingerprint (§5.2).

        A failed listing raises its classified error (the platform did not answer).
        """
        match = find_in_listing(
            self._call(credentials),
            f"{account_id}/feed",
            text=payload.text,
            text_field="message",
            time_field="created_time",
            fields="id,message,created_time,permalink_url",
            since=since,
            action="list the Page's recent posts",
        )
        if match.item is not None:
            post_id = str(match.item["id"])
            url = match.item.get("permalink_url")
            return ReconcileResult(
                published=True,
                external_id=post_id,
                external_url=str(url) if url else facebook_post_url(post_id),
                detail=f"Facebook has the post as {post_id}.",
            )
        if match.covered:
            return ReconcileResult(
                published=False,
                detail="The Page's feed since the attempt has no post with this message.",
            )
        return ReconcileResult(
            published=None,
            detail="The Page's feed is too long to check back to the attempt; a person must "
            "check the Page.",
        )


def facebook_post_url(post_id: str) -> str:
    """The public URL of a Page post from its ``{page_id}_{post_id}`` id."""
    return f"https://www.facebook.com/{post_id}"
