"""Parsing X and Meta rate-limit headers into a dict and a reset time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from adapters.ratelimit import (
    meta_max_percent,
    meta_regain_minutes,
    meta_reset_at,
    parse_meta_usage,
    parse_x_rate_limit,
    x_exhausted,
    x_reset_at,
)

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
EPOCH = int(NOW.timestamp())


def test_x_headers_parse_all_three_families_case_insensitively() -> None:
    headers = httpx.Headers(
        {
            "X-Rate-Limit-Limit": "100",
            "x-rate-limit-remaining": "99",
            "x-rate-limit-reset": str(EPOCH + 900),
            "x-user-limit-24hour-limit": "2400",
            "x-user-limit-24hour-remaining": "2399",
            "x-user-limit-24hour-reset": str(EPOCH + 86400),
            "x-app-limit-24hour-limit": "10000",
            "x-app-limit-24hour-remaining": "9000",
            "x-app-limit-24hour-reset": str(EPOCH + 3600),
            "x-transaction-id": "abc",
        }
    )
    assert parse_x_rate_limit(headers) == {
        "window": {"limit": 100, "remaining": 99, "reset": EPOCH + 900},
        "user_24hour": {"limit": 2400, "remaining": 2399, "reset": EPOCH + 86400},
        "app_24hour": {"limit": 10000, "remaining": 9000, "reset": EPOCH + 3600},
    }


def test_x_garbled_and_missing_headers_are_ignored() -> None:
    assert parse_x_rate_limit({"x-rate-limit-remaining": "lots"}) == {}
    assert parse_x_rate_limit({}) == {}


def test_x_reset_is_the_15_minute_window_when_nothing_is_exhausted() -> None:
    rl = parse_x_rate_limit({"x-rate-limit-remaining": "5", "x-rate-limit-reset": str(EPOCH + 60)})
    assert not x_exhausted(rl)
    assert x_reset_at(rl) == NOW + timedelta(seconds=60)


def test_x_reset_is_the_exhausted_24_hour_window_not_the_sooner_15_minute_one() -> None:
    rl = parse_x_rate_limit(
        {
            "x-rate-limit-remaining": "50",
            "x-rate-limit-reset": str(EPOCH + 600),
            "x-user-limit-24hour-remaining": "0",
            "x-user-limit-24hour-reset": str(EPOCH + 7200),
        }
    )
    assert x_exhausted(rl)
    assert x_reset_at(rl) == NOW + timedelta(hours=2)


def test_x_reset_waits_for_every_exhausted_window() -> None:
    rl = parse_x_rate_limit(
        {
            "x-rate-limit-remaining": "0",
            "x-rate-limit-reset": str(EPOCH + 600),
            "x-app-limit-24hour-remaining": "0",
            "x-app-limit-24hour-reset": str(EPOCH + 5000),
        }
    )
    assert x_reset_at(rl) == NOW + timedelta(seconds=5000)


def test_x_reset_unknown_without_headers() -> None:
    assert x_reset_at({}) is None


BUC_SAMPLE = (
    '{"112130216863063":[{"type":"pages","call_count":1,"total_cputime":1,"total_time":1,'
    '"estimated_time_to_regain_access":0,"ads_api_access_tier":"development_access"}]}'
)


def test_meta_headers_decode_app_page_and_buc_usage() -> None:
    usage = parse_meta_usage(
        httpx.Headers(
            {
                "X-App-Usage": '{"call_count":28,"total_time":25,"total_cputime":25}',
                "X-Page-Usage": '{"call_count":12,"total_time":3,"total_cputime":4}',
                "X-Business-Use-Case-Usage": BUC_SAMPLE,
            }
        )
    )
    assert usage["app"] == {"call_count": 28, "total_time": 25, "total_cputime": 25}
    assert usage["page"]["call_count"] == 12
    assert usage["business_use_case"]["112130216863063"][0]["type"] == "pages"
    assert meta_max_percent(usage) == 28
    assert meta_regain_minutes(usage) == 0


def test_meta_garbled_header_is_skipped() -> None:
    assert parse_meta_usage({"x-app-usage": "{not json"}) == {}


def test_meta_reset_uses_largest_regain_minutes_across_objects() -> None:
    buc = (
        '{"1":[{"type":"pages","call_count":100,"estimated_time_to_regain_access":5}],'
        '"2":[{"type":"instagram","call_count":80,"estimated_time_to_regain_access":42}]}'
    )
    usage = parse_meta_usage({"x-business-use-case-usage": buc})
    assert meta_regain_minutes(usage) == 42
    assert meta_reset_at(usage, now=NOW) == NOW + timedelta(minutes=42)


def test_meta_reset_falls_back_to_15_minutes_or_an_hour_when_saturated() -> None:
    assert meta_reset_at({}, now=NOW) == NOW + timedelta(minutes=15)
    saturated = parse_meta_usage({"x-app-usage": '{"call_count":100}'})
    assert meta_reset_at(saturated, now=NOW) == NOW + timedelta(minutes=60)
