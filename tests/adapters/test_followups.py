"""Follow-ups in the adapters: the first_comment template, its rendering within each platform's
limit, and publish_followup / reconcile_followup through httpx.MockTransport."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import httpx
import pytest
from pydantic import ValidationError

from adapters.base import ArticleContent, ChannelSettings, Payload
from adapters.errors import (
    AuthExpiredError,
    PermanentError,
    RateLimitedError,
    UnknownOutcomeError,
)
from adapters.facebook import FacebookAdapter
from adapters.followups import followup_problems, render_followup
from adapters.instagram import InstagramAdapter
from adapters.x import x_weighted_length
from tests.adapters.conftest import with_
from tests.adapters.x_api import BASE as X_BASE
from tests.adapters.x_api import CREDENTIALS as X_CREDENTIALS
from tests.adapters.x_api import LEAK_MARKER as X_LEAK
from tests.adapters.x_api import make_adapter as make_x

LEAK = "EAAG-page-token-MUST-NOT-LEAK-0410"
CREDENTIALS = {"access_token": LEAK}
GRAPH = "https://graph.facebook.com"
VERSION = "v26.0"
MEDIA = "17895695668004550"
FB_POST = "112130216863063_998877665544"
PARENT_TWEET = "1445880548472328192"


def _graph_client(handler: httpx.MockTransport) -> httpx.Client:
    return httpx.Client(transport=handler, timeout=httpx.Timeout(5.0))


def ig_adapter(respond: object, seen: list[httpx.Request]) -> InstagramAdapter:
    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return respond(request)  # type: ignore[operator,no-any-return]

    client = _graph_client(httpx.MockTransport(record))
    return InstagramAdapter(client=client, base_url=GRAPH, api_version=VERSION)


def fb_adapter(respond: object, seen: list[httpx.Request]) -> FacebookAdapter:
    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return respond(request)  # type: ignore[operator,no-any-return]

    client = _graph_client(httpx.MockTransport(record))
    return FacebookAdapter(client=client, base_url=GRAPH, api_version=VERSION)


def graph_error(status: int, code: int, subcode: int | None = None) -> httpx.Response:
    error: dict[str, object] = {"message": "error text", "type": "OAuthException", "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    return httpx.Response(status, json={"error": error})


def form(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


# --- the template -------------------------------------------------------------------------------


def test_first_comment_setting_refuses_an_unknown_placeholder_by_name() -> None:
    with pytest.raises(ValidationError) as info:
        ChannelSettings(first_comment="Read more: {link} via {source}")
    message = str(info.value)
    assert "first_comment" in message
    assert "The template uses {source}, which is not a field" in message
    assert "{url}" in message  # the sentence lists the fields that exist


def test_first_comment_setting_blank_means_none_and_known_fields_pass() -> None:
    assert ChannelSettings(first_comment="   ").first_comment is None
    assert ChannelSettings(first_comment="Full story: {url}").first_comment == "Full story: {url}"
    with pytest.raises(ValidationError, match="not valid"):
        ChannelSettings(first_comment="broken {link")


def test_instagram_first_comment_carries_the_utm_link(article: ArticleContent) -> None:
    settings = ChannelSettings(first_comment="Read the full story: {link}")
    payload = render_followup(article, settings, "instagram")
    assert payload.problems == []
    assert payload.text.startswith("Read the full story: https://")
    assert "utm_source=instagram" in payload.text
    assert article.url.split("?")[0] in payload.text


def test_x_reply_is_shortened_to_280_weighted_with_the_link_whole(
    article: ArticleContent,
) -> None:
    long_title = "Talks in Istanbul " * 40
    settings = ChannelSettings(first_comment="{title}\n\n{summary}\n\nMore: {url}")
    payload = render_followup(with_(article, title=long_title), settings, "x")
    assert payload.problems == []
    assert x_weighted_length(payload.text) <= 280
    assert payload.weighted_length == x_weighted_length(payload.text)
    assert payload.text.endswith(f"More: {article.url}")
    assert payload.warnings  # says what was shortened


def test_followup_problems_name_each_platform_limit() -> None:
    assert followup_problems("instagram", "x" * 2201) == [
        "The first comment is 2,201 characters by Instagram's count; the limit is 2,200. "
        "Shorten it by 1."
    ]
    assert followup_problems("instagram", "x" * 2200) == []
    assert followup_problems("x", "a" * 281)[0].startswith("The reply is 281 characters")
    assert followup_problems("facebook", " ") == ["The comment is empty; Facebook needs some text."]


# --- Instagram: POST /{ig-media-id}/comments ----------------------------------------------------


def test_instagram_followup_posts_the_comment_on_the_media() -> None:
    seen: list[httpx.Request] = []
    adapter = ig_adapter(lambda r: httpx.Response(200, json={"id": "17870913679156914"}), seen)
    result = adapter.publish_followup(
        Payload(channel="instagram", text="Full story: https://example.pk/a"),
        CREDENTIALS,
        account_id="17841400000000000",
        parent_id=MEDIA,
    )
    (request,) = seen
    assert request.method == "POST"
    assert str(request.url) == f"{GRAPH}/{VERSION}/{MEDIA}/comments"
    assert request.headers["authorization"] == f"Bearer {LEAK}"
    assert form(request) == {"message": "Full story: https://example.pk/a"}
    assert result.external_id == "17870913679156914"


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (graph_error(500, 2), UnknownOutcomeError),  # may have been created: reconcile
        (httpx.Response(200, text="<html>"), UnknownOutcomeError),  # unreadable 2xx
        (httpx.Response(200, json={}), UnknownOutcomeError),  # no id
        (graph_error(401, 190, 463), AuthExpiredError),
        (graph_error(400, 4), RateLimitedError),
        (graph_error(400, 100, 33), PermanentError),  # the media is gone
    ],
)
def test_instagram_followup_errors_go_through_the_meta_table(
    response: httpx.Response, error: type[Exception]
) -> None:
    adapter = ig_adapter(lambda r: response, [])
    with pytest.raises(error) as info:
        adapter.publish_followup(
            Payload(channel="instagram", text="hi"), CREDENTIALS, account_id="1", parent_id=MEDIA
        )
    assert LEAK not in str(info.value)


def test_instagram_reconcile_followup_finds_our_comment_in_the_listing() -> None:
    seen: list[httpx.Request] = []
    listing = {
        "data": [
            {"id": "1", "text": "Nice!", "timestamp": "2026-12-06T05:00:00+0000"},
            {
                "id": "2",
                "text": "Full story: https://example.pk/a",
                "timestamp": "2026-12-06T05:00:00+0000",
            },
        ]
    }
    adapter = ig_adapter(lambda r: httpx.Response(200, json=listing), seen)
    found = adapter.reconcile_followup(
        Payload(channel="instagram", text="Full story: https://example.pk/a"),
        CREDENTIALS,
        account_id="1",
        parent_id=MEDIA,
    )
    assert (found.published, found.external_id) == (True, "2")
    assert seen[0].method == "GET"
    assert seen[0].url.path == f"/{VERSION}/{MEDIA}/comments"
    assert seen[0].url.params["fields"] == "id,text,timestamp"


def test_instagram_reconcile_followup_absent_only_when_the_whole_listing_was_read() -> None:
    text = Payload(channel="instagram", text="Full story: https://example.pk/a")
    whole = ig_adapter(lambda r: httpx.Response(200, json={"data": []}), [])
    absent = whole.reconcile_followup(text, CREDENTIALS, account_id="1", parent_id=MEDIA)
    assert absent.published is False
    more = {"data": [{"id": "1", "text": "x"}], "paging": {"next": "https://graph/next"}}
    cut = ig_adapter(lambda r: httpx.Response(200, json=more), [])
    unsure = cut.reconcile_followup(text, CREDENTIALS, account_id="1", parent_id=MEDIA)
    assert unsure.published is None


# --- Facebook: POST /{page-post-id}/comments ----------------------------------------------------


def test_facebook_followup_comments_on_the_page_post() -> None:
    seen: list[httpx.Request] = []
    comment_id = "998877665544_1234567890"
    adapter = fb_adapter(lambda r: httpx.Response(200, json={"id": comment_id}), seen)
    result = adapter.publish_followup(
        Payload(channel="facebook", text="Comments welcome"),
        CREDENTIALS,
        account_id="112130216863063",
        parent_id=FB_POST,
    )
    (request,) = seen
    assert str(request.url) == f"{GRAPH}/{VERSION}/{FB_POST}/comments"
    assert form(request) == {"message": "Comments welcome"}
    assert (result.external_id, result.external_url) == (
        comment_id,
        f"https://www.facebook.com/{comment_id}",
    )


def test_facebook_reconcile_followup_reads_message_field() -> None:
    seen: list[httpx.Request] = []
    listing = {"data": [{"id": "9_1", "message": "Comments welcome", "created_time": "x"}]}
    adapter = fb_adapter(lambda r: httpx.Response(200, json=listing), seen)
    found = adapter.reconcile_followup(
        Payload(channel="facebook", text="Comments welcome"),
        CREDENTIALS,
        account_id="1",
        parent_id=FB_POST,
    )
    assert (found.published, found.external_id) == (True, "9_1")
    assert seen[0].url.params["fields"] == "id,message,created_time"


# --- X: the reply that makes a thread -----------------------------------------------------------


def test_x_followup_replies_to_the_parent_tweet() -> None:
    seen: list[httpx.Request] = []
    adapter = make_x(lambda r: httpx.Response(201, json={"data": {"id": "99", "text": "t"}}), seen)
    result = adapter.publish_followup(
        Payload(channel="x", text="Thread: more at https://example.pk/a"),
        X_CREDENTIALS,
        account_id="42",
        parent_id=PARENT_TWEET,
    )
    (request,) = seen
    assert str(request.url) == f"{X_BASE}/2/tweets"
    assert json.loads(request.content) == {
        "text": "Thread: more at https://example.pk/a",
        "reply": {"in_reply_to_tweet_id": PARENT_TWEET},
    }
    assert result.external_id == "99"


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (
            403,
            {
                "detail": "Reply to this conversation is not allowed because you have not "
                "been mentioned or otherwise engaged by the author of the post you are "
                "replying to.",
                "type": "about:blank",
                "title": "Forbidden",
                "status": 403,
            },
            PermanentError,
        ),
        (
            404,
            {
                "errors": [
                    {
                        "resource_type": "tweet",
                        "type": "https://api.twitter.com/2/problems/resource-not-found",
                    }
                ],
                "title": "Not Found Error",
                "type": "https://api.twitter.com/2/problems/resource-not-found",
                "detail": "Could not find tweet",
            },
            PermanentError,
        ),
        (
            503,
            {"title": "Service Unavailable", "type": "about:blank", "status": 503},
            UnknownOutcomeError,
        ),
        (
            429,
            {"title": "Too Many Requests", "type": "about:blank", "status": 429},
            RateLimitedError,
        ),
    ],
)
def test_x_followup_errors_go_through_the_x_table(
    status: int, body: dict[str, object], error: type[Exception]
) -> None:
    adapter = make_x(lambda r: httpx.Response(status, json=body))
    with pytest.raises(error) as info:
        adapter.publish_followup(
            Payload(channel="x", text="t"), X_CREDENTIALS, account_id="42", parent_id="1"
        )
    assert X_LEAK not in str(info.value)


def test_x_reconcile_followup_needs_the_reply_to_our_parent() -> None:
    seen: list[httpx.Request] = []
    text = "Thread: more at the link"

    def timeline(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={
                "data": [
                    # Same text, but a reply to another post: not ours.
                    {
                        "id": "7",
                        "text": text,
                        "referenced_tweets": [{"type": "replied_to", "id": "5"}],
                    },
                    {
                        "id": "8",
                        "text": text,
                        "referenced_tweets": [{"type": "replied_to", "id": PARENT_TWEET}],
                    },
                ],
                "meta": {"result_count": 2},
            },
        )

    adapter = make_x(timeline, seen)
    found = adapter.reconcile_followup(
        Payload(channel="x", text=text), X_CREDENTIALS, account_id="42", parent_id=PARENT_TWEET
    )
    assert (found.published, found.external_id) == (True, "8")
    assert "referenced_tweets" in seen[0].url.params["tweet.fields"].split(",")
    other = adapter.reconcile_followup(
        Payload(channel="x", text=text), X_CREDENTIALS, account_id="42", parent_id="6"
    )
    assert other.published is False
