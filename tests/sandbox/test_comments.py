"""Comments on live posts over real HTTP: ``/{ig-media-id}/comments``, ``/{page-post-id}/comments``
and, on X, a reply listed with ``referenced_tweets`` (how follow-ups are reconciled)."""

from __future__ import annotations

import httpx

from adapters.sandbox import SandboxClient, SandboxServer
from tests.sandbox.tokens import graph_token, x_auth

IG = "17841400000000001"
PAGE = "112130216863063"


def _ig_media(http: httpx.Client, sandbox: SandboxServer) -> str:
    image = f"{sandbox.url}/_sandbox/images/1080x1080.jpg"
    container = http.post(
        f"/v26.0/{IG}/media", data={"image_url": image, "caption": "Dar", **graph_token(IG)}
    ).json()["id"]
    published = http.post(
        f"/v26.0/{IG}/media_publish", params={"creation_id": container, **graph_token(IG)}
    )
    return str(published.json()["id"])


def test_ig_comment_is_created_listed_newest_first_and_counted(
    http: httpx.Client, sandbox: SandboxServer, admin: SandboxClient
) -> None:
    media = _ig_media(http, sandbox)
    first = http.post(
        f"/v26.0/{media}/comments", params={"message": "Link: https://x.pk/a", **graph_token(IG)}
    )
    http.post(f"/v26.0/{media}/comments", data={"message": "again", **graph_token(IG)})
    listing = http.get(f"/v26.0/{media}/comments", params=graph_token(IG))

    assert first.status_code == 200 and first.json()["id"].isdigit()
    items = listing.json()["data"]
    assert [c["text"] for c in items] == ["again", "Link: https://x.pk/a"]
    assert {"id", "text", "timestamp", "username"} <= set(items[0])
    counted = admin.comments(parent=media)
    assert [c["text"] for c in counted] == ["Link: https://x.pk/a", "again"]
    assert all(c["reply_to"] == media and c["platform"] == "instagram" for c in counted)
    # A comment is not media: the account's feed, quota and posts are unchanged.
    assert [
        m["id"] for m in http.get(f"/v26.0/{IG}/media", params=graph_token(IG)).json()["data"]
    ] == [media]
    assert len(admin.posts(platform="instagram")) == 1


def test_fb_comment_id_is_post_scoped_and_listing_is_chronological(
    http: httpx.Client, admin: SandboxClient
) -> None:
    post_id = http.post(
        f"/v26.0/{PAGE}/feed", data={"message": "Dar in Istanbul", **graph_token(PAGE)}
    ).json()["id"]
    one = http.post(f"/v26.0/{post_id}/comments", data={"message": "one", **graph_token(PAGE)})
    http.post(f"/v26.0/{post_id}/comments", data={"message": "two", **graph_token(PAGE)})
    oldest = http.get(f"/v26.0/{post_id}/comments", params=graph_token(PAGE)).json()["data"]
    newest = http.get(
        f"/v26.0/{post_id}/comments",
        params={"order": "reverse_chronological", **graph_token(PAGE)},
    ).json()["data"]

    assert one.json()["id"].startswith(post_id.split("_")[1] + "_")
    assert [c["message"] for c in oldest] == ["one", "two"]
    assert [c["message"] for c in newest] == ["two", "one"]
    assert oldest[0]["from"]["id"] == PAGE and oldest[0]["created_time"].endswith("+0000")
    assert len(admin.comments(platform="facebook")) == 2


def test_comment_errors_have_graph_shapes(http: httpx.Client, sandbox: SandboxServer) -> None:
    media = _ig_media(http, sandbox)
    unknown = http.post("/v26.0/999999/comments", data={"message": "x", **graph_token(IG)})
    empty = http.post(f"/v26.0/{media}/comments", data={"message": " ", **graph_token(IG)})
    too_long = http.post(
        f"/v26.0/{media}/comments", data={"message": "x" * 2201, **graph_token(IG)}
    )
    no_token = http.post(f"/v26.0/{media}/comments", data={"message": "x"})

    assert unknown.status_code == 400
    assert (unknown.json()["error"]["code"], unknown.json()["error"]["error_subcode"]) == (100, 33)
    assert empty.json()["error"]["code"] == 100
    assert "too long" in too_long.json()["error"]["message"]
    assert no_token.status_code == 400 and no_token.json()["error"]["code"] == 190


def test_dropped_comment_is_live_and_reconcilable(
    http: httpx.Client, sandbox: SandboxServer, admin: SandboxClient
) -> None:
    media = _ig_media(http, sandbox)
    admin.set_fault(IG, drop_rate=1.0)
    try:
        http.post(f"/v26.0/{media}/comments", data={"message": "dropped", **graph_token(IG)})
    except httpx.TransportError:
        pass
    else:  # pragma: no cover - the fault must close the socket
        raise AssertionError("the drop fault answered")
    admin.clear_faults()
    listing = http.get(f"/v26.0/{media}/comments", params=graph_token(IG)).json()["data"]
    assert [c["text"] for c in listing] == ["dropped"]


def test_x_reply_lists_with_referenced_tweets(http: httpx.Client, admin: SandboxClient) -> None:
    user = "2244994945"
    first = http.post("/2/tweets", json={"text": "part 1"}, headers=x_auth(user)).json()["data"]
    reply = http.post(
        "/2/tweets",
        json={"text": "part 2", "reply": {"in_reply_to_tweet_id": first["id"]}},
        headers=x_auth(user),
    ).json()["data"]
    timeline = http.get(
        f"/2/users/{user}/tweets",
        params={"max_results": "5", "tweet.fields": "created_at,referenced_tweets"},
        headers=x_auth(user),
    ).json()["data"]
    plain = http.get(
        f"/2/users/{user}/tweets", params={"max_results": "5"}, headers=x_auth(user)
    ).json()["data"]

    by_id = {t["id"]: t for t in timeline}
    assert by_id[reply["id"]]["referenced_tweets"] == [{"type": "replied_to", "id": first["id"]}]
    assert "referenced_tweets" not in by_id[first["id"]]
    assert all("referenced_tweets" not in t for t in plain)  # only when asked for
    assert [p["reply_to"] for p in admin.posts(platform="x")] == [None, first["id"]]
