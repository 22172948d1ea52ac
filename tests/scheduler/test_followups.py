"""Follow-ups on real SQLite and PostgreSQL: intake derives one per post on a channel with
``first_comment``; the claim takes it only once its parent is published with its platform id
(and then past the channel's spacing); it is sent under the parent's id by the real worker code,
reconciled on the parent's comments, and cancelled with its parent."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from config import Settings
from scheduler.db.engine import session_scope
from scheduler.delivery.dispatch import _claim, claim_due_posts
from scheduler.editorial.actions import cancel_post, retry_post
from scheduler.editorial.rendering import format_post
from scheduler.intake.articles import ingest_article
from scheduler.intake.followups import PostKind
from scheduler.intake.schemas import parse_article
from scheduler.models import DeliveryAttempt, Post, PostStatus, WaitCode, utcnow
from tests.scheduler.policy_support import due_article, post, sandbox_channels
from tests.utils.delivery import deliver, load, reconcile
from tests.utils.factories import article_variant

X_REPLY = "More in the thread: {url}"
IG_COMMENT = "Read the full story: {link}"


def followups(engine: Engine, article_post: uuid.UUID) -> dict[str, Post]:
    """The follow-ups of ``article_post``'s article, by platform."""
    with Session(engine) as s:
        parent = s.get(Post, article_post)
        assert parent is not None
        rows = s.exec(
            select(Post).where(
                col(Post.article_id) == parent.article_id, col(Post.parent_id).is_not(None)
            )
        ).all()
        return {str(p.platform): p for p in rows}


def parents(engine: Engine, tag: str) -> dict[str, uuid.UUID]:
    """``due_article`` ids of the article's own posts (follow-ups left out)."""
    ids = due_article(engine, tag, published=utcnow(), due=utcnow() - timedelta(seconds=5))
    with Session(engine) as s:
        rows = s.exec(
            select(Post).where(
                col(Post.article_id) == post(engine, next(iter(ids.values()))).article_id,
                col(Post.kind) == PostKind.LINK,
            )
        ).all()
        return {str(p.platform): p.id for p in rows}


def claimed(engine: Engine) -> set[uuid.UUID]:
    messages = claim_due_posts(engine=engine, now=utcnow(), batch=50, lease_seconds=600)
    with Session(engine) as s:
        return {
            a.post_id
            for a in s.exec(
                select(DeliveryAttempt).where(
                    col(DeliveryAttempt.id).in_([uuid.UUID(m.task_id) for m in messages])
                )
            ).all()
        }


def go_live(engine: Engine, post_id: uuid.UUID, external_id: str | None) -> None:
    with session_scope(engine) as s:
        s.execute(
            sa.update(Post)
            .where(col(Post.id) == post_id)
            .values(
                status=PostStatus.PUBLISHED,
                external_id=external_id,
                published_at=utcnow(),
                lease_until=None,
            )
        )


def test_intake_derives_one_followup_per_post_on_channels_with_first_comment(
    engine: Engine, settings: Settings
) -> None:
    sandbox_channels(engine, settings, x={"first_comment": X_REPLY})
    for _ in range(2):  # a second intake of the same revision creates nothing
        with session_scope(engine) as s:
            ingest_article(session=s, data=parse_article(article_variant("fu-intake")))
    with Session(engine) as s:
        posts = s.exec(select(Post)).all()
    kinds = sorted((str(p.platform), p.kind) for p in posts)
    assert kinds == [("facebook", "link"), ("instagram", "link"), ("x", "link"), ("x", "reply")]
    reply = next(p for p in posts if p.kind == "reply")
    parent = next(p for p in posts if p.platform == "x" and p.kind == "link")
    assert reply.parent_id == parent.id and reply.status == PostStatus.RENDERING
    assert reply.scheduled_at == parent.scheduled_at


def test_claim_waits_for_the_parent_published_with_its_platform_id(
    engine: Engine, settings: Settings
) -> None:
    sandbox_channels(
        engine,
        settings,
        x={"first_comment": X_REPLY},
        # Spacing of 10 minutes: a follow-up is not a post in the feed and does not wait for it.
        instagram={"first_comment": IG_COMMENT, "min_interval_seconds": 600},
    )
    ids = parents(engine, "fu-claim")
    follow = followups(engine, ids["x"])
    assert set(follow) == {"x", "instagram"}
    assert claimed(engine) == set(ids.values())  # the parents, not the follow-ups
    assert claimed(engine) == set()
    # The claim's UPDATE re-checks it too: naming the follow-up outright does not claim it.
    with session_scope(engine) as s:
        forced = _claim(s, col(Post.id) == follow["x"].id, now=utcnow(), lease_seconds=60)
    assert forced == []
    go_live(engine, ids["x"], None)  # published but its id unknown: still not
    assert claimed(engine) == set()
    go_live(engine, ids["x"], "1445880548472328192")
    go_live(engine, ids["instagram"], "17895695668004550")
    assert claimed(engine) == {follow["x"].id, follow["instagram"].id}
    assert post(engine, follow["instagram"].id).status == PostStatus.QUEUED


def test_waiting_followup_never_expires_and_says_why_it_waits(
    engine: Engine, settings: Settings
) -> None:
    sandbox_channels(engine, settings, x={"first_comment": X_REPLY, "stale_after_minutes": 1})
    with session_scope(engine) as s:
        ingest_article(session=s, data=parse_article(article_variant("fu-wait")))
    with Session(engine) as s:
        reply = s.exec(select(Post).where(col(Post.kind) == "reply")).one()
    with httpx.Client() as client:
        assert format_post(engine=engine, post_id=reply.id, settings=settings, client=client) == (
            PostStatus.SCHEDULED
        )
    rendered = post(engine, reply.id)
    assert rendered.wait_code == WaitCode.PARENT
    assert rendered.wait_reason == "Goes out once its parent post is live."
    assert rendered.text.startswith("More in the thread: https://")
    with session_scope(engine) as s:  # long overdue, its article long published
        old = utcnow() - timedelta(hours=3)
        s.execute(sa.update(Post).values(scheduled_at=old, status=PostStatus.SCHEDULED))
        s.execute(sa.text("UPDATE article SET published_at = :old"), {"old": old})
    claim_due_posts(engine=engine, now=utcnow(), batch=50, lease_seconds=600)
    assert post(engine, rendered.parent_id).status == PostStatus.EXPIRED  # type: ignore[arg-type]
    assert post(engine, reply.id).status == PostStatus.SCHEDULED


def test_followup_is_sent_under_the_parent_and_reconciled_on_its_comments(
    engine: Engine, settings: Settings
) -> None:
    sandbox_channels(engine, settings, instagram={"first_comment": IG_COMMENT})
    ids = parents(engine, "fu-send")
    comment = followups(engine, ids["instagram"])["instagram"]
    claimed(engine)
    go_live(engine, ids["instagram"], "17895695668004550")
    claimed(engine)
    with Session(engine) as s:
        attempt = s.exec(
            select(DeliveryAttempt).where(col(DeliveryAttempt.post_id) == comment.id)
        ).one()
    seen: list[httpx.Request] = []

    def server_error(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        error = {"message": "An unexpected error", "type": "OAuthException", "code": 2}
        return httpx.Response(500, json={"error": error})

    outcome = deliver(engine, attempt.id, settings, server_error)
    assert outcome == "unknown", load(engine, comment.id)
    assert seen[0].url.path.endswith("/17895695668004550/comments")
    text = post(engine, comment.id).text

    def listing(request: httpx.Request) -> httpx.Response:
        assert request.method == "GET" and request.url.path.endswith("/17895695668004550/comments")
        item = {"id": "17870913679156914", "text": text, "timestamp": "2026-12-06T05:00:00+0000"}
        return httpx.Response(200, json={"data": [item]})

    assert reconcile(engine, comment.id, settings, listing) == "published"
    done, attempts = load(engine, comment.id)
    assert (done.status, done.external_id) == (PostStatus.PUBLISHED, "17870913679156914")
    assert [a.status for a in attempts] == ["succeeded"]


def test_cancelling_a_post_cancels_its_followup_and_retrying_brings_it_back(
    engine: Engine, settings: Settings
) -> None:
    sandbox_channels(engine, settings, x={"first_comment": X_REPLY})
    ids = parents(engine, "fu-cancel")
    reply = followups(engine, ids["x"])["x"]
    with session_scope(engine) as s:
        cancel_post(session=s, post_id=ids["x"], actor="editor")
    cancelled = post(engine, reply.id)
    assert cancelled.status == PostStatus.CANCELLED
    assert cancelled.last_error == "Cancelled with its parent post."
    with session_scope(engine) as s:
        retry_post(session=s, post_id=ids["x"], actor="editor")
    assert post(engine, ids["x"]).status == PostStatus.SCHEDULED
    assert post(engine, reply.id).status == PostStatus.SCHEDULED
    assert post(engine, reply.id).last_error is None
