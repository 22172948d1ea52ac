"""Graph API emulation over real HTTP: Instagram content publishing and Facebook Page posts."""

from __future__ import annotations

import json
import socket
import time

import httpx
import pytest

from adapters.sandbox import SandboxClient, SandboxServer
from tests.sandbox.tokens import graph_token

IG = "17841400000000001"
PAGE = "112130216863063"


def _image(sandbox: SandboxServer, size: str = "1080x1080", ext: str = "jpg") -> str:
    return f"{sandbox.url}/_sandbox/images/{size}.{ext}"


def _container(http: httpx.Client, sandbox: SandboxServer, **params: str) -> httpx.Response:
    data = {"image_url": _image(sandbox), "caption": "Dar in Istanbul", **params}
    return http.post(f"/v26.0/{IG}/media", data={**data, **graph_token(IG)})


def _error(response: httpx.Response) -> tuple[int, int | None]:
    error = response.json()["error"]
    assert error["type"] == "OAuthException" and error["fbtrace_id"]
    return error["code"], error.get("error_subcode")


def test_ig_container_status_publish_flow_makes_one_live_post(
    http: httpx.Client, sandbox: SandboxServer, admin: SandboxClient
) -> None:
    container = _container(http, sandbox)
    container_id = container.json()["id"]
    status = http.get(
        f"/v26.0/{container_id}", params={"fields": "status_code,status", **graph_token(IG)}
    )
    publish = http.post(
        f"/v26.0/{IG}/media_publish", params={"creation_id": container_id, **graph_token(IG)}
    )
    again = http.post(
        f"/v26.0/{IG}/media_publish", params={"creation_id": container_id, **graph_token(IG)}
    )
    after = http.get(f"/v26.0/{container_id}", params={"fields": "status_code", **graph_token(IG)})
    listing = http.get(f"/v26.0/{IG}/media", params=graph_token(IG)).json()["data"]

    assert container.status_code == 200
    assert status.json()["status_code"] == "FINISHED" and status.json()["id"] == container_id
    media_id = publish.json()["id"]
    assert publish.status_code == 200 and media_id != container_id
    assert again.status_code == 400
    assert after.json()["status_code"] == "PUBLISHED"
    assert [m["id"] for m in listing] == [media_id]
    assert listing[0]["caption"] == "Dar in Istanbul"
    assert listing[0]["permalink"].startswith("https://www.instagram.com/p/")
    assert len(admin.posts(platform="instagram")) == 1


@pytest.mark.parametrize(
    ("image", "caption", "expected"),
    [
        ("1080x1920.jpg", "ok", (36003, 2207009)),
        ("1080x1080.png", "ok", (36001, 2207005)),
        ("1080x1080.jpg", "x" * 2201, (100, 2207010)),
        ("1080x1080.jpg", " ".join(f"#tag{n}" for n in range(31)), (100, 2207010)),
        ("1080x1080.jpg", " ".join(f"@user{n}" for n in range(21)), (100, 2207010)),
    ],
)
def test_ig_container_refuses_bad_media_and_captions_with_their_subcodes(
    http: httpx.Client,
    sandbox: SandboxServer,
    image: str,
    caption: str,
    expected: tuple[int, int],
) -> None:
    response = http.post(
        f"/v26.0/{IG}/media",
        data={
            "image_url": f"{sandbox.url}/_sandbox/images/{image}",
            "caption": caption,
            **graph_token(IG),
        },
    )

    assert response.status_code == 400
    assert _error(response) == expected


def test_ig_container_refuses_images_over_8_mib(http: httpx.Client, sandbox: SandboxServer) -> None:
    url = _image(sandbox) + f"?pad_bytes={8 * 1024 * 1024}"

    response = http.post(f"/v26.0/{IG}/media", data={"image_url": url, **graph_token(IG)})

    assert _error(response) == (36000, 2207004)


def test_ig_container_with_unreachable_image_url_fails_to_fetch(http: httpx.Client) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]

    response = http.post(
        f"/v26.0/{IG}/media",
        data={"image_url": f"http://127.0.0.1:{closed_port}/a.jpg", **graph_token(IG)},
    )

    assert _error(response) == (9004, 2207052)


def test_ig_publish_before_finished_is_9007_2207027(
    http: httpx.Client, sandbox: SandboxServer, admin: SandboxClient
) -> None:
    admin.set_fault(IG, platform="instagram", container_delay_ms=300)
    container_id = _container(http, sandbox).json()["id"]

    early = http.post(
        f"/v26.0/{IG}/media_publish", params={"creation_id": container_id, **graph_token(IG)}
    )
    status = http.get(f"/v26.0/{container_id}", params={"fields": "status_code", **graph_token(IG)})
    time.sleep(0.35)
    late = http.post(
        f"/v26.0/{IG}/media_publish", params={"creation_id": container_id, **graph_token(IG)}
    )

    assert _error(early) == (9007, 2207027)
    assert early.json()["error"]["is_transient"] is True
    assert status.json()["status_code"] == "IN_PROGRESS"
    assert late.status_code == 200


def test_ig_container_error_is_injectable(
    http: httpx.Client, sandbox: SandboxServer, admin: SandboxClient
) -> None:
    admin.set_fault(IG, platform="instagram", fail_next={"kind": "container_error", "count": 1})
    container_id = _container(http, sandbox).json()["id"]

    status = http.get(f"/v26.0/{container_id}", params={"fields": "status_code", **graph_token(IG)})
    publish = http.post(
        f"/v26.0/{IG}/media_publish", params={"creation_id": container_id, **graph_token(IG)}
    )

    assert status.json()["status_code"] == "ERROR"
    assert _error(publish) == (-1, 2207032)


def test_ig_publishing_quota_refuses_with_9_2207042_and_reports_usage() -> None:
    with SandboxServer(quota_total=2) as server, httpx.Client(base_url=server.url) as http:
        results = []
        for n in range(3):
            container_id = http.post(
                f"/v26.0/{IG}/media",
                data={"image_url": _image(server), "caption": f"c{n}", **graph_token(IG)},
            ).json()["id"]
            results.append(
                http.post(
                    f"/v26.0/{IG}/media_publish",
                    params={"creation_id": container_id, **graph_token(IG)},
                )
            )
        limit = http.get(f"/v26.0/{IG}/content_publishing_limit", params=graph_token(IG))

    assert [r.status_code for r in results] == [200, 200, 400]
    assert _error(results[2]) == (9, 2207042)
    assert limit.json() == {
        "data": [{"quota_usage": 2, "config": {"quota_total": 2, "quota_duration": 86400}}]
    }


def test_ig_token_for_another_account_cannot_publish(
    http: httpx.Client, sandbox: SandboxServer
) -> None:
    container_id = _container(http, sandbox).json()["id"]

    response = http.post(
        f"/v26.0/{IG}/media_publish",
        params={"creation_id": container_id, **graph_token("someone-else")},
    )

    assert response.status_code == 400
    assert _error(response) == (100, 33)


def test_graph_missing_token_is_190_without_subcode(http: httpx.Client) -> None:
    response = http.post(f"/v26.0/{PAGE}/feed", data={"message": "hi"})

    assert response.status_code == 400
    assert _error(response) == (190, None)
    assert response.json()["error"]["message"].startswith("Invalid OAuth access token")


def test_graph_accepts_any_major_version_and_bearer_token(http: httpx.Client) -> None:
    bearer = {"Authorization": f"Bearer {graph_token(PAGE)['access_token']}"}

    v25 = http.post(f"/v25.0/{PAGE}/feed", data={"message": "one"}, headers=bearer)
    odd = http.post(f"/v25.1/{PAGE}/feed", data={"message": "two"}, headers=bearer)

    assert v25.status_code == 200
    assert odd.status_code == 400


def test_fb_feed_create_returns_page_scoped_id_and_lists_it(
    http: httpx.Client, admin: SandboxClient
) -> None:
    created = http.post(
        f"/v26.0/{PAGE}/feed",
        data={"message": "Dar in Istanbul", "link": "https://example.com/a", **graph_token(PAGE)},
    )
    feed = http.get(f"/v26.0/{PAGE}/feed", params=graph_token(PAGE)).json()["data"]

    post_id = created.json()["id"]
    assert created.status_code == 200 and post_id.startswith(f"{PAGE}_")
    assert feed[0]["id"] == post_id and feed[0]["message"] == "Dar in Istanbul"
    assert feed[0]["permalink_url"] == f"https://www.facebook.com/{post_id}"
    assert feed[0]["created_time"].endswith("+0000")
    assert admin.posts(platform="facebook")[0]["link"] == "https://example.com/a"


def test_fb_sends_app_and_business_use_case_usage_headers(http: httpx.Client) -> None:
    response = http.post(f"/v26.0/{PAGE}/feed", data={"message": "m", **graph_token(PAGE)})

    app = json.loads(response.headers["x-app-usage"])
    buc = json.loads(response.headers["x-business-use-case-usage"])
    assert set(app) == {"call_count", "total_time", "total_cputime"}
    usage = buc[PAGE][0]
    assert usage["type"] == "pages"
    assert usage["estimated_time_to_regain_access"] == 0


def test_fb_consecutive_duplicate_message_is_506(http: httpx.Client) -> None:
    first = http.post(f"/v26.0/{PAGE}/feed", data={"message": "same", **graph_token(PAGE)})
    second = http.post(f"/v26.0/{PAGE}/feed", data={"message": "same", **graph_token(PAGE)})
    http.post(f"/v26.0/{PAGE}/feed", data={"message": "other", **graph_token(PAGE)})
    third = http.post(f"/v26.0/{PAGE}/feed", data={"message": "same", **graph_token(PAGE)})

    assert first.status_code == 200
    assert _error(second) == (506, None)
    assert second.json()["error"]["message"] == "(#506) Duplicate status message"
    assert third.status_code == 200


def test_fb_scheduled_publish_time_outside_window_is_code_100(http: httpx.Client) -> None:
    base = {"message": "later", "published": "false", **graph_token(PAGE)}
    soon = http.post(
        f"/v26.0/{PAGE}/feed", data={**base, "scheduled_publish_time": str(int(time.time()) + 60)}
    )
    fine = http.post(
        f"/v26.0/{PAGE}/feed",
        data={**base, "scheduled_publish_time": str(int(time.time()) + 3600)},
    )
    feed = http.get(f"/v26.0/{PAGE}/feed", params=graph_token(PAGE)).json()["data"]

    assert _error(soon) == (100, None)
    assert "scheduled publish time is invalid" in soon.json()["error"]["message"]
    assert fine.status_code == 200
    assert feed == []


def test_fb_photo_by_url_returns_photo_and_post_ids(
    http: httpx.Client, sandbox: SandboxServer
) -> None:
    response = http.post(
        f"/v26.0/{PAGE}/photos",
        data={"url": _image(sandbox), "caption": "photo", **graph_token(PAGE)},
    )

    body = response.json()
    assert response.status_code == 200
    assert body["post_id"].startswith(f"{PAGE}_") and body["id"].isdigit()


def test_fb_token_for_another_page_is_refused(http: httpx.Client) -> None:
    response = http.post(f"/v26.0/{PAGE}/feed", data={"message": "m", **graph_token("999")})

    assert _error(response) == (200, None)


def test_fb_feed_pages_with_after_cursor_and_next_without_token(http: httpx.Client) -> None:
    for n in range(5):
        http.post(f"/v26.0/{PAGE}/feed", data={"message": f"m{n}", **graph_token(PAGE)})

    first = http.get(f"/v26.0/{PAGE}/feed", params={"limit": 3, **graph_token(PAGE)}).json()
    after = first["paging"]["cursors"]["after"]
    second = http.get(
        f"/v26.0/{PAGE}/feed", params={"limit": 3, "after": after, **graph_token(PAGE)}
    ).json()

    assert [p["message"] for p in first["data"]] == ["m4", "m3", "m2"]
    assert "access_token" not in first["paging"]["next"]
    assert [p["message"] for p in second["data"]] == ["m1", "m0"]
    assert "next" not in second["paging"]
