"""The outcome rules of a delivery attempt as a decision table: every error class x retry
budget left or used up x an earlier ambiguous attempt or not.  Pure: no database."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.base import PublishResult
from adapters.errors import (
    AuthExpiredError,
    BlockedError,
    DeliveryError,
    DuplicateContentError,
    ErrorClass,
    PermanentError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitedError,
    RetryableError,
    UnknownOutcomeError,
)
from config import Settings
from scheduler.delivery.outcome import SUCCESS_REFRESH, Outcome, decide_outcome
from scheduler.models import AttemptStatus, ChannelStatus, PostStatus

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
MAX_ATTEMPTS = 4

ERRORS: dict[ErrorClass, type[DeliveryError]] = {
    ErrorClass.ERROR: DeliveryError,
    ErrorClass.RETRY: RetryableError,
    ErrorClass.RATE_LIMITED: RateLimitedError,
    ErrorClass.QUOTA: QuotaExceededError,
    ErrorClass.BLOCKED: BlockedError,
    ErrorClass.PERMANENT: PermanentError,
    ErrorClass.DUPLICATE: DuplicateContentError,
    ErrorClass.REAUTH: AuthExpiredError,
    ErrorClass.PERMISSION: PermissionDeniedError,
    ErrorClass.AMBIGUOUS: UnknownOutcomeError,
}

E = ErrorClass
RETRY_WAIT = (Outcome.RETRY_WAIT, AttemptStatus.RETRY, PostStatus.RETRY_WAIT)
FAILED = (Outcome.FAILED, AttemptStatus.FAILED, PostStatus.FAILED)
UNKNOWN = (Outcome.UNKNOWN, AttemptStatus.UNKNOWN, PostStatus.UNKNOWN)
REAUTH = (Outcome.NEEDS_REAUTH, AttemptStatus.FAILED, PostStatus.NEEDS_REAUTH)

# error class, budget left, earlier ambiguous attempt -> (outcome, attempt, post), stored class
TABLE = [
    (E.ERROR, True, False, FAILED, E.ERROR),
    (E.ERROR, True, True, FAILED, E.ERROR),
    (E.ERROR, False, False, FAILED, E.ERROR),
    (E.ERROR, False, True, FAILED, E.ERROR),
    (E.RETRY, True, False, RETRY_WAIT, E.RETRY),
    (E.RETRY, True, True, RETRY_WAIT, E.RETRY),
    (E.RETRY, False, False, FAILED, E.RETRY),
    (E.RETRY, False, True, FAILED, E.RETRY),
    (E.RATE_LIMITED, True, False, RETRY_WAIT, E.RATE_LIMITED),
    (E.RATE_LIMITED, True, True, RETRY_WAIT, E.RATE_LIMITED),
    (E.RATE_LIMITED, False, False, RETRY_WAIT, E.RATE_LIMITED),
    (E.RATE_LIMITED, False, True, RETRY_WAIT, E.RATE_LIMITED),
    (E.QUOTA, True, False, RETRY_WAIT, E.QUOTA),
    (E.QUOTA, True, True, RETRY_WAIT, E.QUOTA),
    (E.QUOTA, False, False, RETRY_WAIT, E.QUOTA),
    (E.QUOTA, False, True, RETRY_WAIT, E.QUOTA),
    (E.BLOCKED, True, False, RETRY_WAIT, E.BLOCKED),
    (E.BLOCKED, True, True, RETRY_WAIT, E.BLOCKED),
    (E.BLOCKED, False, False, RETRY_WAIT, E.BLOCKED),
    (E.BLOCKED, False, True, RETRY_WAIT, E.BLOCKED),
    (E.PERMANENT, True, False, FAILED, E.PERMANENT),
    (E.PERMANENT, True, True, FAILED, E.PERMANENT),
    (E.PERMANENT, False, False, FAILED, E.PERMANENT),
    (E.PERMANENT, False, True, FAILED, E.PERMANENT),
    (E.DUPLICATE, True, False, FAILED, E.DUPLICATE),
    # After an ambiguous attempt, "duplicate" most likely is our own earlier post.
    (E.DUPLICATE, True, True, UNKNOWN, E.AMBIGUOUS),
    (E.DUPLICATE, False, False, FAILED, E.DUPLICATE),
    (E.DUPLICATE, False, True, UNKNOWN, E.AMBIGUOUS),
    (E.REAUTH, True, False, REAUTH, E.REAUTH),
    (E.REAUTH, True, True, REAUTH, E.REAUTH),
    (E.REAUTH, False, False, REAUTH, E.REAUTH),
    (E.REAUTH, False, True, REAUTH, E.REAUTH),
    (E.PERMISSION, True, False, REAUTH, E.PERMISSION),
    (E.PERMISSION, True, True, REAUTH, E.PERMISSION),
    (E.PERMISSION, False, False, REAUTH, E.PERMISSION),
    (E.PERMISSION, False, True, REAUTH, E.PERMISSION),
    (E.AMBIGUOUS, True, False, UNKNOWN, E.AMBIGUOUS),
    (E.AMBIGUOUS, True, True, UNKNOWN, E.AMBIGUOUS),
    (E.AMBIGUOUS, False, False, UNKNOWN, E.AMBIGUOUS),
    (E.AMBIGUOUS, False, True, UNKNOWN, E.AMBIGUOUS),
]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(environment="test", data_dir=tmp_path / "data", max_attempts=MAX_ATTEMPTS)


def test_the_table_covers_every_error_class_budget_and_ambiguity() -> None:
    cases = {(cls, left, ambiguous) for cls, left, ambiguous, *_ in TABLE}
    assert cases == {(c, left, a) for c in ErrorClass for left in (True, False) for a in (1, 0)}


@pytest.mark.parametrize(("cls", "budget_left", "had_ambiguous", "expected", "stored"), TABLE)
def test_an_error_decides_the_attempt_and_the_post(
    settings: Settings,
    cls: ErrorClass,
    budget_left: bool,
    had_ambiguous: bool,
    expected: tuple[Outcome, AttemptStatus, PostStatus],
    stored: ErrorClass,
) -> None:
    error = ERRORS[cls]("The platform said no.", http_status=400, code="c", subcode="s")
    assert error.error_class is cls  # the adapters' errors carry their class
    decision = decide_outcome(
        error,
        attempt_number=MAX_ATTEMPTS - 1 if budget_left else MAX_ATTEMPTS,
        settings=settings,
        now=NOW,
        had_ambiguous=had_ambiguous,
    )
    outcome = expected[0]
    assert (decision.outcome, decision.attempt["status"], decision.post["status"]) == expected
    assert decision.attempt["error_class"] == decision.error_class == stored
    assert decision.attempt["finished_at"] == NOW and decision.post["lease_until"] is None
    assert decision.channel["last_error"] == decision.attempt["message"]
    # Only a success may overwrite what the reaper or a person did meanwhile.
    assert decision.attempt_from == (AttemptStatus.STARTED,)
    assert decision.post_from == (PostStatus.PUBLISHING,)
    assert decision.hold_channel_posts == (outcome is Outcome.NEEDS_REAUTH)
    assert (decision.channel.get("status") == ChannelStatus.NEEDS_REAUTH) == (
        outcome is Outcome.NEEDS_REAUTH
    )
    if outcome is Outcome.RETRY_WAIT:
        assert decision.post["next_attempt_at"] > NOW
    else:
        assert "next_attempt_at" not in decision.post
    gave_up = outcome is Outcome.FAILED and cls is E.RETRY
    assert decision.post["last_error"].startswith("Gave up after") == gave_up


def test_a_retryable_error_with_the_budget_used_up_gives_up_and_says_after_how_many(
    settings: Settings,
) -> None:
    error = RetryableError("X answered 503 Service Unavailable.", http_status=503)
    decision = decide_outcome(error, attempt_number=MAX_ATTEMPTS, settings=settings, now=NOW)
    assert decision.outcome is Outcome.FAILED
    assert decision.post["last_error"] == (
        f"Gave up after {MAX_ATTEMPTS} attempts. Last error: X answered 503 Service Unavailable."
    )
    assert decision.attempt["message"] == "X answered 503 Service Unavailable."


def test_the_back_off_grows_with_the_attempt_number_and_a_rate_limit_waits_for_its_reset(
    settings: Settings,
) -> None:
    def due(error: DeliveryError, number: int) -> datetime:
        decision = decide_outcome(
            error, attempt_number=number, settings=settings, now=NOW, rng=random.Random(1)
        )
        value: datetime = decision.post["next_attempt_at"]
        return value

    base = settings.backoff_base_seconds
    for number in (1, 2, 3):
        ceiling = base * 2 ** (number - 1)
        waited = (due(RetryableError("busy"), number) - NOW).total_seconds()
        assert ceiling / 2 <= waited <= ceiling
    reset = NOW + timedelta(hours=2)
    limited = RateLimitedError("slow down", reset_at=reset)
    assert reset < due(limited, MAX_ATTEMPTS) <= reset + timedelta(seconds=1)
    # Without a reset time the fallback wait applies, and the channel learns no reset.
    fallback = NOW + timedelta(seconds=settings.rate_limit_fallback_seconds)
    assert due(RateLimitedError("slow down"), 1) > fallback
    decision = decide_outcome(limited, attempt_number=1, settings=settings, now=NOW)
    assert decision.channel["rate_limited_until"] == reset


def test_a_refused_post_goes_back_to_the_editor_as_a_draft(settings: Settings) -> None:
    decision = decide_outcome(
        PermanentError("Too long."), attempt_number=1, settings=settings, now=NOW, to_draft=True
    )
    assert (decision.outcome, decision.post["status"]) == (Outcome.DRAFT, PostStatus.DRAFT)


def test_the_message_is_redacted_and_clipped_to_the_column(settings: Settings) -> None:
    secret = "Bearer abcdefghijklmnopqrstuvwxyz0123456789"
    error = RetryableError(f"Failed with {secret} " + "x" * 3000)
    decision = decide_outcome(error, attempt_number=1, settings=settings, now=NOW)
    assert len(decision.attempt["message"]) == 2000
    assert "abcdefghijklmnopqrstuvwxyz" not in decision.attempt["message"]


@pytest.mark.parametrize(
    ("last_success", "touch"),
    [(None, True), (NOW - SUCCESS_REFRESH * 2, True), (NOW - SUCCESS_REFRESH / 2, False)],
)
def test_a_success_is_recorded_even_late_and_refreshes_stale_channel_health(
    settings: Settings, last_success: datetime | None, touch: bool
) -> None:
    result = PublishResult("123", "https://x.com/i/status/123", 201, {"window": {"limit": 1}})
    decision = decide_outcome(
        result, attempt_number=9, settings=settings, now=NOW, channel_last_success_at=last_success
    )
    assert decision.outcome is Outcome.PUBLISHED and decision.error_class is None
    assert decision.attempt["status"] == AttemptStatus.SUCCEEDED
    assert decision.post["status"] == PostStatus.PUBLISHED and decision.post["external_id"] == "123"
    # After the reaper declared it unknown, or reconciliation asked a person to check.
    assert AttemptStatus.UNKNOWN in decision.attempt_from
    assert set(decision.post_from) >= {PostStatus.UNKNOWN, PostStatus.NEEDS_REVIEW}
    assert decision.touch_channel is touch
    assert decision.success_rate_limit == {"window": {"limit": 1}}
