"""The sandbox's ``POST /2/media/metadata`` (alt text) and posts with media, over real HTTP:
X keeps the alt text on the media, refuses text over 1,000 characters and other people's media,
and shows a post with media ending with a t.co link to its photo."""

from __future__ import annotations

import httpx

from adapters.sandbox import SandboxClient
from tests.sandbox.tokens import x_auth

JPEG = b"\xff\xd8" + b"j" * 300 + b"\xff\xd9"


def upload(http: httpx.Client, user: str) -> str:
    init = http.post(
        "/2/media/upload/initialize",
        json={
            "media_type": "image/jpeg",
            "total_bytes": len(JPEG),
            "media_category": "tweet_image",
        },
        headers=x_auth(user),
    )
    media_id = str(init.json()["data"]["id"])
    appended = http.post(
        f"/2/media/upload/{media_id}/append",
        data={"segment_index": "0"},
        files={"media": ("media", JPEG, "image/jpeg")},
        headers=x_auth(user),
    )
    assert appended.status_code == 200, appended.text
    assert http.post(f"/2/media/upload/{media_id}/finalize", headers=x_auth(user)).is_success
    return media_id


def describe(http: httpx.Client, user: str, media_id: str, text: str) -> httpx.Response:
    body = {"id": media_id, "metadata": {"alt_text": {"text": text}}}
    return http.post("/2/media/metadata", json=body, headers=x_auth(user))


def test_alt_text_is_kept_on_the_media_and_shown_on_the_post(
    http: httpx.Client, admin: SandboxClient
) -> None:
    media_id = upload(http, "42")
    answer = describe(http, "42", media_id, "Dar and Fidan in Istanbul")
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["associated_metadata"] == {
        "alt_text": {"text": "Dar and Fidan in Istanbul"}
    }
    created = http.post(
        "/2/tweets",
        json={"text": "Dar in Istanbul", "media": {"media_ids": [media_id]}},
        headers=x_auth("42"),
    )
    assert created.status_code == 201, created.text
    tweet_id = created.json()["data"]["id"]
    [post] = admin.posts(account="42", platform="x")
    assert post["media_ids"] == [media_id]
    assert post["media"] == [
        {
            "media_key": f"3_{media_id}",
            "type": "image/jpeg",
            "alt_text": "Dar and Fidan in Istanbul",
        }
    ]
    listing = http.get(
        "/2/users/42/tweets",
        params={"max_results": "5", "tweet.fields": "entities"},
        headers=x_auth("42"),
    ).json()["data"][0]
    # X appends a t.co link to the photo; its entity names the media.
    [entity] = listing["entities"]["urls"]
    assert listing["text"] == f"Dar in Istanbul {entity['url']}"
    assert entity["media_key"] == f"3_{media_id}"
    assert entity["expanded_url"] == f"https://x.com/42/status/{tweet_id}/photo/1"


def test_alt_text_over_1000_characters_is_refused_and_1000_is_accepted(
    http: httpx.Client,
) -> None:
    media_id = upload(http, "42")
    too_long = describe(http, "42", media_id, "a" * 1001)
    assert too_long.status_code == 400
    assert too_long.json()["type"] == "https://api.twitter.com/2/problems/invalid-request"
    assert "1000" in too_long.json()["errors"][0]["message"]
    assert describe(http, "42", media_id, "a" * 1000).status_code == 200


def test_metadata_refuses_unknown_or_foreign_media_and_malformed_bodies(
    http: httpx.Client,
) -> None:
    media_id = upload(http, "42")
    foreign = describe(http, "43", media_id, "not yours")
    assert foreign.status_code == 404
    assert foreign.json()["type"] == "https://api.twitter.com/2/problems/resource-not-found"
    assert describe(http, "42", "1234567890", "no such media").status_code == 404
    for body in (
        {"media_id": media_id, "alt_text": {"text": "v1.1 shape"}},
        {"id": "abc", "metadata": {"alt_text": {"text": "x"}}},
        {"id": media_id},
        {"id": media_id, "metadata": {"alt_text": {"text": 5}}},
    ):
        refused = http.post("/2/media/metadata", json=body, headers=x_auth("42"))
        assert refused.status_code == 400, (body, refused.text)
    unauthenticated = http.post(
        "/2/media/metadata", json={"id": media_id, "metadata": {"alt_text": {"text": "x"}}}
    )
    assert unauthenticated.status_code == 401
