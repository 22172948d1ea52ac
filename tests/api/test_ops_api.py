"""The ops API through HTTP on SQLite and PostgreSQL: the delivery log (filters, keyset
pages, live stream)."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from typing import Any

from scheduler.db.cursors import encode_cursor
from scheduler.models import AttemptStatus, utcnow
from tests.api.conftest import ApiHarness
from tests.api.ops_support import ZERO, _get
from tests.utils.factories import add_attempt, by_platform, seed_article


def test_deliveries_filter_by_status_channel_error_class_and_time_range(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    posts = by_platform(seed_article(api.engine, article_json))
    ok_x = add_attempt(api.engine, posts["x"], minutes_ago=30)
    failed_ig = add_attempt(
        api.engine,
        posts["instagram"],
        status=AttemptStatus.FAILED,
        error_class="permanent",
        minutes_ago=20,
    )
    retry_fb = add_attempt(
        api.engine,
        posts["facebook"],
        status=AttemptStatus.RETRY,
        error_class="rate_limited",
        minutes_ago=10,
    )

    def ids(body: dict[str, Any]) -> list[str]:
        return [d["id"] for d in body["deliveries"]]

    everything = _get(api, "/api/v1/deliveries")
    assert ids(everything) == [str(retry_fb), str(failed_ig), str(ok_x)]
    assert everything["next_cursor"] is None
    assert ids(_get(api, "/api/v1/deliveries", status="failed")) == [str(failed_ig)]
    assert ids(_get(api, "/api/v1/deliveries", channel="x")) == [str(ok_x)]
    channel_id = str(posts["facebook"].channel_id)
    assert ids(_get(api, "/api/v1/deliveries", channel=channel_id)) == [str(retry_fb)]
    assert ids(_get(api, "/api/v1/deliveries", error_class="rate_limited")) == [str(retry_fb)]
    window = {
        "from": (utcnow() - timedelta(minutes=25)).isoformat(),
        "to": (utcnow() - timedelta(minutes=15)).isoformat(),
    }
    assert ids(_get(api, "/api/v1/deliveries", **window)) == [str(failed_ig)]
    naive = api.client.get(
        "/api/v1/deliveries", params={"from": "2025-01-01T00:00:00"}, headers=api.headers("ops")
    )
    assert naive.status_code == 422
    assert naive.headers["content-type"] == "application/problem+json"


def test_delivery_pages_walk_every_attempt_once_newest_first(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    made = []
    for n in range(3):
        posts = seed_article(api.engine, article_json, tag=f"page{n}")
        for i, post in enumerate(posts):
            made.append(add_attempt(api.engine, post, minutes_ago=60 - n * 10 - i))
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 4} | ({"cursor": cursor} if cursor else {})
        body = _get(api, "/api/v1/deliveries", **params)
        seen += [d["id"] for d in body["deliveries"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
        # An attempt arriving mid-walk must not shift the pages already handed out.
        if pages == 1:
            add_attempt(api.engine, posts[0], status=AttemptStatus.FAILED, minutes_ago=0)
    assert pages == 3
    assert seen == [str(a) for a in reversed(made)]


def test_deliveries_refuse_a_cursor_the_api_did_not_issue(api: ApiHarness) -> None:
    response = api.client.get(
        "/api/v1/deliveries", params={"cursor": "bm90LWEtY3Vyc29y"}, headers=api.headers("ops")
    )
    assert response.status_code == 422
    assert "cursor" in response.json()["detail"]


def _events(text: str) -> list[dict[str, Any]]:
    events = []
    for block in text.split("\n\n"):
        lines = dict(
            line.split(": ", 1) for line in block.splitlines() if line and not line.startswith(":")
        )
        if lines.get("event") == "delivery":
            events.append({"id": lines["id"], "data": json.loads(lines["data"])})
    return events


def _stream(
    api: ApiHarness, *, seconds: float, after: str | None = None, last_event_id: str | None = None
) -> list[dict[str, Any]]:
    params: dict[str, Any] = {"max_seconds": seconds} | ({"after": after} if after else {})
    headers = api.headers("ops") | ({"Last-Event-ID": last_event_id} if last_event_id else {})
    response = api.client.get("/api/v1/deliveries/stream", params=params, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return _events(response.text)


def test_delivery_stream_sends_backlog_after_last_event_id_then_new_attempts(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    posts = by_platform(seed_article(api.engine, article_json))
    first = add_attempt(api.engine, posts["x"], minutes_ago=5)
    second = add_attempt(api.engine, posts["instagram"], status=AttemptStatus.FAILED, minutes_ago=4)
    replay = _stream(api, seconds=0.1, after=encode_cursor(utcnow() - timedelta(days=1), ZERO))
    assert [e["data"]["id"] for e in replay] == [str(first), str(second)]
    # Reconnecting with the first event's id resumes after it (header or query parameter).
    resumed = _stream(api, seconds=0.1, last_event_id=replay[0]["id"])
    assert [e["data"]["id"] for e in resumed] == [str(second)]
    assert [e["data"]["id"] for e in _stream(api, seconds=0.1, after=replay[0]["id"])] == [
        str(second)
    ]
    # Without a position only attempts finishing from now on are sent.
    assert _stream(api, seconds=0.1) == []

    def finish_later() -> None:
        time.sleep(1.2)
        add_attempt(api.engine, posts["facebook"], status=AttemptStatus.RETRY, minutes_ago=0)

    worker = threading.Thread(target=finish_later)
    worker.start()
    live = _stream(api, seconds=3.5)
    worker.join()
    assert [(e["data"]["channel"], e["data"]["status"]) for e in live] == [("facebook", "retry")]
    assert live[0]["id"]
