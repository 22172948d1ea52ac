"""X API v2 emulation over real HTTP: POST /2/tweets, the timeline and media upload v2."""

from __future__ import annotations

import time

import httpx

from adapters.sandbox import SandboxClient, SandboxServer
from tests.sandbox.tokens import x_auth


def test_x_create_returns_201_with_19_digit_id_and_rate_limit_headers(http: httpx.Client) -> None:
    response = http.post("/2/tweets", json={"text": "Dar in Istanbul"}, headers=x_auth("42"))

    assert response.status_code == 201
    data = response.json()["data"]
    assert len(data["id"]) == 19 and data["id"].isdigit()
    assert data["text"] == "Dar in Istanbul"
    assert data["edit_history_tweet_ids"] == [data["id"]]
    headers = response.headers
    assert int(headers["x-rate-limit-remaining"]) == int(headers["x-rate-limit-limit"]) - 1
    assert int(headers["x-rate-limit-reset"]) > time.time()
    for family in ("user", "app"):
        assert f"x-{family}-limit-24hour-limit" in headers
        assert f"x-{family}-limit-24hour-remaining" in headers
        assert int(headers[f"x-{family}-limit-24hour-reset"]) > time.time()


def test_x_create_refuses_weighted_length_over_280(http: httpx.Client) -> None:
    # 141 CJK characters weigh 282 (PLATFORMS.md §2.1) although the string is 141 long.
    response = http.post("/2/tweets", json={"text": "漢" * 141}, headers=x_auth("42"))

    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "https://api.twitter.com/2/problems/invalid-request"
    assert body["errors"][0]["message"] == "Your Tweet text is too long."


def test_x_create_accepts_exactly_280_weighted(http: httpx.Client) -> None:
    response = http.post("/2/tweets", json={"text": "漢" * 140}, headers=x_auth("42"))

    assert response.status_code == 201


def test_x_identical_text_by_same_user_is_403_duplicate(http: httpx.Client) -> None:
    assert http.post("/2/tweets", json={"text": "same"}, headers=x_auth("42")).status_code == 201
    other_user = http.post("/2/tweets", json={"text": "same"}, headers=x_auth("43"))
    again = http.post("/2/tweets", json={"text": "same"}, headers=x_auth("42"))

    assert other_user.status_code == 201
    assert again.status_code == 403
    assert again.json() == {
        "detail": "You are not allowed to create a Tweet with duplicate content.",
        "type": "about:blank",
        "title": "Forbidden",
        "status": 403,
    }


def test_x_missing_or_malformed_token_is_401_about_blank(http: httpx.Client) -> None:
    expected = {
        "title": "Unauthorized",
        "type": "about:blank",
        "status": 401,
        "detail": "Unauthorized",
    }
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic x"}):
        response = http.post("/2/tweets", json={"text": "hi"}, headers=headers)
        assert response.status_code == 401
        assert response.json() == expected


def test_x_create_refuses_properties_outside_the_schema(http: httpx.Client) -> None:
    response = http.post("/2/tweets", json={"text": "hi", "url": "x"}, headers=x_auth("42"))

    assert response.status_code == 400
    assert "$.url: is not defined in the schema" in response.json()["errors"][0]["message"]


def test_x_reply_to_unknown_post_is_404_and_own_thread_works(http: httpx.Client) -> None:
    missing = http.post(
        "/2/tweets",
        json={"text": "part 2", "reply": {"in_reply_to_tweet_id": "1234567890123456789"}},
        headers=x_auth("42"),
    )
    first = http.post("/2/tweets", json={"text": "part 1"}, headers=x_auth("42")).json()["data"]
    second = http.post(
        "/2/tweets",
        json={"text": "part 2", "reply": {"in_reply_to_tweet_id": first["id"]}},
        headers=x_auth("42"),
    )

    assert missing.status_code == 404
    assert missing.json()["type"].endswith("/resource-not-found")
    assert second.status_code == 201


def test_x_timeline_lists_newest_first_with_max_results_and_start_time(
    http: httpx.Client,
) -> None:
    before = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
    ids = [
        http.post("/2/tweets", json={"text": f"post {n}"}, headers=x_auth("42")).json()["data"][
            "id"
        ]
        for n in range(7)
    ]

    page = http.get(
        "/2/users/42/tweets", params={"max_results": 5, "start_time": before}, headers=x_auth("42")
    )
    future = http.get(
        "/2/users/42/tweets", params={"start_time": "2099-01-01T00:00:00Z"}, headers=x_auth("42")
    )
    too_small = http.get("/2/users/42/tweets", params={"max_results": 2}, headers=x_auth("42"))

    body = page.json()
    assert [t["id"] for t in body["data"]] == list(reversed(ids))[:5]
    assert body["data"][0]["text"] == "post 6" and body["data"][0]["created_at"].endswith("Z")
    assert body["meta"]["result_count"] == 5 and "next_token" in body["meta"]
    assert future.json() == {"meta": {"result_count": 0}}
    assert too_small.status_code == 400


def test_x_media_upload_v2_flow_then_post_with_media(http: httpx.Client) -> None:
    chunk = b"\xff\xd8" + b"x" * 998
    init = http.post(
        "/2/media/upload/initialize",
        json={"media_type": "image/jpeg", "total_bytes": 2000, "media_category": "tweet_image"},
        headers=x_auth("42"),
    )
    media_id = init.json()["data"]["id"]
    appends = [
        http.post(
            f"/2/media/upload/{media_id}/append",
            data={"segment_index": str(i)},
            files={"media": ("blob", chunk, "application/octet-stream")},
            headers=x_auth("42"),
        )
        for i in range(2)
    ]
    finalize = http.post(f"/2/media/upload/{media_id}/finalize", headers=x_auth("42"))
    status = http.get(
        "/2/media/upload", params={"command": "STATUS", "media_id": media_id}, headers=x_auth("42")
    )
    post = http.post(
        "/2/tweets",
        json={"text": "with photo", "media": {"media_ids": [media_id]}},
        headers=x_auth("42"),
    )

    assert init.status_code == 200 and init.json()["data"]["media_key"] == f"3_{media_id}"
    assert [a.status_code for a in appends] == [200, 200]
    assert "expires_at" in appends[0].json()["data"]
    assert finalize.status_code == 200 and finalize.json()["data"]["size"] == 2000
    assert status.json()["data"]["processing_info"]["state"] == "succeeded"
    assert post.status_code == 201


def test_x_media_upload_legacy_command_form(http: httpx.Client) -> None:
    init = http.post(
        "/2/media/upload",
        data={"command": "INIT", "media_type": "image/png", "total_bytes": "3"},
        headers=x_auth("42"),
    )
    media_id = init.json()["data"]["id"]
    append = http.post(
        "/2/media/upload",
        data={"command": "APPEND", "media_id": media_id, "segment_index": "0"},
        files={"media": ("blob", b"abc")},
        headers=x_auth("42"),
    )
    finalize = http.post(
        "/2/media/upload", data={"command": "FINALIZE", "media_id": media_id}, headers=x_auth("42")
    )

    assert (init.status_code, append.status_code, finalize.status_code) == (200, 200, 200)


def test_x_media_upload_enforces_total_bytes_and_segment_range(http: httpx.Client) -> None:
    too_big = http.post(
        "/2/media/upload/initialize",
        json={"media_type": "image/jpeg", "total_bytes": 6 * 1024 * 1024},
        headers=x_auth("42"),
    )
    media_id = http.post(
        "/2/media/upload/initialize",
        json={"media_type": "image/jpeg", "total_bytes": 4},
        headers=x_auth("42"),
    ).json()["data"]["id"]
    bad_index = http.post(
        f"/2/media/upload/{media_id}/append",
        data={"segment_index": "1000"},
        files={"media": ("b", b"ab")},
        headers=x_auth("42"),
    )
    overflow = http.post(
        f"/2/media/upload/{media_id}/append",
        data={"segment_index": "0"},
        files={"media": ("b", b"abcdef")},
        headers=x_auth("42"),
    )
    early_finalize = http.post(f"/2/media/upload/{media_id}/finalize", headers=x_auth("42"))

    assert too_big.status_code == 400
    assert bad_index.status_code == 400
    assert overflow.status_code == 400
    assert early_finalize.status_code == 400


def test_x_post_with_unfinalized_or_foreign_media_is_400(http: httpx.Client) -> None:
    media_id = http.post(
        "/2/media/upload/initialize",
        json={"media_type": "image/jpeg", "total_bytes": 4},
        headers=x_auth("42"),
    ).json()["data"]["id"]

    unfinalized = http.post(
        "/2/tweets", json={"text": "a", "media": {"media_ids": [media_id]}}, headers=x_auth("42")
    )
    foreign = http.post(
        "/2/tweets", json={"text": "b", "media": {"media_ids": [media_id]}}, headers=x_auth("43")
    )

    assert unfinalized.status_code == 400
    assert unfinalized.json()["errors"][0]["message"] == "Your media IDs are invalid."
    assert foreign.status_code == 400


def test_x_video_media_goes_through_processing_states(
    http: httpx.Client, sandbox: SandboxServer
) -> None:
    sandbox.state.config.video_processing_seconds = 0.3
    try:
        media_id = http.post(
            "/2/media/upload/initialize",
            json={"media_type": "video/mp4", "total_bytes": 3, "media_category": "tweet_video"},
            headers=x_auth("42"),
        ).json()["data"]["id"]
        http.post(
            f"/2/media/upload/{media_id}/append",
            data={"segment_index": "0"},
            files={"media": ("v", b"abc")},
            headers=x_auth("42"),
        )
        final = http.post(f"/2/media/upload/{media_id}/finalize", headers=x_auth("42")).json()
        time.sleep(0.35)
        status = http.get(
            "/2/media/upload",
            params={"command": "STATUS", "media_id": media_id},
            headers=x_auth("42"),
        ).json()
    finally:
        sandbox.state.config.video_processing_seconds = 1.0

    assert final["data"]["processing_info"]["state"] in ("pending", "in_progress")
    assert final["data"]["processing_info"]["check_after_secs"] >= 1
    assert status["data"]["processing_info"]["state"] == "succeeded"


def test_x_user_15_minute_limit_answers_429_with_remaining_zero(
    http: httpx.Client, admin: SandboxClient
) -> None:
    admin.set_fault("77", platform="x", x_limit_15min=2)

    codes = [http.post("/2/tweets", json={"text": f"t{n}"}, headers=x_auth("77")) for n in range(3)]

    assert [r.status_code for r in codes] == [201, 201, 429]
    assert codes[2].headers["x-rate-limit-remaining"] == "0"
    assert codes[2].json() == {
        "title": "Too Many Requests",
        "detail": "Too Many Requests",
        "type": "about:blank",
        "status": 429,
    }


def test_x_wraps_links_in_tco_and_lists_their_entities(http: httpx.Client) -> None:
    text = "Dar in Istanbul https://example.com/news/dar-istanbul?utm_source=x"
    created = http.post("/2/tweets", json={"text": text}, headers=x_auth("42")).json()["data"]
    listed = http.get(
        "/2/users/42/tweets", params={"tweet.fields": "created_at,entities"}, headers=x_auth("42")
    ).json()["data"][0]

    assert created["text"].startswith("Dar in Istanbul https://t.co/")
    assert listed["text"] == created["text"]
    [url] = listed["entities"]["urls"]
    assert url["expanded_url"] == "https://example.com/news/dar-istanbul?utm_source=x"
    assert listed["text"][url["start"] : url["end"]] == url["url"]
