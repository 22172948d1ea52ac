"""Instagram's rolling publishing limit, end to end on PostgreSQL and the sandbox over HTTP:
the 101st post in 24 hours is held with a reason (never sent to fail) and goes out when the
window frees a slot; the test moves the sandbox's window clock instead of sleeping."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
from sqlmodel import Session, select

from adapters.base import MediaItem, Payload
from adapters.instagram import InstagramAdapter
from adapters.sandbox import SandboxClient, SandboxServer, sandbox_token
from config import Settings
from scheduler.db.engine import make_engine, session_scope
from scheduler.delivery.attempt import deliver_attempt
from scheduler.delivery.dispatch import claim_due_posts
from scheduler.models import Channel, DeliveryAttempt, Post, PostStatus, WaitCode, utcnow
from scheduler.ops.metrics import metrics_registry, render_metrics
from tests.scheduler.policy_support import ago, due_article, post, sandbox_channels

IMAGE = {"path": "ig.jpg", "width": 1080, "height": 1350, "content_type": "image/jpeg"}


def _deliver_claimed(engine: object, settings: Settings, post_id: object, now: object) -> str:
    claim_due_posts(engine=engine, now=now, batch=50, lease_seconds=600)  # type: ignore[arg-type]
    with Session(engine) as s:  # type: ignore[call-overload]
        attempt = s.exec(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.post_id == post_id)
            .order_by(DeliveryAttempt.number.desc())  # type: ignore[attr-defined]
        ).first()
    assert attempt is not None
    with httpx.Client(timeout=10) as client:
        return deliver_attempt(
            engine=engine,  # type: ignore[arg-type]
            attempt_id=attempt.id,
            settings=settings,
            client=client,
        )


def test_the_101st_instagram_post_in_24_hours_is_held_with_a_reason_and_goes_out_when_a_slot_frees(
    pg_url: str, tmp_path: Path
) -> None:
    with SandboxServer("127.0.0.1", 0) as sandbox, httpx.Client(timeout=10) as http:
        settings = Settings(
            environment="test", data_dir=tmp_path / "data", sandbox_port=sandbox.port
        )
        settings.meta.base_url = sandbox.url
        engine = make_engine(pg_url)
        ids = sandbox_channels(engine, settings, instagram={"stale_after_minutes": 3 * 24 * 60})
        with Session(engine) as s:
            account = s.get(Channel, ids["instagram"]).account_id  # type: ignore[union-attr]
        image_url = f"{sandbox.url}/_sandbox/images/1080x1350.jpg"
        adapter = InstagramAdapter(
            client=http, base_url=sandbox.url, api_version=settings.meta.api_version
        )
        first_at = utcnow()
        for i in range(100):  # the account's 100 publishes of the last 24 hours
            adapter.publish(
                Payload(
                    channel="instagram",
                    text=f"earlier post {i}",
                    media=[MediaItem(url=image_url, **IMAGE)],
                ),  # type: ignore[arg-type]
                {"access_token": sandbox_token(account)},
                account_id=account,
            )
        now = utcnow()
        posts = due_article(
            engine, "ig-101", published=ago(now, minutes=1), due=ago(now, seconds=1)
        )
        with session_scope(engine) as s:
            row = s.get(Post, posts["instagram"])
            assert row is not None
            row.media = [{"url": image_url, **IMAGE}]
            s.add(row)

        assert _deliver_claimed(engine, settings, posts["instagram"], now) == "retry_wait"
        held = post(engine, posts["instagram"])
        admin = SandboxClient(sandbox.url)
        assert len(admin.posts(account=account, platform="instagram")) == 100  # not sent
        assert held.status == PostStatus.RETRY_WAIT and held.wait_code == WaitCode.QUOTA
        assert held.wait_reason is not None
        assert "100 of 100 posts in the last 24 hours" in held.wait_reason
        assert "held, not sent, until a slot frees at" in held.wait_reason
        assert held.wait_until is not None
        assert first_at + timedelta(hours=24) - timedelta(seconds=2) <= held.wait_until
        assert held.wait_until <= now + timedelta(hours=24)
        assert not any(
            r["path"].endswith("/media_publish") and (r["status"] or 0) >= 400
            for r in admin.requests(account=account)
        )
        gauge = render_metrics(metrics_registry(engine)).decode()
        assert 'newsrelay_posts_held{channel="Sandbox Instagram",reason="quota"} 1.0' in gauge
        # Held: the channel waits for the window, the post is not claimed again before.
        assert claim_due_posts(engine=engine, now=utcnow(), batch=50, lease_seconds=600) == []

        # A day later (the sandbox's window clock moved, ours passed in): the slot is free.
        http.post(
            f"{sandbox.url}/_sandbox/clock", json={"advance_seconds": 86400}
        ).raise_for_status()
        assert held.next_attempt_at is not None
        later = held.next_attempt_at + timedelta(seconds=1)
        assert _deliver_claimed(engine, settings, posts["instagram"], later) == "published"
        assert post(engine, posts["instagram"]).status == PostStatus.PUBLISHED
        assert len(admin.posts(account=account, platform="instagram")) == 101
        engine.dispose()
