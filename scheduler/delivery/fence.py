"""The fence: start an attempt exactly once and load what its platform call needs.

The attempt flips ``enqueued → started`` and the post ``queued → publishing`` with
compare-and-set updates, in one transaction.  Zero rows changed means a duplicate or stale
message (or a pause since the claim): stop, no platform I/O.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection, Engine

from adapters.base import Payload
from config import Settings
from scheduler.access.crypto import decrypt_credentials
from scheduler.db.engine import run_in_transaction
from scheduler.delivery.stores import DeliveryStore
from scheduler.editorial.rendering import payload_from_post
from scheduler.models import ChannelStatus, PostStatus
from scheduler.ops.state import pause_in_force


@dataclass(frozen=True)
class Snapshot:
    """What one delivery needs, read inside the fencing transaction."""

    post_id: uuid.UUID
    channel_id: uuid.UUID
    article_id: uuid.UUID
    platform: str
    account_id: str
    credentials: dict[str, str]
    payload: Payload
    state: dict[str, Any]
    #: This attempt's number among those that use the retry budget (rate limits do not).
    attempt_number: int
    #: An earlier attempt of the post may have been published.
    had_ambiguous: bool
    #: The article changed after the post was rendered (and no editor wrote the text).
    stale: bool
    revision: int
    last_success_at: datetime | None
    #: A follow-up (first comment, thread reply) is sent under this live parent post.
    followup: bool = False
    parent_external_id: str | None = None


def start_attempt(
    engine: Engine,
    store: DeliveryStore,
    attempt_id: uuid.UUID,
    *,
    settings: Settings,
    worker: str,
    now: datetime,
) -> Snapshot | None:
    """Fence: start the attempt exactly once and load what the call needs, in one transaction.

    None means a stale or duplicate message, or a post held by a pause since it was claimed.
    Three statements (two on PostgreSQL): the fence, one read of the context, the conditional
    post update.  A pooled connection found dead before the commit is replaced and the
    transaction run again; one lost during the commit raises (nothing was sent: the leases and
    the reaper settle the post whichever way the commit went).
    """
    return run_in_transaction(
        engine,
        lambda conn: _fence(conn, store, attempt_id, settings=settings, worker=worker, now=now),
    )


def _fence(
    conn: Connection,
    store: DeliveryStore,
    attempt_id: uuid.UUID,
    *,
    settings: Settings,
    worker: str,
    now: datetime,
) -> Snapshot | None:
    fenced = store.fence(conn, attempt_id=attempt_id, now=now, worker=worker[:200])
    if fenced is None:
        return None
    post_id, ctx = fenced.post_id, fenced.context
    held = _held_status(ctx, now)
    if held is not None:
        # The kill switch or a channel pause came after the claim: do not publish.
        store.hold_post(conn, post_id=post_id, status=held.value, now=now)
        store.supersede(
            conn, attempt_id=attempt_id, now=now, why="held: paused before delivery started"
        )
        return None
    assert ctx is not None
    lease_until = now + timedelta(seconds=settings.publish_lease_seconds)
    post = store.start_post(conn, post_id=post_id, now=now, lease_until=lease_until)
    if post is None:
        # The post left `queued` (cancelled, rescheduled): this attempt is void.
        store.supersede(
            conn, attempt_id=attempt_id, now=now, why="post changed before delivery started"
        )
        return None
    parent = post.parent_id
    return Snapshot(
        post_id=post_id,
        channel_id=fenced.channel_id,
        article_id=post.article_id,
        platform=str(ctx.platform),
        account_id=ctx.account_id,
        credentials=_credentials(ctx.credentials_encrypted, settings),
        payload=payload_from_post(post),  # type: ignore[arg-type]
        state=dict(post.platform_state or {}),
        attempt_number=1 + int(ctx.budget_used),
        had_ambiguous=int(ctx.ambiguous) > 0,
        stale=ctx.revision != post.rendered_revision and post.text_override is None,
        revision=ctx.revision,
        last_success_at=ctx.last_success_at,
        followup=parent is not None,
        parent_external_id=(
            store.parent_external_id(conn, parent_id=parent) if parent is not None else None
        ),
    )


def _held_status(ctx: Any, now: datetime) -> PostStatus | None:
    """Where a claimed post goes back to if it must not be published now; None to go on."""
    if ctx is None or pause_in_force(ctx.pause, now):
        return PostStatus.SCHEDULED  # the kill switch (or the channel is gone)
    if ctx.status == ChannelStatus.ACTIVE:
        return None
    return PostStatus.HELD if ctx.status == ChannelStatus.PAUSED else PostStatus.NEEDS_REAUTH


_CREDENTIALS: dict[tuple[str, ...], dict[str, str]] = {}


def _credentials(ciphertext: str, settings: Settings) -> dict[str, str]:
    """Decrypted channel credentials, memoised per ciphertext and keys (reconnecting or
    rotating yields a new ciphertext, so a stale entry is never used)."""
    key = (
        ciphertext,
        settings.secret_key.get_secret_value(),
        *(k.get_secret_value() for k in settings.encryption_keys),
    )
    found = _CREDENTIALS.get(key)
    if found is None:
        found = decrypt_credentials(ciphertext, settings=settings)
        if len(_CREDENTIALS) > 256:
            _CREDENTIALS.clear()
        _CREDENTIALS[key] = found
    return dict(found)
