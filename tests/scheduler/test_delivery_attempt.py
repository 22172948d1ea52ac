"""The delivery hot path end to end on real SQLite and PostgreSQL: the dispatcher's claim, the
worker's fence, the X adapter over ``httpx.MockTransport``, the recorded outcome."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine

from adapters.errors import ErrorClass
from config import Settings
from scheduler.models import AttemptStatus, PostStatus
from tests.utils.delivery import (
    claim,
    deliver,
    due_again,
    due_post,
    empty_timeline,
    load,
    reconcile,
)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(environment="test", data_dir=tmp_path / "data", max_attempts=2)


def unreachable(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def rate_limited(request: httpx.Request) -> httpx.Response:
    return httpx.Response(429, json={"title": "Too Many Requests", "status": 429})


def test_a_post_that_never_gets_through_gives_up_after_the_budget_and_rate_limits_do_not_count(
    engine: Engine, settings: Settings, article_json: dict[str, Any]
) -> None:
    post_id = due_post(engine, settings, article_json)

    assert deliver(engine, claim(engine, post_id), settings, unreachable) == "retry_wait"
    due_again(engine, post_id)
    # A rate limit in between does not use up the budget of two attempts ...
    assert deliver(engine, claim(engine, post_id), settings, rate_limited) == "retry_wait"
    due_again(engine, post_id)
    # ... so the third attempt is the second that counts, and the last.
    assert deliver(engine, claim(engine, post_id), settings, unreachable) == "failed"

    post, attempts = load(engine, post_id)
    assert post.status == PostStatus.FAILED and post.lease_until is None
    assert post.last_error is not None
    assert post.last_error.startswith("Gave up after 2 attempts. Last error: Could not reach X")
    assert [(a.status, a.error_class) for a in attempts] == [
        (AttemptStatus.RETRY, ErrorClass.RETRY),
        (AttemptStatus.RETRY, ErrorClass.RATE_LIMITED),
        (AttemptStatus.FAILED, ErrorClass.RETRY),
    ]
    assert attempts[-1].message is not None
    assert not attempts[-1].message.startswith("Gave up")


def test_a_duplicate_after_an_ambiguous_attempt_is_not_a_failure_but_unknown(
    engine: Engine, settings: Settings, article_json: dict[str, Any]
) -> None:
    post_id = due_post(engine, settings, article_json)

    def accepted_then_dropped(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no answer", request=request)

    def duplicate(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            403,
            json={
                "title": "Forbidden",
                "detail": "You are not allowed to create a Tweet with duplicate content.",
                "type": "about:blank",
                "status": 403,
            },
        )

    assert deliver(engine, claim(engine, post_id), settings, accepted_then_dropped) == "unknown"
    # Reconciliation finds no such post on X: the post goes back to the queue ...
    assert reconcile(engine, post_id, settings, empty_timeline) == "retry_wait"
    due_again(engine, post_id)
    # ... and the retry meets "duplicate": most likely our own first post after all.
    assert deliver(engine, claim(engine, post_id), settings, duplicate) == "unknown"
    post, attempts = load(engine, post_id)
    assert post.status == PostStatus.UNKNOWN
    assert [(a.status, a.error_class) for a in attempts] == [
        (AttemptStatus.RETRY, ErrorClass.AMBIGUOUS),
        (AttemptStatus.UNKNOWN, ErrorClass.AMBIGUOUS),
    ]
    assert attempts[-1].http_status == 403
