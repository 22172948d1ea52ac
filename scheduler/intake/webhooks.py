"""The CMS webhook: signature check, replay protection and the article events.

Requests are signed with HMAC-SHA256 over ``"<timestamp>.<raw body>"`` (``X-Newsrelay-Timestamp``,
``X-Newsrelay-Signature: sha256=<hex>``).  A signature is accepted once: stored as a
:class:`WebhookReceipt` in the intake's transaction, so a refused or failed request leaves nothing
and a replay finds the receipt.  Events: ``published``/``updated`` store the article idempotently
and create (or re-render) its posts before the answer, on the channels whose routing takes it;
``unpublished`` cancels the posts that have not gone out.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import ConfigDict, StringConstraints, ValidationError
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from config import Settings
from scheduler.db.engine import session_scope
from scheduler.intake.articles import PostRef, content_hash, ingest_article
from scheduler.intake.jsonbody import load_json
from scheduler.intake.routing import cancel_pending_posts
from scheduler.intake.schemas import InvalidInput, StorableInput, field_errors, parse_article
from scheduler.intake.wordpress import is_wordpress_post, wordpress_article, wordpress_event
from scheduler.models import (
    Article,
    ArticleState,
    Post,
    PostStatus,
    WebhookReceipt,
)
from scheduler.ops.audit import record_audit
from scheduler.runtime.logs import get_logger

log = get_logger(__name__)

EVENTS = ("published", "updated", "unpublished")
UNPUBLISH_REASON = "Cancelled: the article was unpublished in the CMS"
DEFAULT_WORDPRESS_SOURCE = "wordpress"

# Receipts are pruned at most this often per process: a DELETE on every request is wasted work.
_PRUNE_EVERY_SECONDS = 30.0
_last_prune = 0.0


class WebhooksDisabled(Exception):
    """No webhook secret is configured, so no request can be authenticated."""


class WebhookRefused(Exception):
    """The request is not authentic (or not fresh); ``reason`` says why, for the caller."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class WebhookOutcome:
    """What the webhook did, as the API reports it."""

    event: str
    source: str
    external_id: str
    article_id: uuid.UUID | None = None
    revision: int | None = None
    created: bool = False
    duplicate: bool = False
    posts: list[dict[str, Any]] = field(default_factory=list)
    cancelled: int = 0
    posts_created: int = 0
    note: str | None = None  # e.g. "No channel takes this article (routing)"

    def as_json(self) -> dict[str, Any]:
        return {
            "event": self.event,
            "source": self.source,
            "external_id": self.external_id,
            "article_id": str(self.article_id) if self.article_id else None,
            "revision": self.revision,
            "created": self.created,
            "duplicate": self.duplicate,
            "cancelled": self.cancelled,
            "posts": self.posts,
            "posts_created": self.posts_created,
            "note": self.note,
        }


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The ``X-Newsrelay-Signature`` value for a body (what the CMS computes)."""
    message = str(timestamp).encode("ascii") + b"." + body
    return "sha256=" + hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def verify_signature(
    *,
    secret: str,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    now: float,
    tolerance_seconds: int,
) -> str:
    """Check the signature and its freshness; return the digest (the replay key)."""
    if not signature:
        raise WebhookRefused("missing X-Newsrelay-Signature header")
    if not timestamp:
        raise WebhookRefused("missing X-Newsrelay-Timestamp header")
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise WebhookRefused("X-Newsrelay-Timestamp must be Unix time in whole seconds")
    scheme, _, digest = signature.strip().partition("=")
    if scheme != "sha256" or len(digest) != 64:
        raise WebhookRefused("X-Newsrelay-Signature must be 'sha256=<64 hex digits>'")
    # Authenticity first, so an unsigned caller learns nothing else (not even our clock).
    if not hmac.compare_digest(sign(secret, timestamp, body), "sha256=" + digest.lower()):
        raise WebhookRefused("signature does not match")
    age = int(now) - int(timestamp)
    if age > tolerance_seconds:
        raise WebhookRefused(f"timestamp is {age} s old; the limit is {tolerance_seconds} s")
    if -age > tolerance_seconds:
        raise WebhookRefused(
            f"timestamp is {-age} s in the future; the limit is {tolerance_seconds} s "
            "(check the sender's clock)"
        )
    return digest.lower()


class _ArticleRef(StorableInput):
    model_config = ConfigDict(extra="ignore")

    source: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    external_id: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)
    ]


@dataclass
class _Event:
    event: str
    article: dict[str, Any]


def parse_event(body: bytes, *, wordpress_source: str) -> _Event:
    """The event and article JSON in a body: our envelope or a WordPress post object.
    Raises ``MalformedJson`` (not JSON, or too deep) or :class:`InvalidInput` (not an event)."""
    data = load_json(body)
    if not isinstance(data, dict):
        raise InvalidInput(["(body): expected a JSON object"])
    if is_wordpress_post(data):
        return _Event(wordpress_event(data), wordpress_article(data, source=wordpress_source))
    errors = [f"{key}: unknown field" for key in data if key not in ("event", "article")]
    event = data.get("event")
    if event not in EVENTS:
        errors.append(f"event: must be one of {', '.join(EVENTS)}")
    article: Any = data.get("article")
    if is_wordpress_post(article):
        article = wordpress_article(article, source=wordpress_source)
    elif not isinstance(article, dict):
        errors.append("article: required object with the article's fields")
    if errors:
        raise InvalidInput(errors)
    return _Event(str(event), article)


def receive_webhook(
    *,
    engine: Engine,
    settings: Settings,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    source_header: str | None = None,
    now: float | None = None,
) -> WebhookOutcome:
    """Authenticate one webhook request and apply its event, all in one transaction.

    Raises :class:`WebhooksDisabled`, :class:`WebhookRefused`, ``MalformedJson`` or
    :class:`InvalidInput`; in each case nothing is stored.
    """
    if settings.webhook_secret is None or not settings.webhook_secret.get_secret_value():
        raise WebhooksDisabled("webhooks are disabled: set NEWSRELAY_WEBHOOK_SECRET")
    now = time.time() if now is None else now
    tolerance = settings.webhook_tolerance_seconds
    digest = verify_signature(
        secret=settings.webhook_secret.get_secret_value(),
        timestamp=timestamp,
        signature=signature,
        body=body,
        now=now,
        tolerance_seconds=tolerance,
    )
    event = parse_event(
        body, wordpress_source=(source_header or "").strip() or DEFAULT_WORDPRESS_SOURCE
    )
    at = datetime.fromtimestamp(now, UTC)
    with session_scope(engine) as session:
        _store_receipt(session=session, digest=digest, at=at, tolerance_seconds=tolerance)
        if event.event == "unpublished":
            outcome = _unpublish(session=session, article=event.article, now=at)
        else:
            outcome = _publish(session=session, event=event, now=at)
    log.info(
        "webhook_applied",
        webhook_event=outcome.event,
        article_id=str(outcome.article_id) if outcome.article_id else None,
        revision=outcome.revision,
        duplicate=outcome.duplicate,
    )
    return outcome


def _store_receipt(*, session: Session, digest: str, at: datetime, tolerance_seconds: int) -> None:
    global _last_prune
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # One statement, no savepoint: a concurrent copy of the same request holds the key until it
    # commits, then this insert does nothing and returns no row, so exactly one copy wins.
    stored = session.execute(
        insert(WebhookReceipt)
        .values(signature=digest, received_at=at)
        .on_conflict_do_nothing(index_elements=["signature"])
        .returning(col(WebhookReceipt.signature))
    ).first()
    if stored is None:
        raise WebhookRefused("this signature was already used (replay)")
    if time.monotonic() - _last_prune > _PRUNE_EVERY_SECONDS:
        _last_prune = time.monotonic()
        # A signature stays valid until its timestamp is ``tolerance`` old, and the timestamp
        # may be up to ``tolerance`` in the future: keep receipts for twice the window.
        cutoff = at - timedelta(seconds=2 * tolerance_seconds)
        session.execute(sa.delete(WebhookReceipt).where(col(WebhookReceipt.received_at) < cutoff))


def _post_rows(
    session: Session, article_id: uuid.UUID, posts: Sequence[Post | PostRef] | None = None
) -> list[dict[str, Any]]:
    if posts is None:
        posts = list(session.exec(select(Post).where(Post.article_id == article_id)).all())
    ordered = sorted(posts, key=lambda p: str(p.platform))
    return [
        {"id": str(p.id), "channel_id": str(p.channel_id), "platform": p.platform,
         "status": p.status}
        for p in ordered
    ]  # fmt: skip


def _publish(*, session: Session, event: _Event, now: datetime) -> WebhookOutcome:
    data = parse_article(event.article)
    revision = data.revision
    if revision is None:
        # No revision: same text → duplicate; changed → the next revision (ingest_article raises it)
        known = session.exec(
            select(Article).where(
                Article.source == data.source, Article.external_id == data.external_id
            )
        ).first()
        if (
            known is not None
            and known.state == ArticleState.PUBLISHED
            and known.content_hash == content_hash(data)
        ):
            revision = known.revision
    result = ingest_article(
        session=session,
        data=data,
        actor="webhook",
        revision=revision,
        now=now,
        post_objects=False,  # a new article's posts are only reported: plain rows suffice
    )
    article = result.article
    return WebhookOutcome(
        event=event.event,
        source=article.source,
        external_id=article.external_id,
        article_id=article.id,
        revision=article.revision,
        created=result.created,
        duplicate=result.duplicate,
        # A new article's posts are all just created: no need to read them back.
        posts=_post_rows(session, article.id, result.created_rows if result.created else None),
        posts_created=len(result.created_rows) + len(result.posts_created),
        cancelled=result.posts_cancelled,
        note=result.note,
    )


def _unpublish(*, session: Session, article: dict[str, Any], now: datetime) -> WebhookOutcome:
    try:
        ref = _ArticleRef.model_validate(article)
    except ValidationError as exc:
        raise InvalidInput([f"article.{line}" for line in field_errors(exc)]) from None
    result = unpublish_article(
        session=session, source=ref.source, external_id=ref.external_id, actor="webhook", now=now
    )
    outcome = WebhookOutcome(event="unpublished", source=ref.source, external_id=ref.external_id)
    if result is not None:
        outcome.article_id = result.article.id
        outcome.revision = result.article.revision
        outcome.cancelled = len(result.cancelled)
        outcome.posts = _post_rows(session, result.article.id)
    return outcome


@dataclass
class UnpublishResult:
    """The article taken down, the posts cancelled and those left as they were."""

    article: Article
    cancelled: list[uuid.UUID]
    left: dict[str, int]


def unpublish_article(
    *,
    session: Session,
    source: str,
    external_id: str,
    actor: str,
    now: datetime | None = None,
) -> UnpublishResult | None:
    """Mark an article unpublished and cancel its posts that have not gone out.

    Posts already published, in flight or of unknown outcome are left alone and counted in the
    audit event, so an editor can see what may still need deleting by hand.  Returns ``None`` if
    the article is unknown (a draft the CMS never published, say).
    """
    now = now or datetime.now(UTC)
    article = session.exec(
        select(Article).where(Article.source == source, Article.external_id == external_id)
    ).first()
    if article is None:
        return None
    article.state = ArticleState.UNPUBLISHED
    article.updated_at = now
    session.add(article)
    cancelled = cancel_pending_posts(
        session=session, article=article, reason=UNPUBLISH_REASON, actor=actor, now=now
    )
    session.expire_all()  # the article's other posts are read below, fresh
    left: dict[str, int] = {}
    for status in session.exec(select(Post.status).where(Post.article_id == article.id)).all():
        if status != PostStatus.CANCELLED:
            left[str(status)] = left.get(str(status), 0) + 1
    kept = ", ".join(f"{n} {s}" for s, n in sorted(left.items())) or "none"
    record_audit(
        session=session,
        actor=actor,
        action="article.unpublish",
        article_id=article.id,
        after={"state": ArticleState.UNPUBLISHED.value, "cancelled": len(cancelled)},
        detail=(
            f"The article was unpublished in the CMS: {len(cancelled)} pending post(s) "
            f"cancelled; left as they were: {kept}"
        ),
    )
    return UnpublishResult(article=article, cancelled=cancelled, left=left)
