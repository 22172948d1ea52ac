"""Reconciliation of ``unknown`` posts on real SQLite and PostgreSQL, with X played by
``httpx.MockTransport``; and its decision as a table (pure)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col

from adapters.base import ReconcileResult
from adapters.errors import DeliveryError, RetryableError
from config import Settings
from scheduler.db.engine import session_scope
from scheduler.delivery.reconcile import MAX_RECONCILE_TRIES, RECHECK_AFTER, decide_reconcile
from scheduler.models import AttemptStatus, Post, PostStatus
from tests.utils.delivery import claim, deliver, due_post, empty_timeline, load, reconcile

TEXT = "A rendered post"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(environment="test", data_dir=tmp_path / "data", max_attempts=3)


def x_server_error(request: httpx.Request) -> httpx.Response:
    return httpx.Response(503, json={"title": "Service Unavailable", "status": 503})


def timeline_with_the_post(request: httpx.Request) -> httpx.Response:
    tweet = {"id": "1789", "text": TEXT, "created_at": datetime.now(UTC).isoformat()}
    return httpx.Response(200, json={"data": [tweet], "meta": {"result_count": 1}})


@pytest.fixture
def unknown_post(engine: Engine, settings: Settings, article_json: dict[str, Any]) -> uuid.UUID:
    """An X post whose create got a 503: it may be on X, so its outcome is unknown."""
    post_id = due_post(engine, settings, article_json, text=TEXT)
    assert deliver(engine, claim(engine, post_id), settings, x_server_error) == "unknown"
    return post_id


def test_a_post_the_platform_has_is_published_and_its_attempt_confirmed(
    engine: Engine, settings: Settings, unknown_post: uuid.UUID
) -> None:
    assert reconcile(engine, unknown_post, settings, timeline_with_the_post) == "published"
    post, attempts = load(engine, unknown_post)
    assert (post.status, post.external_id, post.last_error) == (PostStatus.PUBLISHED, "1789", None)
    assert post.platform_state["reconcile_tries"] == 1
    assert attempts[-1].status == AttemptStatus.SUCCEEDED
    assert attempts[-1].message == "published (confirmed by reconciliation)"


def test_a_post_proven_absent_goes_back_to_the_queue_with_back_off(
    engine: Engine, settings: Settings, unknown_post: uuid.UUID
) -> None:
    assert reconcile(engine, unknown_post, settings, empty_timeline) == "retry_wait"
    post, attempts = load(engine, unknown_post)
    assert post.status == PostStatus.RETRY_WAIT and post.lease_until is None
    assert post.next_attempt_at is not None and post.next_attempt_at > post.updated_at
    assert attempts[-1].status == AttemptStatus.RETRY
    assert attempts[-1].message is not None
    assert attempts[-1].message.endswith(" — reconciliation: not published.")


def test_a_post_proven_absent_with_the_budget_used_up_fails_and_says_why(
    engine: Engine, tmp_path: Path, article_json: dict[str, Any]
) -> None:
    settings = Settings(environment="test", data_dir=tmp_path / "data", max_attempts=1)
    post_id = due_post(engine, settings, article_json, text=TEXT)
    assert deliver(engine, claim(engine, post_id), settings, x_server_error) == "unknown"
    assert reconcile(engine, post_id, settings, empty_timeline) == "failed"
    post, attempts = load(engine, post_id)
    assert post.status == PostStatus.FAILED
    assert post.last_error is not None
    assert post.last_error.startswith(
        "Gave up after 1 attempts; the platform confirmed the post is not there. Last error: X"
    )
    assert attempts[-1].status == AttemptStatus.RETRY


def test_a_platform_that_cannot_tell_leaves_the_post_to_a_person(
    engine: Engine, settings: Settings, unknown_post: uuid.UUID
) -> None:
    assert reconcile(engine, unknown_post, settings, x_server_error) == "needs_review"
    post, attempts = load(engine, unknown_post)
    assert post.status == PostStatus.NEEDS_REVIEW
    assert post.last_error is not None and post.last_error.startswith("Could not prove")
    assert attempts[-1].status == AttemptStatus.UNKNOWN  # no attempt is settled by a guess


def test_a_post_settled_meanwhile_is_not_overwritten_nor_are_its_attempts_touched(
    engine: Engine, settings: Settings, unknown_post: uuid.UUID
) -> None:
    def late_success_meanwhile(request: httpx.Request) -> httpx.Response:
        # While the platform is asked, the worker's late success records the post.
        with session_scope(engine) as s:
            s.execute(
                sa.update(Post)
                .where(col(Post.id) == unknown_post)
                .values(status=PostStatus.PUBLISHED, external_id="late")
            )
        return empty_timeline(request)

    assert reconcile(engine, unknown_post, settings, late_success_meanwhile) == "stale"
    post, attempts = load(engine, unknown_post)
    assert (post.status, post.external_id) == (PostStatus.PUBLISHED, "late")
    assert "reconcile_tries" not in post.platform_state
    assert attempts[-1].status == AttemptStatus.UNKNOWN


def test_a_post_that_is_not_unknown_is_left_alone(
    engine: Engine, settings: Settings, article_json: dict[str, Any]
) -> None:
    post_id = due_post(engine, settings, article_json, text=TEXT)
    assert reconcile(engine, post_id, settings, timeline_with_the_post) == "stale"
    assert load(engine, post_id)[0].status == PostStatus.SCHEDULED


NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
ABSENT = ReconcileResult(published=False, detail="not there")
UNSURE = ReconcileResult(published=None, detail="too many pages")
FOUND = ReconcileResult(published=True, external_id="9", detail="found")
ASK_FAILED = RetryableError("Could not reach X (ConnectError).")
LAST = MAX_RECONCILE_TRIES


@pytest.mark.parametrize(
    ("answer", "tries", "used", "outcome", "status"),
    [
        (FOUND, 1, 9, "published", PostStatus.PUBLISHED),
        (FOUND, LAST + 1, 9, "published", PostStatus.PUBLISHED),
        (ABSENT, 1, 1, "retry_wait", PostStatus.RETRY_WAIT),
        (ABSENT, LAST, 1, "retry_wait", PostStatus.RETRY_WAIT),
        (ABSENT, 1, 3, "failed", PostStatus.FAILED),
        (ABSENT, LAST + 1, 1, "needs_review", PostStatus.NEEDS_REVIEW),
        (UNSURE, 1, 1, "needs_review", PostStatus.NEEDS_REVIEW),
        (ASK_FAILED, 1, 1, "unknown", None),
        (ASK_FAILED, LAST - 1, 1, "unknown", None),
        (ASK_FAILED, LAST, 1, "needs_review", PostStatus.NEEDS_REVIEW),
    ],
)
def test_the_reconcile_decision(
    tmp_path: Path,
    answer: ReconcileResult | DeliveryError,
    tries: int,
    used: int,
    outcome: str,
    status: PostStatus | None,
) -> None:
    settings = Settings(environment="test", data_dir=tmp_path / "data", max_attempts=3)
    decision = decide_reconcile(
        answer,
        tries=tries,
        budget_used=used,
        state={"media_ids": ["1"]},
        last_error="X answered 503.",
        settings=settings,
        now=NOW,
    )
    assert (decision.outcome, decision.post.get("status")) == (outcome, status)
    assert decision.post["platform_state"] == {"media_ids": ["1"], "reconcile_tries": tries}
    assert (decision.confirm_attempt is not None) == (outcome == "published")
    assert decision.attempts_not_published == (outcome in ("retry_wait", "failed"))
    if outcome == "unknown":  # asked again once the short lease is over
        assert decision.post["lease_until"] == NOW + RECHECK_AFTER
    else:
        assert decision.post["lease_until"] is None
    if outcome == "retry_wait":
        assert decision.post["next_attempt_at"] > NOW
    if outcome == "failed":
        assert decision.post["last_error"].endswith("Last error: X answered 503.")
