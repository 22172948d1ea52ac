"""The delivery log in words, on SQLite and PostgreSQL: the API's attempts carry the article's
title and one sentence each (new fields; the old ones stay); the web log's read model groups a
page's attempts by post with a fixed number of bounded queries and shows each post once while
paging; a channel that is only rate-limited reads "rate_limited", not "failing"."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from scheduler.db.engine import session_scope
from scheduler.models import AttemptStatus, PostStatus, utcnow
from scheduler.ops.delivery_groups import delivery_entries
from scheduler.web.clock import fmt_time
from tests.api.conftest import ApiHarness
from tests.api.ops_support import _get
from tests.api.test_channel_health_api import _health, _posts, _set_channel
from tests.utils.factories import add_attempt, by_platform, seed_article, set_post

RETRY, FAILED, OK = AttemptStatus.RETRY, AttemptStatus.FAILED, AttemptStatus.SUCCEEDED


def test_api_deliveries_carry_the_title_and_one_sentence_and_keep_their_fields(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    posts = by_platform(seed_article(api.engine, article_json))
    x = posts["x"]
    add_attempt(api.engine, x, status=RETRY, error_class="ambiguous", minutes_ago=9)
    add_attempt(api.engine, x, status=RETRY, error_class="rate_limited", minutes_ago=6)
    retry_at = utcnow() + timedelta(minutes=5)
    set_post(api.engine, x.id, status=PostStatus.RETRY_WAIT, next_attempt_at=retry_at)
    add_attempt(api.engine, posts["facebook"], status=OK, minutes_ago=3)

    body = _get(api, "/api/v1/deliveries")
    rows = {(d["channel"], d["number"]): d for d in body["deliveries"]}
    assert {d["article_title"] for d in body["deliveries"]} == {article_json["title"]}
    tz = api.settings.newsroom_timezone
    fb = rows[("facebook", 1)]
    assert fb["summary"].startswith("Published on Facebook at ")
    assert fb["status"] == "succeeded" and fb["http_status"] == 200  # the old fields stay
    # The newest X attempt says when it is retried and how many attempts are left (rate limits
    # do not spend them; the dropped connection did); the older one says it was retried.
    assert rows[("x", 2)]["summary"] == (
        f"Rate-limited by X until {fmt_time(retry_at, tz)}; "
        f"{api.settings.max_attempts - 1} attempts left."
    )
    assert rows[("x", 1)]["summary"].endswith(
        "we checked and the post was not there, so it was retried."
    )


def test_the_web_log_groups_a_page_by_post_in_bounded_queries_and_pages_each_post_once(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    first = by_platform(seed_article(api.engine, article_json, tag="g1"))
    second = by_platform(seed_article(api.engine, article_json, tag="g2"))
    add_attempt(api.engine, first["x"], status=RETRY, error_class="retry", minutes_ago=50)
    add_attempt(api.engine, second["x"], status=OK, minutes_ago=40)
    add_attempt(api.engine, first["x"], status=RETRY, error_class="retry", minutes_ago=30)
    add_attempt(api.engine, first["x"], status=FAILED, error_class="permanent", minutes_ago=20)
    add_attempt(api.engine, second["facebook"], status=OK, minutes_ago=10)

    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sa.event.listen(api.engine, "before_cursor_execute", record)
    try:
        with session_scope(api.engine) as s:
            entries, _ = delivery_entries(session=s, tz="UTC", max_attempts=6, limit=50)
    finally:
        sa.event.remove(api.engine, "before_cursor_execute", record)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 3  # the page, its posts' attempts, its posts: whatever the size
    assert [(e.platform, e.attempt_count) for e in entries] == [
        ("facebook", 1),
        ("x", 3),  # the first X post: three attempts, one entry
        ("x", 1),
    ]
    grouped = entries[1]
    assert grouped.article_title == article_json["title"]
    assert [a.number for a in grouped.attempts] == [3, 2, 1]
    assert grouped.latest.sentence.endswith("— not retried.")
    assert grouped.attempts[1].sentence.endswith("; it was retried.")

    # Pages of two attempts: every post once, newest first, however its attempts fall.
    seen, cursor = [], None
    while True:
        with session_scope(api.engine) as s:
            page, cursor = delivery_entries(
                session=s, tz="UTC", max_attempts=6, limit=2, cursor=cursor
            )
        seen += [e.post_id for e in page]
        if cursor is None:
            break
    assert seen == [second["facebook"].id, first["x"].id, second["x"].id]


def test_a_channel_that_is_only_rate_limited_reads_rate_limited_not_failing(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    posts = _posts(api, article_json, 2)
    x, ig = posts[0]["x"], posts[0]["instagram"]
    for minutes in (30, 20, 10, 5):
        add_attempt(api.engine, x, status=RETRY, error_class="rate_limited", minutes_ago=minutes)
    _set_channel(api, x.channel_id, rate_limited_until=utcnow() + timedelta(minutes=15))
    # Instagram: real failures around a rate limit still make a failing streak.
    for minutes, error_class in ((30, "permanent"), (20, "quota"), (10, "retry"), (5, "retry")):
        add_attempt(api.engine, ig, status=RETRY, error_class=error_class, minutes_ago=minutes)

    health = _health(api)
    assert health["x"]["state"] == "rate_limited"
    assert (health["x"]["recent_failures"], health["x"]["recent_rate_limited"]) == (0, 4)
    assert health["x"]["failures_since_success"] == 0
    assert health["instagram"]["state"] == "failing"
    assert health["instagram"]["failures_since_success"] == 3

    # Once the limit has reset, the throttling still shows, as "degraded" in words.
    _set_channel(api, x.channel_id, rate_limited_until=utcnow() - timedelta(minutes=1))
    x_health = _health(api)["x"]
    assert x_health["state"] == "degraded"
    assert x_health["detail"] == (
        "4 of the last 4 delivery attempts were rate-limited; the limit has reset."
    )
