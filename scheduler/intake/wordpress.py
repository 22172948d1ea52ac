"""WordPress REST post objects mapped onto newsrelay's article JSON.

A WordPress site can call the webhook with the post object its REST API returns
(``GET /wp-json/wp/v2/posts/<id>?_embed``), e.g. from a ``transition_post_status`` hook, so the
publisher needs no custom serialiser.  Reference: developer.wordpress.org/rest-api/reference/posts
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any, TypeGuard

from scheduler.intake.htmltext import html_to_text, strip_cms_boilerplate
from scheduler.intake.schemas import MAX_TAGS

#: WordPress post statuses that mean "on the site now"; every other one takes the article down.
_LIVE_STATUSES = frozenset({"publish"})


def is_wordpress_post(data: Any) -> TypeGuard[dict[str, Any]]:
    """Whether ``data`` looks like a WordPress REST post object."""
    return (
        isinstance(data, dict)
        and "id" in data
        and "link" in data
        and isinstance(data.get("title"), dict)
        and "rendered" in data["title"]
    )


def wordpress_event(post: dict[str, Any]) -> str:
    """``published`` for a live post, ``unpublished`` for trash, draft, private, pending, future."""
    status = post.get("status")
    if status is None or status in _LIVE_STATUSES:
        return "published"
    return "unpublished"


def _rendered(post: dict[str, Any], key: str) -> str | None:
    value = post.get(key)
    if isinstance(value, dict):
        value = value.get("rendered")
    return value if isinstance(value, str) else None


def _gmt(value: Any) -> datetime | None:
    # WordPress gives *_gmt fields without an offset; they are UTC by definition.
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def _terms(post: dict[str, Any], taxonomy: str) -> list[str]:
    groups = (post.get("_embedded") or {}).get("wp:term") or []
    names: list[str] = []
    for group in groups:
        for term in group if isinstance(group, list) else []:
            if isinstance(term, dict) and term.get("taxonomy") == taxonomy and term.get("name"):
                # Term names come HTML-escaped ("Law &amp; Order").
                name = html.unescape(str(term["name"])).strip()
                if name and name not in names:
                    names.append(name)
    return names


def _featured_image(post: dict[str, Any]) -> str | None:
    url = post.get("jetpack_featured_media_url")
    if isinstance(url, str) and url:
        return url
    media = (post.get("_embedded") or {}).get("wp:featuredmedia") or []
    if media and isinstance(media[0], dict):
        source = media[0].get("source_url")
        if isinstance(source, str) and source:
            return source
    return None


def _author(post: dict[str, Any]) -> str | None:
    authors = (post.get("_embedded") or {}).get("author") or []
    if authors and isinstance(authors[0], dict) and authors[0].get("name"):
        return str(authors[0]["name"])
    return None


def wordpress_revision(post: dict[str, Any]) -> int | None:
    """The post's revision: ``modified_gmt`` in epoch seconds (it rises with every edit)."""
    modified = _gmt(post.get("modified_gmt"))
    return int(modified.timestamp()) if modified else None


def wordpress_article(post: dict[str, Any], *, source: str) -> dict[str, Any]:
    """The article JSON for a WordPress post; fields it lacks are left for validation to name."""
    article: dict[str, Any] = {"source": source, "external_id": str(post["id"])}
    if isinstance(post.get("link"), str):
        article["url"] = post["link"]
    title = _rendered(post, "title")
    if title is not None:
        article["title"] = html_to_text(title, paragraphs=False)
    # An excerpt is a teaser; cap it rather than refuse a long hand-written one.
    # Excerpts end in "[…]" and feeds' copies in "The post … appeared first on …": CMS
    # boilerplate that must not reach the platforms.
    excerpt = html_to_text(_rendered(post, "excerpt"), paragraphs=False)
    article["summary"] = strip_cms_boilerplate(excerpt)[:5000]
    article["body"] = strip_cms_boilerplate(html_to_text(_rendered(post, "content")))
    published = _gmt(post.get("date_gmt"))
    if published is not None:
        article["published_at"] = published.isoformat()
    image = _featured_image(post)
    if image:
        article["image_url"] = image
    tags = _terms(post, "post_tag")
    if tags:
        article["tags"] = tags[:MAX_TAGS]
    categories = _terms(post, "category")
    if categories:
        article["section"] = categories[0]
    author = _author(post)
    if author:
        article["author"] = author
    revision = wordpress_revision(post)
    if revision is not None:
        article["revision"] = revision
    return article
