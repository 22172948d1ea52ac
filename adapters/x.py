"""X (Twitter) adapter: X API v2 ``POST /2/tweets``; twitter-text v3 weighted length."""

from __future__ import annotations

import html
import time
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from twitter_text import parse_tweet

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
from adapters.errors import UnknownOutcomeError
from adapters.matching import expand_x_urls, same_post
from adapters.ratelimit import parse_x_rate_limit, x_exhausted, x_reset_at
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
from adapters.transport import access_token, bearer, json_body, send
from adapters.x_errors import classify_x_response
from adapters.x_upload import upload_media

# Reconciliation reads the account's timeline newest first; a few pages cover any realistic
# gap, and past them we say "cannot tell" rather than guess (DESIGN.md guarantee 5).
RECONCILE_PAGE_SIZE = 100
RECONCILE_MAX_PAGES = 5
# Look a little before ``since`` for clock skew between us and X.
RECONCILE_MARGIN = timedelta(minutes=5)

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
    # include_link false: a post without any URL (X charges more for posts that carry one).
    include_link = settings.include_link is not False
    if include_link and "link" not in template_fields(template):
        template += "\n\n{link}"
        warnings.append("The template has no {link}, so the article link was added at the end.")
    fields = article_fields(article, settings)
    fields["summary"] = " ".join(fields["summary"].split())
    if not fields["title"]:
        problems.append("The article has no title; add one before this post can go out.")
    link = with_utm(article.url, source="x", campaign=settings.utm_campaign)
    if link is None and include_link:
        problems.append(f"The article link {article.url!r} is not a web address X can link to.")
    if not include_link:
        link = None
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

    platform: Platform = "x"
    needs_image = False

    def __init__(self, *, client: httpx.Client, base_url: str) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        # Media STATUS polling is the one wait publish() makes (§1.3); injectable for tests.
        self.sleep: Callable[[float], None] = time.sleep

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
        """Create the post with ``POST /2/tweets`` (PLATFORMS.md §1.1)."""
        token = access_token(credentials, platform="X")
        progress = on_progress or _ignore_progress
        body: dict[str, Any] = {"text": payload.text}
        if payload.media:
            body["media"] = {"media_ids": self._media_ids(payload, token, state or {}, progress)}
        return self._create(token, body, progress)

    def publish_followup(
        self, payload: Payload, credentials: dict[str, str], *, account_id: str, parent_id: str
    ) -> PublishResult:
        """The reply that makes a thread: ``POST /2/tweets`` with ``reply.in_reply_to_tweet_id``
        (PLATFORMS.md §1.2), classified through the same error table as a post."""
        token = access_token(credentials, platform="X")
        body = {"text": payload.text, "reply": {"in_reply_to_tweet_id": parent_id}}
        return self._create(token, body, _ignore_progress)

    def _create(
        self, token: str, body: dict[str, Any], progress: ProgressCallback
    ) -> PublishResult:
        response = send(
            self.client,
            "POST",
            f"{self.base_url}/2/tweets",
            platform="X",
            action="create the post",
            publishes=True,
            json=body,
            headers=bearer(token),
        )
        rate_limit = parse_x_rate_limit(response.headers)
        if response.is_success:
            data = json_body(response)
            post_id = _post_id(data)
            if post_id is None:
                raise UnknownOutcomeError(
                    f"X accepted the post (HTTP {response.status_code}) but its answer has no "
                    "post id; reconcile before any retry.",
                    http_status=response.status_code,
                    rate_limit=rate_limit,
                )
            return PublishResult(
                external_id=post_id,
                external_url=x_post_url(post_id),
                http_status=response.status_code,
                rate_limit=rate_limit,
                # §1.5: a window at zero on a success means the next post would get a 429;
                # pause the channel until the reset instead of spending a call to learn it.
                pause_until=x_reset_at(rate_limit) if x_exhausted(rate_limit) else None,
            )
        error = classify_x_response(response, action="the post", secrets=(token,))
        if error.subcode == "media-id-expired":
            progress({"media_ids": None})
        if response.status_code >= 500:
            # §5.1: a server error after POST /2/tweets is retried only after reconciling; X
            # has been seen to create the post and still answer 503.
            raise UnknownOutcomeError(
                f"{error.message} X may have created the post anyway; reconcile before retrying.",
                http_status=error.http_status,
                code=error.code,
                subcode=error.subcode,
                rate_limit=error.rate_limit,
            )
        raise error

    def _media_ids(
        self, payload: Payload, token: str, state: dict[str, Any], progress: ProgressCallback
    ) -> list[str]:
        """Ids of the payload's images on X: uploaded (with alt text) now, inside the attempt,
        since ids expire; or those an earlier attempt uploaded for these same images."""
        uploaded_for = [[m.url, m.alt_text] for m in payload.media]
        media_ids = list(state.get("media_ids") or [])
        if media_ids and state.get("media_for", uploaded_for) == uploaded_for:
            return media_ids
        media_ids = upload_media(self.client, self.base_url, token, payload.media, sleep=self.sleep)
        # Persisted so a retry within the media's 24 h lifetime does not upload again.
        progress({"media_ids": media_ids, "media_for": uploaded_for})
        return media_ids

    def reconcile(
        self,
        payload: Payload,
        credentials: dict[str, str],
        *,
        account_id: str,
        state: dict[str, Any] | None = None,
        since: datetime | None = None,
    ) -> ReconcileResult:
        """Look for the post in ``GET /2/users/{id}/tweets`` by its text fingerprint.

        X returns text HTML-escaped and with URLs as t.co links, so the match also tries the
        text with links expanded from ``entities.urls`` and with URLs removed
        (:mod:`adapters.matching`).  No match proves absence only when the listing reaches
        back past ``since`` (or is the whole timeline); otherwise the answer is None.  A failed
        listing raises its classified error (X did not answer).
        """
        token = access_token(credentials, platform="X")
        return self._find_post(payload, token, account_id=account_id, since=since)

    def reconcile_followup(
        self,
        payload: Payload,
        credentials: dict[str, str],
        *,
        account_id: str,
        parent_id: str,
        since: datetime | None = None,
    ) -> ReconcileResult:
        """Look for our reply to ``parent_id`` in the account's recent posts: the text's
        fingerprint and ``referenced_tweets`` ``replied_to`` the parent must both match."""
        token = access_token(credentials, platform="X")
        return self._find_post(
            payload, token, account_id=account_id, since=since, replying_to=parent_id
        )

    def _find_post(
        self,
        payload: Payload,
        token: str,
        *,
        account_id: str,
        since: datetime | None,
        replying_to: str | None = None,
    ) -> ReconcileResult:
        params: dict[str, str] = {
            "max_results": str(RECONCILE_PAGE_SIZE),
            "tweet.fields": "created_at,entities",
        }
        if replying_to is not None:
            params["tweet.fields"] += ",referenced_tweets"
        if since is not None:
            params["start_time"] = _x_time(since - RECONCILE_MARGIN)
        for _page in range(RECONCILE_MAX_PAGES):
            response = send(
                self.client,
                "GET",
                f"{self.base_url}/2/users/{account_id}/tweets",
                platform="X",
                action="list the account's recent posts",
                publishes=False,
                params=params,
                headers=bearer(token),
            )
            if not response.is_success:
                raise classify_x_response(
                    response, action="the listing of recent posts", secrets=(token,)
                )
            body = json_body(response)
            body = body if isinstance(body, dict) else {}
            for tweet in body.get("data") or []:
                text = str(tweet.get("text") or "")
                expanded = expand_x_urls(html.unescape(text), tweet.get("entities"))
                if replying_to is not None and not _replies_to(tweet, replying_to):
                    continue
                if tweet.get("id") and same_post(payload.text, text, also=(expanded,)):
                    post_id = str(tweet["id"])
                    return ReconcileResult(
                        published=True,
                        external_id=post_id,
                        external_url=x_post_url(post_id),
                        detail=f"X has the post as {post_id}.",
                    )
            next_token = (body.get("meta") or {}).get("next_token")
            if not next_token:
                # With start_time, X returned every post since then; without it, the whole
                # timeline it serves.  Either way the post is not there.
                return ReconcileResult(
                    published=False,
                    detail="X's listing of the account's recent posts has no post with this text.",
                )
            params["pagination_token"] = str(next_token)
        return ReconcileResult(
            published=None,
            detail=f"X's listing has more than {RECONCILE_MAX_PAGES} pages since the attempt; "
            "a person must check the account.",
        )


def _ignore_progress(_update: dict[str, Any]) -> None:
    return None


def _replies_to(tweet: dict[str, Any], parent_id: str) -> bool:
    refs = tweet.get("referenced_tweets") or []
    return any(
        isinstance(r, dict) and r.get("type") == "replied_to" and str(r.get("id")) == parent_id
        for r in refs
    )


def x_post_url(post_id: str) -> str:
    """The public URL of an X post (``/i/web/status`` needs no username)."""
    return f"https://x.com/i/web/status/{post_id}"


def _post_id(body: Any) -> str | None:
    # §1.1: read only data.id; ids are strings, never numbers to round.
    data = body.get("data") if isinstance(body, dict) else None
    post_id = data.get("id") if isinstance(data, dict) else None
    return str(post_id) if post_id else None


def _x_time(moment: datetime) -> str:
    # X wants RFC 3339 in UTC; a naive datetime is taken as UTC (the database stores UTC).
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
