"""Reconciliation of ``unknown`` posts on real SQLite and PostgreSQL, with X played by
``httpx.MockTransport``; and its decision as a table (pure)."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col

from adapters.base import ReconcileResult
from adapters.errors import (
    AuthExpiredError,
    DeliveryError,
    PermanentError,
    PermissionDeniedError,
    RateLimitedError,
    RetryableError,
    UnknownOutcomeError,
)
from config import Settings
from scheduler.db.engine import session_scope
from scheduler.delivery.reconcile import decide_reconcile
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


def timeline_without_end(request: httpx.Request) -> httpx.Response:
    # Every page says there is more: the listing never reaches back to the attempt.
    tweet = {"id": "7", "text": "someone else's post", "created_at": "2025-03-01T12:00:00Z"}
    return httpx.Response(200, json={"data": [tweet], "meta": {"next_token": "more"}})


def test_a_platform_that_cannot_tell_leaves_the_post_to_a_person(
    engine: Engine, settings: Settings, unknown_post: uuid.UUID
) -> None:
    assert reconcile(engine, unknown_post, settings, timeline_without_end) == "needs_review"
    post, attempts = load(engine, unknown_post)
    assert post.status == PostStatus.NEEDS_REVIEW
    assert post.last_error is not None and post.last_error.startswith("Could not prove")
    assert "pages since the attempt" in post.last_error
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
# The platform failing: each passes with time, none says anything about the post.
CONNECT = RetryableError("Could not reach X (ConnectError).")
FIVE_XX = PermanentError("X refused the request: Internal error (HTTP 500).", http_status=500)
NO_JSON = PermanentError("X answered with HTTP 200 but no usable JSON.", http_status=200)
THROTTLED = RateLimitedError("Too many requests (HTTP 429).", http_status=429, reset_at=NOW)
TIMED_OUT = UnknownOutcomeError("X did not answer (ReadTimeout).")
# The platform refusing: the token, or the question itself.
EXPIRED = AuthExpiredError("The X token is invalid or expired (HTTP 401).", http_status=401)
NO_SCOPE = PermissionDeniedError("The app lacks a permission (HTTP 403).", http_status=403)
REFUSED = PermanentError("Invalid parameter (HTTP 400).", http_status=400)
MANY = 50  # far more checks than any budget


@pytest.mark.parametrize(
    ("answer", "tries", "used", "outcome", "status"),
    [
        (FOUND, 1, 9, "published", PostStatus.PUBLISHED),
        (FOUND, MANY, 9, "published", PostStatus.PUBLISHED),
        (ABSENT, 1, 1, "retry_wait", PostStatus.RETRY_WAIT),
        # Proven absence is never a person's job, however many checks came before.
        (ABSENT, MANY, 1, "retry_wait", PostStatus.RETRY_WAIT),
        (ABSENT, 1, 3, "failed", PostStatus.FAILED),
        (ABSENT, MANY, 3, "failed", PostStatus.FAILED),
        (UNSURE, 1, 1, "needs_review", PostStatus.NEEDS_REVIEW),
        (CONNECT, 1, 1, "unknown", None),
        (CONNECT, MANY, 3, "unknown", None),
        (FIVE_XX, 1, 1, "unknown", None),
        (FIVE_XX, MANY, 1, "unknown", None),
        (NO_JSON, MANY, 1, "unknown", None),
        (THROTTLED, MANY, 1, "unknown", None),
        (TIMED_OUT, MANY, 1, "unknown", None),
        (EXPIRED, 1, 1, "needs_reauth", None),
        (NO_SCOPE, MANY, 1, "needs_reauth", None),
        (REFUSED, 1, 1, "needs_review", PostStatus.NEEDS_REVIEW),
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
        platform="x",
        tries=tries,
        budget_used=used,
        state={"media_ids": ["1"], "reconcile_outages": 4},
        last_error="X answered 503.",
        settings=settings,
        now=NOW,
    )
    assert (decision.outcome, decision.post.get("status")) == (outcome, status)
    state = decision.post["platform_state"]
    assert (state["media_ids"], state["reconcile_tries"]) == (["1"], tries)
    # An answer (or a refusal) ends the outage streak; only a failing platform extends it.
    assert state.get("reconcile_outages") == {"unknown": 5, "needs_reauth": 4}.get(outcome)
    assert (decision.confirm_attempt is not None) == (outcome == "published")
    assert decision.attempts_not_published == (outcome in ("retry_wait", "failed"))
    assert (decision.reauth_reason is not None) == (outcome == "needs_reauth")
    if outcome == "unknown":  # asked again once the back-off (the lease) is over
        assert NOW < decision.post["lease_until"] <= NOW + timedelta(seconds=1 + 900)
        assert decision.post["last_error"].startswith("X is ")
    else:
        assert decision.post["lease_until"] is None
    if outcome == "retry_wait":
        assert decision.post["next_attempt_at"] > NOW
    if outcome == "failed":
        assert decision.post["last_error"].startswith(
            "Gave up after 3 attempts; the platform confirmed the post is not there."
        )
        assert decision.post["last_error"].endswith("Last error: X answered 503.")
    if outcome == "needs_review":
        assert "confirmed" not in decision.post["last_error"]


def decide_after(
    answer: DeliveryError, outages: int, settings: Settings, platform: str = "facebook"
) -> Any:
    return decide_reconcile(
        answer,
        platform=platform,
        tries=outages + 1,
        budget_used=1,
        state={"reconcile_outages": outages} if outages else {},
        last_error="",
        settings=settings,
        now=NOW,
        rng=random.Random(3),
    )


def test_a_failing_platform_is_asked_again_after_a_growing_capped_back_off(
    tmp_path: Path,
) -> None:
    settings = Settings(
        environment="test",
        data_dir=tmp_path / "data",
        backoff_base_seconds=5,
        backoff_max_seconds=300,
    )
    outage = PermanentError(
        "Facebook refused: An unknown error (code 1, HTTP 500).", http_status=500
    )
    waits = [
        (decide_after(outage, n, settings).post["lease_until"] - NOW).total_seconds()
        for n in range(12)
    ]
    # Equal jitter: check n waits between half and all of min(cap, base * 2**(n-1)).
    for n, wait in enumerate(waits, start=1):
        ceiling = min(300, 5 * 2 ** (n - 1))
        assert ceiling / 2 <= wait <= ceiling, (n, wait)
    assert waits[-1] >= 150 and max(waits) <= 300
    first = decide_after(outage, 0, settings).post
    assert first["last_error"].startswith(
        f"Facebook is failing (HTTP 500); checking again at {first['lease_until']:%H:%M:%S} UTC "
        "whether the post went out. It is not sent again until Facebook answers. Facebook said: "
        "Facebook refused: An unknown error (code 1, HTTP 500)."
    )


def test_a_rate_limited_check_waits_for_the_platforms_reset_and_says_so(tmp_path: Path) -> None:
    settings = Settings(environment="test", data_dir=tmp_path / "data")
    reset = NOW + timedelta(minutes=7)
    throttled = RateLimitedError("Limit reached (HTTP 429).", http_status=429, reset_at=reset)
    post = decide_after(throttled, 0, settings, platform="x").post
    assert post["lease_until"] > reset
    assert post["last_error"].startswith("X is rate-limiting newsrelay (HTTP 429); checking again")


def test_a_check_that_got_no_answer_names_what_happened(tmp_path: Path) -> None:
    settings = Settings(environment="test", data_dir=tmp_path / "data")
    try:
        raise RetryableError("Instagram did not answer (ReadTimeout).") from httpx.ReadTimeout("t")
    except RetryableError as exc:
        no_answer = exc
    post = decide_after(no_answer, 2, settings, platform="instagram").post
    assert post["last_error"].startswith("Instagram is failing (no answer: ReadTimeout);")
    assert post["platform_state"]["reconcile_outages"] == 3


def test_a_refused_token_flags_the_channel_and_keeps_the_post_unknown(tmp_path: Path) -> None:
    settings = Settings(environment="test", data_dir=tmp_path / "data")
    decision = decide_after(EXPIRED, 0, settings, platform="x")
    assert decision.outcome == "needs_reauth" and "status" not in decision.post
    assert decision.reauth_reason == EXPIRED.message
    assert decision.post["last_error"].startswith(
        "X refused the channel's credentials while newsrelay checked whether the post went out"
    )
