"""End to end on PostgreSQL + Redis with real Celery worker processes against the sandbox:
an X channel with ``attach_image`` posts the article's image with its alt text, and a Facebook
channel with ``post_type: photo`` makes a photo post; each exactly once, also when the worker
is SIGKILLed while the platform is creating the post (reconciliation finds it, media and all)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlmodel import Session, col, select

from scheduler.channels import update_channel
from scheduler.db.engine import session_scope
from scheduler.intake.articles import ingest_article
from scheduler.intake.schemas import parse_article
from scheduler.models import AttemptStatus, Channel, DeliveryAttempt, Post, PostStatus
from tests.conftest import ROOT
from tests.utils.factories import article_variant
from tests.utils.stack import Stack, wait_until

PHOTO = (ROOT / "examples" / "images" / "dar-istanbul.jpg").read_bytes()


class _Photo(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(PHOTO)))
        self.end_headers()
        self.wfile.write(PHOTO)

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture(scope="module")
def photo_url() -> Iterator[str]:
    """The article's image on the newsroom's (loopback) web server."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Photo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/dar-istanbul.jpg"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, module_pg_url: str, module_redis_url: str
) -> Iterator[Stack]:
    st = Stack(
        tmp_path_factory.mktemp("media"),
        database_url=module_pg_url,
        broker_url=module_redis_url,
        overrides={"images__allowed_networks": ["127.0.0.0/8"]},
        worker_concurrency=4,
    )
    with session_scope(st.engine) as s:
        for channel in s.exec(select(Channel)).all():
            shape: dict[str, dict[str, Any]] = {
                "x": {"attach_image": True},
                "facebook": {"post_type": "photo"},
            }
            extra = shape.get(str(channel.platform))
            if extra:
                settings = {**channel.settings, **extra}
                update_channel(session=s, channel=channel, actor="test", channel_settings=settings)
    st.start_worker()
    st.start_scheduler()
    yield st
    st.close()


def ingest(stack: Stack, tag: str, image_url: str) -> tuple[str, str]:
    data = article_variant(tag, image_url=image_url)
    with session_scope(stack.engine) as s:
        article = ingest_article(session=s, data=parse_article(data)).article
        return str(article.id), article.title


def posts_of(stack: Stack, article_id: str) -> dict[str, Post]:
    with Session(stack.engine) as s:
        rows = s.exec(select(Post).where(col(Post.article_id) == article_id)).all()
        return {str(p.platform): p for p in rows}


def all_published(stack: Stack, article_id: str) -> dict[str, Post] | None:
    posts = posts_of(stack, article_id)
    done = len(posts) == 3 and all(p.status == PostStatus.PUBLISHED for p in posts.values())
    return posts if done else None


def live(stack: Stack, platform: str, tag: str) -> list[dict[str, Any]]:
    return [
        p
        for p in stack.client.posts(platform=platform)
        if f"({tag})" in (p.get("text") or "") or f"[{tag}]" in (p.get("text") or "")
    ]


def assert_media_posts(stack: Stack, posts: dict[str, Post], tag: str, title: str) -> None:
    """One X post with the image and its alt text, one Facebook photo post, as stored."""
    x, fb = posts["x"], posts["facebook"]
    [x_live] = live(stack, "x", tag)
    assert x_live["id"] == x.external_id and x_live["text"] == x.text
    assert len(x_live["media_ids"]) == 1 and x.media[0]["alt_text"] == title
    assert x_live["media"] == [
        {"media_key": f"3_{x_live['media_ids'][0]}", "type": "image/jpeg", "alt_text": title}
    ]
    assert x.platform_state["media_ids"] == x_live["media_ids"]
    [fb_live] = live(stack, "facebook", tag)
    assert fb_live["id"] == fb.external_id and fb_live["link"] is None
    assert fb_live["image_url"] == fb.media[0]["url"] and fb.media[0]["url"].startswith(
        stack.api.url
    )
    assert fb.link and fb_live["text"] == fb.text and fb.text.endswith(fb.link)


def test_x_post_with_the_article_image_and_alt_text_and_a_facebook_photo_post(
    stack: Stack, photo_url: str
) -> None:
    article_id, title = ingest(stack, "media-e2e", photo_url)
    posts = wait_until(
        lambda: all_published(stack, article_id),
        timeout=90,
        message="three published posts\n" + stack.worker_logs(),
    )
    for post in posts.values():
        # The article's own image, not a headline card.
        assert not any("headline card" in w for w in post.warnings), post.warnings
        assert post.media and post.media[0]["width"] == 1080
    assert_media_posts(stack, posts, "media-e2e", title)
    with Session(stack.engine) as s:
        attempts = s.exec(
            select(DeliveryAttempt).where(
                col(DeliveryAttempt.post_id).in_([p.id for p in posts.values()])
            )
        ).all()
    assert sorted(a.status for a in attempts) == [AttemptStatus.SUCCEEDED] * 3


def test_a_worker_killed_while_the_platforms_create_the_posts_leaves_each_created_once(
    stack: Stack, photo_url: str
) -> None:
    accounts = {p: c for p, c in channel_accounts(stack).items() if p in ("x", "facebook")}
    # Slow creates: the worker dies while X creates the post (after the image upload) and while
    # Facebook creates the photo post; the sandbox finishes both after the worker is gone.
    stack.client.set_fault(accounts["x"], platform="x", latency_ms=700)
    stack.client.set_fault(accounts["facebook"], platform="facebook", latency_ms=4000)
    article_id, title = ingest(stack, "media-kill", photo_url)

    def in_flight() -> dict[str, Post] | None:
        posts = posts_of(stack, article_id)
        x, fb = posts.get("x"), posts.get("facebook")
        ready = (
            x is not None
            and fb is not None
            and x.status == PostStatus.PUBLISHING
            and bool(x.platform_state.get("media_ids"))
            and fb.status == PostStatus.PUBLISHING
        )
        return posts if ready else None

    wait_until(in_flight, timeout=60, interval=0.05, message="both posts in flight")
    time.sleep(0.2)  # X's create is now inside the sandbox's 0.7 s delay
    for proc in list(stack.workers):
        if proc.poll() is None:
            stack.kill_worker(proc)
    at_kill = posts_of(stack, article_id)
    assert {at_kill["x"].status, at_kill["facebook"].status} == {PostStatus.PUBLISHING}
    stack.client.clear_faults()
    stack.start_worker()
    posts = wait_until(
        lambda: all_published(stack, article_id),
        timeout=120,
        message="the posts to settle after the kill\n" + stack.worker_logs(),
    )
    assert_media_posts(stack, posts, "media-kill", title)
    # Found by reconciliation, not sent again: one attempt each, left ambiguous by the kill
    # (the reaper's "unknown"), and no second attempt.
    with Session(stack.engine) as s:
        attempts = s.exec(
            select(DeliveryAttempt).where(
                col(DeliveryAttempt.post_id).in_([posts["x"].id, posts["facebook"].id])
            )
        ).all()
    assert len(attempts) == 2 and {a.error_class for a in attempts} == {"ambiguous"}, attempts


def channel_accounts(stack: Stack) -> dict[str, str]:
    with Session(stack.engine) as s:
        return {str(c.platform): c.account_id for c in s.exec(select(Channel)).all()}
