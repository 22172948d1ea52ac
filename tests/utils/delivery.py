"""Factories for delivery tests: a rendered post due now, claimed by the real dispatcher and
delivered by the real worker code, with the platform played by ``httpx.MockTransport``."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from config import Settings
from scheduler.channels import ensure_sandbox_channels
from scheduler.db.engine import session_scope
from scheduler.delivery.attempt import deliver_attempt
from scheduler.delivery.dispatch import claim_due_posts
from scheduler.delivery.reconcile import reconcile_post
from scheduler.intake.articles import ingest_article
from scheduler.intake.schemas import parse_article
from scheduler.models import Channel, DeliveryAttempt, Post, PostStatus, utcnow

Handler = Callable[[httpx.Request], httpx.Response]


def due_post(
    engine: Engine,
    settings: Settings,
    article_json: dict[str, Any],
    *,
    platform: str = "x",
    text: str = "A rendered post",
) -> uuid.UUID:
    """The fixture article's ``platform`` post, rendered and due a minute ago."""
    with session_scope(engine) as s:
        ensure_sandbox_channels(session=s, settings=settings)
        article = ingest_article(session=s, data=parse_article(article_json)).article
        post = s.exec(
            select(Post).where(Post.article_id == article.id, Post.platform == platform)
        ).one()
        post.status = PostStatus.SCHEDULED
        post.text = text
        post.link = None
        post.media = []
        post.rendered_revision = article.revision
        post.scheduled_at = utcnow() - timedelta(minutes=1)
        s.add(post)
        return post.id


def claim(engine: Engine, post_id: uuid.UUID) -> uuid.UUID:
    """Let the dispatcher claim the due post; the id of the attempt it created."""
    claim_due_posts(engine=engine, now=utcnow(), batch=10, lease_seconds=60)
    with Session(engine) as s:
        attempt_id: uuid.UUID = s.exec(
            select(DeliveryAttempt.id)
            .where(DeliveryAttempt.post_id == post_id)
            .order_by(col(DeliveryAttempt.number).desc())
        ).first()  # type: ignore[assignment]
    return attempt_id


def deliver(engine: Engine, attempt_id: uuid.UUID, settings: Settings, handler: Handler) -> str:
    """Run the worker's delivery of one attempt against ``handler`` as the platform."""
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        return deliver_attempt(
            engine=engine, attempt_id=attempt_id, settings=settings, client=client
        )


def reconcile(engine: Engine, post_id: uuid.UUID, settings: Settings, handler: Handler) -> str:
    """Run the worker's reconciliation of an ``unknown`` post against ``handler``."""
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        return reconcile_post(engine=engine, post_id=post_id, settings=settings, client=client)


def empty_timeline(request: httpx.Request) -> httpx.Response:
    """X's listing of the account's posts, with none since the attempt."""
    assert request.method == "GET" and request.url.path.endswith("/tweets")
    return httpx.Response(200, json={"meta": {"result_count": 0}})


def due_again(engine: Engine, post_id: uuid.UUID) -> None:
    """Skip the back-off (and the channel's rate-limit wait): the post is due now."""
    past = utcnow() - timedelta(seconds=1)
    with session_scope(engine) as s:
        s.execute(sa.update(Post).where(col(Post.id) == post_id).values(next_attempt_at=past))
        s.execute(sa.update(Channel).values(rate_limited_until=None))


def load(engine: Engine, post_id: uuid.UUID) -> tuple[Post, list[DeliveryAttempt]]:
    """The post and its attempts, oldest first."""
    with Session(engine) as s:
        post = s.get(Post, post_id)
        assert post is not None
        attempts = s.exec(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.post_id == post_id)
            .order_by(col(DeliveryAttempt.number))
        ).all()
        return post, list(attempts)
