"""Instagram adapter: Graph API content publishing (container, status, media_publish)."""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
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
from adapters.errors import (
    DeliveryError,
    PermanentError,
    UnknownOutcomeError,
)
from adapters.followups import find_comment, publish_comment
from adapters.graph import GraphCall, find_in_listing
from adapters.instagram_container import (
    already_published,
    create_container,
    ignore_progress,
    read_permalink,
    reconcile_container,
    str_or_none,
    wait_for_container,
)
from adapters.instagram_quota import ensure_publishing_quota
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
    nfc_length,
    resolve_template,
    shorten_fields,
    strip_urls,
    template_fields,
    tidy_layout,
    truncate_to_fit,
)
from adapters.transport import access_token

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
    length = nfc_length(text)
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
        return nfc_length(text) <= IG_CAPTION_LIMIT

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

    platform: Platform = "instagram"
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
        # Container polling is the one wait publish() makes (PLATFORMS.md §3.2 step 2);
        # injectable so tests do not wait.
        self.sleep: Callable[[float], None] = time.sleep

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
        """Create (or resume) the container, wait for FINISHED, then ``media_publish`` (§3.2).

        The container id goes to ``on_progress`` the moment it is known, and a container that
        is already PUBLISHED is never published again: that is the idempotency guard.
        """
        progress = on_progress or ignore_progress
        call = self._call(credentials)
        call.on_new_container = lambda: progress({"container_id": None})
        state = state or {}
        container_id = str(state.get("container_id") or "") or None
        if container_id is None:
            container_id = create_container(call, payload, account_id=account_id)
            progress({"container_id": container_id})
        container_status = wait_for_container(
            call,
            container_id,
            attempts=self.poll_attempts,
            interval=self.poll_interval,
            sleep=self.sleep,
        )
        if container_status == "PUBLISHED":
            return already_published(
                call,
                payload,
                account_id=account_id,
                container_id=container_id,
                state=state,
                progress=progress,
            )
        # Held, never sent to fail, when the rolling 24-hour publishing limit is used up (the
        # container waits in the post's state; one that expires meanwhile is made anew).
        ensure_publishing_quota(call, account_id=account_id, now=datetime.now(UTC))
        try:
            body, status = call.request(
                "POST",
                f"{account_id}/media_publish",
                action="publish the post",
                publishes=True,
                data={"creation_id": container_id},
            )
        except PermanentError as exc:
            if exc.http_status is not None and 200 <= exc.http_status < 300:
                raise _ambiguous(exc.message, exc) from exc
            raise
        media_id = str(body.get("id") or "")
        if not media_id:
            raise UnknownOutcomeError(
                f"Instagram answered media_publish (HTTP {status}) without a media id; reconcile "
                "through the container status before any retry.",
                http_status=status,
                rate_limit=dict(call.usage),
            )
        progress({"container_id": container_id, "media_id": media_id})
        return PublishResult(
            external_id=media_id,
            external_url=read_permalink(call, media_id),
            http_status=status,
            rate_limit=dict(call.usage),
        )

    def _call(self, credentials: dict[str, str]) -> GraphCall:
        return GraphCall(
            client=self.client,
            base_url=self.base_url,
            api_version=self.api_version,
            token=access_token(credentials, platform="Instagram"),
            platform="Instagram",
        )

    def publish_followup(
        self, payload: Payload, credentials: dict[str, str], *, account_id: str, parent_id: str
    ) -> PublishResult:
        """The first comment: ``POST /{ig-media-id}/comments?message=`` on the live post."""
        return publish_comment(
            self._call(credentials), parent_id, payload.text, url=lambda _id: None
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
        """Look for our comment in ``GET /{ig-media-id}/comments`` (``text``, ``timestamp``)."""
        return find_comment(
            self._call(credentials),
            parent_id,
            payload.text,
            text_field="text",
            time_field="timestamp",
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
        """Was it published?  The container status answers when we have one (§5.2).

        A failed status read or listing raises its classified error (Instagram did not answer).
        """
        call = self._call(credentials)
        container_id = str((state or {}).get("container_id") or "") or None
        if container_id is not None:
            return reconcile_container(
                call,
                payload,
                account_id=account_id,
                container_id=container_id,
                state=state or {},
            )
        match = find_in_listing(
            call,
            f"{account_id}/media",
            text=payload.text,
            text_field="caption",
            time_field="timestamp",
            fields="id,caption,permalink,timestamp",
            since=since,
            action="list the account's recent media",
        )
        if match.item is not None:
            media_id = str(match.item["id"])
            return ReconcileResult(
                published=True,
                external_id=media_id,
                external_url=str_or_none(match.item.get("permalink")),
                detail=f"Instagram has the post as media {media_id}.",
            )
        if match.covered and since is not None:
            return ReconcileResult(
                published=False,
                detail="No container was recorded and the account's media since the attempt "
                "has no post with this caption.",
            )
        return ReconcileResult(
            published=None,
            detail="No container was recorded and the account's recent media does not settle "
            "whether the post went out.",
        )


def _ambiguous(message: str, exc: DeliveryError) -> UnknownOutcomeError:
    return UnknownOutcomeError(
        f"{message} It may have been published; reconcile through the container status.",
        http_status=exc.http_status,
        rate_limit=exc.rate_limit,
    )
