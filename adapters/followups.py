"""Follow-ups: Instagram's first comment, a Facebook comment, an X reply that makes a thread.

A follow-up is its own post, sent after its parent is live (DESIGN.md, "Follow-ups").  Here:
rendering the channel's ``first_comment`` template (pure), and the Graph API comment calls the
Instagram and Facebook adapters share.  The X reply lives in :mod:`adapters.x` beside the post.

``POST /{ig-media-id}/comments?message=`` and ``POST /{page-post-id}/comments`` (``message``)
answer ``{"id": <comment id>}``; ``GET`` on the same edges lists the comments (Instagram's
text field is ``text`` with ``timestamp``; Facebook's is ``message`` with ``created_time``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

from adapters.base import ArticleContent, ChannelSettings, Payload, PublishResult, ReconcileResult
from adapters.graph import GraphCall, find_in_listing
from adapters.text import (
    FOLLOWUP_FIELDS,
    article_fields,
    build_hashtags,
    clean_text,
    fill_template,
    shorten_fields,
    template_fields,
    template_problems,
    tidy_layout,
    truncate_to_fit,
    with_utm,
)

#: Longest follow-up each platform takes, in its own count (X: twitter-text weighted).
IG_COMMENT_LIMIT = 2200
FB_COMMENT_LIMIT = 8000
X_REPLY_LIMIT = 280
_SHORTEN_ORDER = ("summary", "title", "section", "author", "link_in_bio")
_NAMES = {"x": "X", "instagram": "Instagram", "facebook": "Facebook"}
_WHAT = {"x": "reply", "instagram": "first comment", "facebook": "comment"}


def followup_length(platform: str, text: str) -> int:
    """The follow-up's length as its platform counts it."""
    if platform == "x":
        from adapters.x import x_weighted_length  # x imports this module

        return x_weighted_length(text)
    return len(unicodedata.normalize("NFC", text))


def followup_limit(platform: str) -> int:
    return {"x": X_REPLY_LIMIT, "instagram": IG_COMMENT_LIMIT}.get(platform, FB_COMMENT_LIMIT)


def followup_problems(platform: str, text: str) -> list[str]:
    """The platform's rules for a follow-up's text, as sentences for an editor."""
    what, name = _WHAT.get(platform, "follow-up"), _NAMES.get(platform, platform)
    if not text.strip():
        return [f"The {what} is empty; {name} needs some text."]
    length, limit = followup_length(platform, text), followup_limit(platform)
    if length > limit:
        return [
            f"The {what} is {length:,} characters by {name}'s count; the limit is {limit:,}. "
            f"Shorten it by {length - limit:,}."
        ]
    return []


def render_followup(article: ArticleContent, settings: ChannelSettings, platform: str) -> Payload:
    """Pure: the channel's ``first_comment`` filled in with the article, within the limit.

    Too long?  The summary, then the title (and the other free-text fields) are cut at a word
    boundary; the link is never cut.
    """
    template = clean_text(settings.first_comment or "")
    problems = template_problems(template, FOLLOWUP_FIELDS) if template.strip() else []
    if not template.strip():
        problems = ["The channel has no first_comment template."]
    link = with_utm(article.url, source=platform, campaign=settings.utm_campaign)
    if link is None and {"link", "url"} & template_fields(template):
        problems.append(f"The article link {article.url!r} is not a web address to share.")
    if problems:
        return Payload(channel=platform, text="", problems=problems)  # type: ignore[arg-type]
    fields = article_fields(article, settings)
    fields.update(link=link or "", url=article.url)
    fields["hashtags"] = " ".join(
        build_hashtags(
            article.tags,
            settings.hashtags,
            use_tags=settings.tags_as_hashtags,
            limit=settings.max_hashtags,
            already_in=fields["title"],
        )
    )
    limit = followup_limit(platform)

    def build(values: dict[str, str]) -> str:
        return unicodedata.normalize("NFC", tidy_layout(fill_template(template, values)))

    def fits(text: str) -> bool:
        return followup_length(platform, text) <= limit

    used = template_fields(template)
    changed = shorten_fields(fields, [n for n in _SHORTEN_ORDER if n in used], build, fits)
    text = build(fields)
    if not fits(text) and platform != "x":  # only very long literal text gets here
        text = truncate_to_fit(text, fits)
        changed.append("text")
    what = _WHAT.get(platform, "follow-up")
    warnings = [f"The {what}'s {n.replace('_', ' ')} was shortened to fit." for n in changed]
    return Payload(
        channel=platform,  # type: ignore[arg-type]
        text=text,
        link=link,
        problems=followup_problems(platform, text),
        warnings=warnings,
        weighted_length=followup_length(platform, text) if platform == "x" else None,
    )


def publish_comment(
    call: GraphCall, parent_id: str, text: str, *, url: Callable[[str], str | None]
) -> PublishResult:
    """``POST /{parent}/comments`` with ``message``; the comment's id (``url`` makes its URL).

    A server error or an unreadable 2xx may hide a created comment, and Graph has no
    idempotency key: that is an unknown outcome, reconciled through the comment listing.
    """
    comment_id, status = call.create(
        f"{parent_id}/comments", what="comment", data={"message": text}
    )
    return PublishResult(
        external_id=comment_id,
        external_url=url(comment_id),
        http_status=status,
        rate_limit=dict(call.usage),
    )


def find_comment(
    call: GraphCall, parent_id: str, text: str, *, text_field: str, time_field: str
) -> ReconcileResult:
    """Look for our comment among the parent's comments (matched on the text's fingerprint).

    The whole listing read without a match proves absence: a comment cannot be anywhere else.
    """
    match = find_in_listing(
        call,
        f"{parent_id}/comments",
        text=text,
        text_field=text_field,
        time_field=time_field,
        fields=f"id,{text_field},{time_field}",
        since=None,
        action="list the post's comments",
    )
    if match.item is not None:
        comment_id = str(match.item["id"])
        return ReconcileResult(
            published=True,
            external_id=comment_id,
            detail=f"{call.platform} has the comment as {comment_id}.",
        )
    if match.covered:
        return ReconcileResult(
            published=False, detail="The post's comments have no comment with this text."
        )
    return ReconcileResult(
        published=None,
        detail="The post has too many comments to check; a person must look at the post.",
    )
