"""Delivering one attempt: fence, (re-)render if needed, publish, record the outcome.

Called by the ``deliver`` Celery task with the attempt id (which is also the task id).

1. **Fence** (:mod:`.fence`): flip the attempt ``enqueued → started`` and the post
   ``queued → publishing`` with compare-and-set updates.  Zero rows changed means a duplicate
   or stale message: stop, no I/O.
2. **Re-render** a post whose article changed after it was rendered, unless an editor edited it.
3. **Publish** through the channel's adapter (the only platform I/O), a follow-up (first
   comment, thread reply) under its parent's platform id; the Instagram container id
   is persisted the moment it is known.  An X token refused with 401 is refreshed once (under
   the channel's row lock) and the post sent again; a second 401 is recorded as it is.
4. **Record**: :func:`.outcome.decide_outcome` decides, the database's store
   (:mod:`.stores`) writes the attempt, the post and the channel atomically, each update
   conditional on the state this worker set, so a late result never overwrites the reaper or a
   person.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy.engine import Engine

from adapters import build_adapter
from adapters.base import ChannelSettings, Payload, PublishResult
from adapters.errors import (
    AuthExpiredError,
    DeliveryError,
    PermanentError,
    PermissionDeniedError,
    RetryableError,
    UnknownOutcomeError,
)
from config import Settings
from scheduler.access.tokens import RefreshOutcome, refresh_x_token
from scheduler.db.engine import retry_on_disconnect, run_in_transaction
from scheduler.delivery.fence import Snapshot, start_attempt
from scheduler.delivery.outcome import Outcome, decide_outcome
from scheduler.delivery.stores import DeliveryStore, OutcomeRows, store_for
from scheduler.editorial.rendering import render_followup_post, render_for_channel
from scheduler.intake.articles import article_content
from scheduler.models import PlatformName, utcnow
from scheduler.runtime.logs import get_logger, redact

log = get_logger(__name__)
# structlog runs its whole processor chain before the stdlib level check: skip it up front.
_stdlib_log = logging.getLogger(__name__)


def deliver_attempt(
    *,
    engine: Engine,
    attempt_id: uuid.UUID,
    settings: Settings,
    client: httpx.Client,
    worker: str = "worker",
) -> str:
    """Deliver one attempt end to end; returns the outcome (for logs and tests)."""
    store = store_for(engine)
    try:
        snap = start_attempt(
            engine, store, attempt_id, settings=settings, worker=worker, now=utcnow()
        )
    except Exception:
        log.error("attempt_start_failed", attempt_id=str(attempt_id), exc_info=True)
        raise  # nothing was sent; the lease expires and the reaper handles the post
    if snap is None:
        log.info("attempt_fenced", attempt_id=str(attempt_id))
        return Outcome.STALE

    def record(
        result_or_error: PublishResult | DeliveryError,
        *,
        latency_ms: int = 0,
        to_draft: bool = False,
    ) -> str:
        return record_attempt_outcome(
            engine=engine,
            store=store,
            rows=OutcomeRows(attempt_id, snap.post_id, snap.channel_id, latency_ms),
            result_or_error=result_or_error,
            settings=settings,
            attempt_number=snap.attempt_number,
            had_ambiguous=snap.had_ambiguous,
            to_draft=to_draft,
            channel_last_success_at=snap.last_success_at,
        )

    try:
        payload = _refresh_stale(engine, store, snap, settings=settings, client=client)
    except Exception as exc:  # nothing was sent: a readable failure, retried with back-off
        return record(
            RetryableError(
                f"Preparing the post failed before sending: {type(exc).__name__}: "
                f"{redact(str(exc))[:300]}"
            )
        )
    if isinstance(payload, str):
        return record(PermanentError(payload), to_draft=True)
    if snap.followup and not snap.parent_external_id:  # the claim never lets this through
        return record(PermanentError("The follow-up's parent post is not live on the platform."))
    if payload.problems:
        refusal = "The post has problems to fix first: " + " ".join(payload.problems)
        return record(PermanentError(refusal), to_draft=True)
    started = time.perf_counter()
    outcome = _publish(engine, store, snap, payload, settings=settings, client=client)
    return record(outcome, latency_ms=int((time.perf_counter() - started) * 1000))


def _refresh_stale(
    engine: Engine,
    store: DeliveryStore,
    snap: Snapshot,
    *,
    settings: Settings,
    client: httpx.Client,
) -> Payload | str:
    """The payload to send: re-rendered if the article was corrected after rendering.

    A string is a refusal (the corrected article cannot be posted as it is).
    """
    if not snap.stale:
        return snap.payload
    article, raw_settings = run_in_transaction(
        engine,
        lambda conn: store.article_and_settings(
            conn, article_id=snap.article_id, channel_id=snap.channel_id
        ),
    )
    content = article_content(article)  # type: ignore[arg-type]
    cs = ChannelSettings.from_stored(raw_settings)
    if snap.followup:
        payload = render_followup_post(content, snap.platform, cs)
    else:
        payload = render_for_channel(content, snap.platform, cs, settings=settings, client=client)
    if payload.problems:
        return "The corrected article cannot be posted as it is: " + " ".join(payload.problems)
    rendered = dict(
        text=payload.text,
        link=payload.link,
        media=[m.as_dict() for m in payload.media],
        warnings=payload.warnings,
        weighted_length=payload.weighted_length,
        fingerprint=payload.fingerprint,
        rendered_revision=snap.revision,
    )
    run_in_transaction(
        engine, lambda conn: store.update_post(conn, post_id=snap.post_id, values=rendered)
    )
    return payload


def _publish(
    engine: Engine,
    store: DeliveryStore,
    snap: Snapshot,
    payload: Payload,
    *,
    settings: Settings,
    client: httpx.Client,
) -> PublishResult | DeliveryError:
    """The platform call: its result, or the classified error (never raises)."""
    adapter = build_adapter(snap.platform, settings=settings, client=client)

    def save_progress(update: dict[str, Any]) -> None:
        # Persist platform ids (the Instagram container) the moment they are known.
        run_in_transaction(
            engine,
            lambda conn: store.merge_platform_state(conn, post_id=snap.post_id, update=update),
        )

    def publish(credentials: dict[str, str]) -> PublishResult:
        if snap.followup:
            assert snap.parent_external_id is not None
            return adapter.publish_followup(
                payload,
                credentials,
                account_id=snap.account_id,
                parent_id=snap.parent_external_id,
            )
        return adapter.publish(
            payload,
            credentials,
            account_id=snap.account_id,
            state=snap.state,
            on_progress=save_progress,
        )

    try:
        try:
            return publish(snap.credentials)
        except AuthExpiredError as refused:
            # A 401 means nothing was created: refresh once and send again.  A second 401
            # propagates (needs_reauth), so this never loops.
            return publish(_refreshed(engine, snap, refused, settings=settings, client=client))
    except DeliveryError as exc:
        return exc
    except Exception as exc:  # an unexpected bug mid-call: the request may have gone out
        return UnknownOutcomeError(
            f"Unexpected error during the platform call: "
            f"{type(exc).__name__}: {redact(str(exc))[:300]}"
        )


def _refreshed(
    engine: Engine,
    snap: Snapshot,
    refused: AuthExpiredError,
    *,
    settings: Settings,
    client: httpx.Client,
) -> dict[str, str]:
    """Fresh credentials after the platform refused the token, or an error to record.

    Only X tokens with a refresh token renew; anything else re-raises ``refused``.  The
    refresh runs under the channel's row lock (:func:`scheduler.access.tokens.refresh_x_token`):
    if another process rotated the pair meanwhile, its credentials are used as they are.
    """
    renewable = snap.platform == PlatformName.X and bool(snap.credentials.get("refresh_token"))
    if not renewable or isinstance(refused, PermissionDeniedError):
        raise refused
    refresh = refresh_x_token(
        engine=engine,
        settings=settings,
        client=client,
        channel_id=snap.channel_id,
        refused_access_token=snap.credentials.get("access_token"),
    )
    if refresh.outcome in (RefreshOutcome.REFRESHED, RefreshOutcome.CURRENT):
        assert refresh.credentials is not None
        return refresh.credentials
    if refresh.outcome is RefreshOutcome.FAILED:
        said = refresh.error.message if refresh.error else "X's token endpoint failed"
        raise RetryableError(f"X refused the access token and refreshing it failed: {said}")
    raise refresh.error if isinstance(refresh.error, AuthExpiredError) else refused


def record_attempt_outcome(
    *,
    engine: Engine,
    store: DeliveryStore,
    rows: OutcomeRows,
    result_or_error: PublishResult | DeliveryError,
    settings: Settings,
    attempt_number: int,
    had_ambiguous: bool = False,
    to_draft: bool = False,
    channel_last_success_at: datetime | None = None,
) -> str:
    """Decide the outcome and write it (attempt, post, channel atomically); returns it.

    ``stale`` if the attempt was no longer this worker's to record (the reaper or a person
    moved it on).  A write whose connection died is retried once; a first try that committed
    before its answer was lost is recognised by the finish time it left.
    """
    now = utcnow()
    decision = decide_outcome(
        result_or_error,
        attempt_number=attempt_number,
        settings=settings,
        now=now,
        had_ambiguous=had_ambiguous,
        to_draft=to_draft,
        channel_last_success_at=channel_last_success_at,
    )
    recorded = retry_on_disconnect(lambda: store.record(engine, rows, decision))
    if not recorded:
        recorded = int(store.finished_at(engine, rows.attempt_id) == now)
    ids = dict(attempt_id=str(rows.attempt_id))
    if not recorded:
        log.warning("outcome_dropped", **ids, outcome=decision.outcome)
        return Outcome.STALE
    if _stdlib_log.isEnabledFor(logging.INFO):
        log.info(
            "attempt_recorded",
            **ids,
            post_id=str(rows.post_id),
            channel_id=str(rows.channel_id),
            outcome=decision.outcome,
            latency_ms=rows.latency_ms,
            error_class=decision.error_class,
        )
    return decision.outcome
