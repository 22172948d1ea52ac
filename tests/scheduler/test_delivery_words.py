"""The delivery log's one sentence per attempt (pure, no database): every error class the
adapters raise, recorded as the outcome rules record it, reads in its own words with what
happens next; the platform's own words are kept, a token never is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from adapters.errors import (
    AuthExpiredError,
    BlockedError,
    ConfigurationError,
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
from adapters.meta_errors import classify_meta_response
from adapters.x_errors import classify_x_error
from config import Settings
from scheduler.delivery.outcome import decide_outcome
from scheduler.models import AttemptStatus
from scheduler.ops.delivery_groups import budget_used
from scheduler.ops.delivery_words import AttemptFacts, PostFacts, describe_attempt, platform_said

TZ = "Asia/Karachi"  # PKT, UTC+5: 05:02 UTC reads 10:02 PKT
NOW = datetime(2026, 12, 6, 5, 2, tzinfo=UTC)
RESET = NOW + timedelta(minutes=58)  # 11:00 PKT

#: One error of every class, as an adapter raises it.
ERRORS: dict[ErrorClass, DeliveryError] = {
    ErrorClass.ERROR: DeliveryError("Something odd happened", http_status=418),
    ErrorClass.RETRY: RetryableError(
        "X refused the post: Service Unavailable (HTTP 503). Try later.", http_status=503
    ),
    ErrorClass.RATE_LIMITED: RateLimitedError("Too many requests", http_status=429, reset_at=RESET),
    ErrorClass.QUOTA: QuotaExceededError("Quota used", http_status=403, reset_at=RESET),
    ErrorClass.BLOCKED: BlockedError("Blocked for spam", http_status=403, reset_at=RESET),
    ErrorClass.PERMANENT: PermanentError("X refused the post: Text too long. (HTTP 400). Fix it."),
    ErrorClass.DUPLICATE: DuplicateContentError("X refused the post: Duplicate. (HTTP 403). No."),
    ErrorClass.REAUTH: AuthExpiredError("X refused the post: Unauthorized (HTTP 401). Reconnect."),
    ErrorClass.PERMISSION: PermissionDeniedError(
        "X refused the post: Forbidden (HTTP 403). Scope."
    ),
    ErrorClass.AMBIGUOUS: UnknownOutcomeError("X did not answer after the request (ReadTimeout)"),
    ErrorClass.CONFIGURATION: ConfigurationError("The image URL https://m/x.jpg answered HTTP 404"),
}

#: Words each class's sentence must carry (what happened), different for every class.
CAUSES = {
    ErrorClass.ERROR: "X failed with an unclassified error: Something odd happened (HTTP 418)",
    ErrorClass.RETRY: "X had a temporary error: Service Unavailable (HTTP 503)",
    ErrorClass.RATE_LIMITED: "Rate-limited by X",
    ErrorClass.QUOTA: "X's publishing quota for the account is used up",
    ErrorClass.BLOCKED: "X is temporarily blocking posts from the account",
    ErrorClass.PERMANENT: "X refused it: Text too long",
    ErrorClass.DUPLICATE: "X refused it as a duplicate of an earlier post: Duplicate",
    ErrorClass.REAUTH: "X no longer accepts the channel's login: Unauthorized (HTTP 401)",
    ErrorClass.PERMISSION: "X refused it because the account lacks a permission: Forbidden",
    ErrorClass.AMBIGUOUS: "The connection dropped before X answered",
    ErrorClass.CONFIGURATION: "X could not use what our set-up gave it: The image URL",
}


def _recorded(error: DeliveryError, *, attempt_number: int = 1) -> tuple[AttemptFacts, PostFacts]:
    """The attempt and post as the outcome rules store them for ``error``."""
    settings = Settings(environment="test", max_attempts=6)
    decision = decide_outcome(error, attempt_number=attempt_number, settings=settings, now=NOW)
    a: dict[str, Any] = decision.attempt
    facts = AttemptFacts(
        platform="x",
        status=str(a["status"]),
        error_class=a["error_class"],
        http_status=a["http_status"],
        error_code=a["error_code"],
        error_subcode=a["error_subcode"],
        message=a["message"],
        at=NOW,
    )
    post = PostFacts(
        status=str(decision.post["status"]),
        next_attempt_at=decision.post.get("next_attempt_at"),
        latest=True,
        attempts_left=6 - budget_used([a["error_class"]]),
    )
    return facts, post


def test_the_table_walks_every_error_class() -> None:
    assert set(ERRORS) == set(ErrorClass) == set(CAUSES)
    assert len(set(CAUSES.values())) == len(CAUSES)


@pytest.mark.parametrize("error_class", list(ErrorClass))
def test_every_error_class_reads_in_its_own_words_in_one_sentence(error_class: ErrorClass) -> None:
    facts, post = _recorded(ERRORS[error_class])
    sentence = describe_attempt(facts, post, tz=TZ)
    assert sentence.startswith(CAUSES[error_class]), sentence
    assert not sentence.startswith("Not sent to"), "fell through to the generic words"
    assert sentence.endswith("."), sentence
    assert sentence.count("HTTP") <= 1, f"said twice: {sentence}"
    # What happens next is named too.
    assert any(
        s in sentence
        for s in ("retried", "not retried", "reconnect", "paused until", "checking X", "until")
    ), sentence


@pytest.mark.parametrize("status", [AttemptStatus.FAILED, AttemptStatus.RETRY])
@pytest.mark.parametrize("error_class", list(ErrorClass))
def test_no_status_and_class_pair_falls_through_to_generic_words(
    status: AttemptStatus, error_class: ErrorClass
) -> None:
    facts, post = _recorded(ERRORS[error_class])
    facts = AttemptFacts(**{**facts.__dict__, "status": status.value})
    sentence = describe_attempt(facts, post, tz=TZ)
    assert sentence.startswith(CAUSES[error_class]), sentence
    assert "(failed)" not in sentence and "(retry)" not in sentence


def test_every_attempt_status_has_a_sentence() -> None:
    for status in AttemptStatus:
        facts = AttemptFacts("instagram", status.value, None, None, None, None, None, NOW)
        sentence = describe_attempt(facts, PostFacts(status="queued"), tz=TZ)
        assert f"({status.value})" not in sentence, sentence
        assert "Instagram" in sentence


def test_the_four_outcomes_ops_see_most_read_exactly_so() -> None:
    published = AttemptFacts("x", "succeeded", None, 201, None, None, "published", NOW)
    assert describe_attempt(published, PostFacts(status="published"), tz=TZ) == (
        "Published on X at 10:02 PKT."
    )

    refused = classify_x_error(
        403,
        {"detail": "You are not allowed to create a Tweet with duplicate content.", "status": 403},
        {},
    )
    facts, post = _recorded(refused)
    assert describe_attempt(facts, post, tz=TZ) == (
        "X refused it as a duplicate of an earlier post: You are not allowed to create a Tweet "
        "with duplicate content (HTTP 403, duplicate content) — not retried."
    )

    # The connection dropped; reconciliation found nothing and put the post back for a retry.
    dropped, _ = _recorded(ERRORS[ErrorClass.AMBIGUOUS])
    checked = AttemptFacts(
        **{
            **dropped.__dict__,
            "status": "retry",
            "message": f"{dropped.message} — reconciliation: not published.",
        }
    )
    retry_at = NOW + timedelta(minutes=3)
    post = PostFacts(status="retry_wait", next_attempt_at=retry_at, attempts_left=5)
    assert describe_attempt(checked, post, tz=TZ) == (
        "The connection dropped before X answered; we checked and the post was not there, so it "
        "will be retried at 10:05 PKT; 5 attempts left."
    )
    # Before the check, and once a newer attempt exists.
    assert describe_attempt(dropped, PostFacts(status="unknown"), tz=TZ) == (
        "The connection dropped before X answered; the post may be live, so we are checking X "
        "first."
    )
    assert describe_attempt(checked, PostFacts(status="published", latest=False), tz=TZ) == (
        "The connection dropped before X answered; we checked and the post was not there, so it "
        "was retried."
    )

    limited = AttemptFacts("instagram", "retry", "rate_limited", 400, "4", None, "x", NOW)
    post = PostFacts(status="retry_wait", next_attempt_at=RESET, attempts_left=2)
    assert describe_attempt(limited, post, tz=TZ) == (
        "Rate-limited by Instagram until 11:00 PKT; 2 attempts left."
    )


def test_rate_limits_do_not_use_up_the_attempts_left() -> None:
    facts, post = _recorded(ERRORS[ErrorClass.RATE_LIMITED])
    assert describe_attempt(facts, post, tz=TZ) == (
        "Rate-limited by X until 11:00 PKT; 6 attempts left."
    )
    assert budget_used(["rate_limited", "quota", "blocked", None, "retry", "ambiguous"]) == 2


def test_meta_errors_keep_the_platforms_words_and_codes_once() -> None:
    response = httpx.Response(
        400,
        json={
            "error": {
                "message": "Invalid parameter",
                "code": 100,
                "error_subcode": 2207026,
                "error_user_msg": "The caption is too long",
                "fbtrace_id": "AbC",
            }
        },
    )
    error, _ = classify_meta_response(response, platform="Instagram")
    facts, post = _recorded(error)
    facts = AttemptFacts(**{**facts.__dict__, "platform": "instagram"})
    assert describe_attempt(facts, post, tz=TZ) == (
        "Instagram refused it: Invalid parameter The caption is too long "
        "(HTTP 400, code 100/2207026) — not retried."
    )


def test_a_token_in_a_stored_message_never_reaches_the_sentence() -> None:
    leaky = (
        "X refused the post: bad header Authorization: Bearer AAAAsecretTOKEN123 "
        "access_token=EAAGsecret456 (HTTP 400). Fix it."
    )
    facts = AttemptFacts("x", "failed", "permanent", 400, None, None, leaky, NOW)
    sentence = describe_attempt(facts, PostFacts(status="failed"), tz=TZ)
    assert "AAAAsecretTOKEN123" not in sentence and "EAAGsecret456" not in sentence
    assert platform_said(leaky) is not None and "secret" not in (platform_said(leaky) or "")
