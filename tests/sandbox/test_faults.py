"""Injected faults: 429 with headers, 5xx, expired tokens, duplicates, latency, and the
ambiguous "accepted, then the connection drops" case."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from adapters.sandbox import SandboxClient, SandboxServer
from tests.sandbox.tokens import graph_token, x_auth

IG = "17841400000000002"
PAGE = "112130216863064"


def test_x_rate_limit_fault_answers_429_with_reset_from_when_it_was_set(
    http: httpx.Client, admin: SandboxClient
) -> None:
    set_at = time.time()
    admin.set_fault("42", platform="x", rate_limit_seconds=120)

    response = http.post("/2/tweets", json={"text": "hi"}, headers=x_auth("42"))
    other = http.post("/2/tweets", json={"text": "hi"}, headers=x_auth("43"))

    assert response.status_code == 429
    assert response.json() == {
        "title": "Too Many Requests",
        "detail": "Too Many Requests",
        "type": "about:blank",
        "status": 429,
    }
    assert response.headers["x-rate-limit-remaining"] == "0"
    assert abs(int(response.headers["x-rate-limit-reset"]) - (set_at + 120)) <= 2
    assert other.status_code == 201
    assert admin.requests(account="42")[0]["fault"] == "429"


def test_fb_rate_limit_fault_is_80001_with_minutes_to_regain_access(
    http: httpx.Client, admin: SandboxClient
) -> None:
    admin.set_fault(PAGE, platform="facebook", rate_limit_seconds=600)

    response = http.post(f"/v26.0/{PAGE}/feed", data={"message": "m", **graph_token(PAGE)})

    assert response.json()["error"]["code"] == 80001
    usage = json.loads(response.headers["x-business-use-case-usage"])[PAGE][0]
    assert usage["call_count"] == 100
    assert 9 <= usage["estimated_time_to_regain_access"] <= 10


def test_ig_rate_limit_fault_is_80002(
    http: httpx.Client, sandbox: SandboxServer, admin: SandboxClient
) -> None:
    admin.set_fault(IG, platform="instagram", fail_next={"kind": "429", "count": 1})

    response = http.post(
        f"/v26.0/{IG}/media",
        data={"image_url": f"{sandbox.url}/_sandbox/images/1080x1080.jpg", **graph_token(IG)},
    )

    assert response.json()["error"]["code"] == 80002
    usage = json.loads(response.headers["x-business-use-case-usage"])[IG][0]
    assert usage["type"] == "instagram" and usage["estimated_time_to_regain_access"] >= 1


def test_error_rate_one_gives_5xx_and_creates_nothing(
    http: httpx.Client, admin: SandboxClient
) -> None:
    admin.set_fault("42", error_rate=1.0)

    x = http.post("/2/tweets", json={"text": "hi"}, headers=x_auth("42"))
    fb = http.post("/v26.0/42/feed", data={"message": "hi", **graph_token("42")})

    assert x.status_code == 503 and x.json()["title"] == "Service Unavailable"
    assert fb.status_code == 500
    assert fb.json()["error"]["code"] == 2 and fb.json()["error"]["is_transient"] is True
    assert admin.posts() == []


def test_x_drop_fault_raises_remote_protocol_error_yet_post_is_live_and_recorded(
    http: httpx.Client, admin: SandboxClient
) -> None:
    admin.set_fault("42", platform="x", fail_next={"kind": "drop", "count": 1})

    with pytest.raises(httpx.RemoteProtocolError):
        http.post("/2/tweets", json={"text": "ambiguous"}, headers=x_auth("42"))
    timeline = http.get("/2/users/42/tweets", headers=x_auth("42")).json()
    retry = http.post("/2/tweets", json={"text": "ambiguous"}, headers=x_auth("42"))

    [post] = admin.posts(platform="x")
    [record] = admin.requests(kind="create", account="42")[:1]
    assert post["text"] == "ambiguous"
    assert timeline["data"][0]["id"] == post["id"]
    assert record["status"] is None and record["fault"] == "drop"
    assert record["created_id"] == post["id"]
    assert retry.status_code == 403


def test_drop_rate_one_drops_every_create_but_all_are_live(
    http: httpx.Client, admin: SandboxClient
) -> None:
    admin.set_fault(PAGE, platform="facebook", drop_rate=1.0, seed=7)

    for n in range(3):
        with pytest.raises(httpx.RemoteProtocolError):
            http.post(f"/v26.0/{PAGE}/feed", data={"message": f"m{n}", **graph_token(PAGE)})
    feed = http.get(f"/v26.0/{PAGE}/feed", params=graph_token(PAGE))

    assert feed.status_code == 200
    assert [p["message"] for p in feed.json()["data"]] == ["m2", "m1", "m0"]


def test_ig_drop_on_publish_leaves_container_published_and_never_publishes_twice(
    http: httpx.Client, sandbox: SandboxServer, admin: SandboxClient
) -> None:
    admin.set_fault(IG, platform="instagram", fail_next={"kind": "drop", "count": 1})
    container_id = http.post(
        f"/v26.0/{IG}/media",
        data={"image_url": f"{sandbox.url}/_sandbox/images/1080x1080.jpg", **graph_token(IG)},
    ).json()["id"]

    with pytest.raises(httpx.RemoteProtocolError):
        http.post(
            f"/v26.0/{IG}/media_publish", params={"creation_id": container_id, **graph_token(IG)}
        )
    status = http.get(f"/v26.0/{container_id}", params={"fields": "status_code", **graph_token(IG)})
    again = http.post(
        f"/v26.0/{IG}/media_publish", params={"creation_id": container_id, **graph_token(IG)}
    )

    assert status.json()["status_code"] == "PUBLISHED"
    assert again.status_code == 400
    assert len(admin.posts(platform="instagram")) == 1


def test_expired_token_fault_is_x_401_and_meta_190_463(
    http: httpx.Client, admin: SandboxClient
) -> None:
    admin.set_fault("42", expired_token=True)

    x = http.get("/2/users/42/tweets", headers=x_auth("42"))
    fb = http.post("/v26.0/42/feed", data={"message": "hi", **graph_token("42")})

    assert x.status_code == 401 and x.json()["detail"] == "Unauthorized"
    error = fb.json()["error"]
    assert (error["code"], error["error_subcode"]) == (190, 463)
    assert error["message"].startswith("Error validating access token: Session has expired")


def test_duplicate_and_permanent_faults_use_platform_bodies(
    http: httpx.Client, admin: SandboxClient
) -> None:
    admin.set_fault("42", platform="x", duplicate=True)
    admin.set_fault(PAGE, platform="facebook", permanent=True)

    x = http.post("/2/tweets", json={"text": "fresh text"}, headers=x_auth("42"))
    fb = http.post(f"/v26.0/{PAGE}/feed", data={"message": "m", **graph_token(PAGE)})

    assert x.status_code == 403 and "duplicate content" in x.json()["detail"]
    assert fb.json()["error"]["code"] == 100


def test_fail_next_is_consumed_by_creates_only_then_clears(
    http: httpx.Client, admin: SandboxClient
) -> None:
    admin.set_fault("42", platform="x", fail_next={"kind": "5xx", "count": 2})

    listing = http.get("/2/users/42/tweets", headers=x_auth("42"))
    codes = [
        http.post("/2/tweets", json={"text": f"t{n}"}, headers=x_auth("42")).status_code
        for n in range(3)
    ]

    assert listing.status_code == 200
    assert codes == [503, 503, 201]
    assert admin.faults()[0]["fail_next"] == []


def test_latency_fault_delays_only_that_account(http: httpx.Client, admin: SandboxClient) -> None:
    admin.set_fault("slow", latency_ms=300)

    started = time.monotonic()
    http.post("/2/tweets", json={"text": "slow"}, headers=x_auth("slow"))
    slow = time.monotonic() - started
    started = time.monotonic()
    http.post("/2/tweets", json={"text": "fast"}, headers=x_auth("fast"))
    fast = time.monotonic() - started

    assert slow >= 0.3
    assert fast < 0.2


def test_clearing_faults_restores_normal_answers(http: httpx.Client, admin: SandboxClient) -> None:
    admin.set_fault("42", error_rate=1.0)
    admin.clear_faults("42")

    response = http.post("/2/tweets", json={"text": "ok"}, headers=x_auth("42"))

    assert response.status_code == 201
    assert admin.faults() == []


def test_invalid_fault_config_is_refused(admin: SandboxClient) -> None:
    with pytest.raises(ValueError, match="error_rate"):
        admin.set_fault("42", error_rate=2)
    with pytest.raises(ValueError, match="unknown fields"):
        admin.set_fault("42", explode=True)


def test_x_usage_cap_and_credits_faults_use_their_problem_types(
    http: httpx.Client, sandbox: SandboxServer
) -> None:
    sandbox.state.set_fault(
        "42",
        platform="x",
        fail_next=[{"kind": "usage_capped", "count": 1}, {"kind": "credits", "count": 1}],
    )

    capped = http.post("/2/tweets", json={"text": "a"}, headers=x_auth("42"))
    broke = http.post("/2/tweets", json={"text": "b"}, headers=x_auth("42"))

    assert capped.status_code == 429 and capped.json()["type"].endswith("/usage-capped")
    assert broke.status_code == 402 and broke.json()["type"].endswith("/credits-depleted")


def test_fb_blocked_fault_is_368_1390008(http: httpx.Client, sandbox: SandboxServer) -> None:
    sandbox.state.set_fault(PAGE, platform="facebook", blocked=True)

    response = http.post(f"/v26.0/{PAGE}/feed", data={"message": "m", **graph_token(PAGE)})

    error = response.json()["error"]
    assert (error["code"], error["error_subcode"]) == (368, 1390008)
