"""Slow and malicious servers cannot hold the pipeline (issue 10): real worker process (16
threads), real scheduler, the sandbox platform, and a real local image server that trickles one
byte a second."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlmodel import Session, select

from scheduler.db.engine import session_scope
from scheduler.intake.articles import ingest_article
from scheduler.intake.schemas import parse_article
from scheduler.models import Post, PostStatus
from tests.conftest import REDIS_URL
from tests.utils.factories import article_variant
from tests.utils.slow_server import SlowServer, elapsed
from tests.utils.stack import ROOT, Stack, wait_until

SLOW_ARTICLES = 20
IMAGE_DEADLINE = 6


@pytest.fixture(scope="module")
def own_redis_url() -> Iterator[str]:
    url = REDIS_URL.rsplit("/", 1)[0] + "/" + os.environ.get("NEWSRELAY_TEST_REDIS_DB", "8")
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[SlowServer, SlowServer]]:
    slow = SlowServer(interval=1.0, length=120).start()  # one byte a second for two minutes
    fast = SlowServer().start()
    yield slow, fast
    slow.stop()
    fast.stop()


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, module_pg_url: str, own_redis_url: str
) -> Iterator[Stack]:
    st = Stack(
        tmp_path_factory.mktemp("slow"),
        database_url=module_pg_url,
        broker_url=own_redis_url,
        overrides={
            "images__allowed_networks": ["127.0.0.0/8"],
            "images__fetch_deadline": str(IMAGE_DEADLINE),
        },
        worker_concurrency=16,
    )
    st.start_worker()
    st.start_scheduler()
    yield st
    st.close()


def ingest(stack: Stack, tag: str, image_url: str) -> str:
    data = parse_article(article_variant(tag, image_url=image_url))
    with session_scope(stack.engine) as s:
        return str(ingest_article(session=s, data=data).article.id)


def posts_of(stack: Stack, article_id: str) -> list[Post]:
    with Session(stack.engine) as s:
        return list(s.exec(select(Post).where(Post.article_id == article_id)).all())  # type: ignore[arg-type]


def test_a_normal_article_goes_live_while_twenty_sit_on_a_trickling_image_server(
    stack: Stack, servers: tuple[SlowServer, SlowServer]
) -> None:
    slow, fast = servers
    slow_ids = [ingest(stack, f"slow-{n}", f"{slow.url}/trickle.jpg") for n in range(SLOW_ARTICLES)]
    wait_until(lambda: slow.requests_for("/trickle.jpg"), timeout=30, message="the slow downloads")
    time.sleep(2)  # every thread that is going to sit on the slow server is sitting there now
    start = time.monotonic()
    normal_id = ingest(stack, "normal", f"{fast.url}/image.jpg")
    wait_until(
        lambda: all(p.status == PostStatus.PUBLISHED for p in posts_of(stack, normal_id)),
        timeout=10,
        interval=0.1,
        message="the normal article's three posts to go live",
    )
    took = elapsed(start)
    normal = posts_of(stack, normal_id)
    assert len(normal) == 3 and took < 10, stack.worker_logs()
    [ig] = [p for p in normal if p.platform == "instagram"]
    assert ig.warnings == [] and ig.media[0]["width"] == 1080  # its own image, fetched
    print(f"normal article live {took:.2f} s after intake, beside {SLOW_ARTICLES} slow ones")

    def slow_instagram() -> list[Post]:
        return [p for a in slow_ids for p in posts_of(stack, a) if p.platform == "instagram"]

    wait_until(
        lambda: all(p.status != PostStatus.RENDERING for p in slow_instagram()),
        timeout=60,
        message="the slow articles' Instagram posts to be rendered",
    )
    for post in slow_instagram():
        assert post.warnings, post
        assert post.warnings[0].startswith("The article image was not used (the image server")
        assert "did not send" in post.warnings[0] and "headline card" in post.warnings[0]
    # Only a share of the downloads ever went to the slow server, never one per article.
    assert len(slow.requests_for("/trickle.jpg")) <= 4


def test_preview_ends_at_the_image_deadline_with_the_headline_card(
    stack: Stack, servers: tuple[SlowServer, SlowServer], tmp_path: Path
) -> None:
    slow, _ = servers
    article = tmp_path / "article.json"
    article.write_text(json.dumps(article_variant("preview", image_url=f"{slow.url}/trickle.jpg")))
    env = {**stack.env, "NEWSRELAY_IMAGES__FETCH_DEADLINE": "2"}
    start = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-m", "scheduler.cli.app", "preview", str(article), "--json",
         "--channel", "instagram"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    took = elapsed(start)
    assert out.returncode == 0, out.stderr
    [payload] = json.loads(out.stdout)["posts"]
    assert payload["warnings"][0] == (
        "The article image was not used (the image server did not send the whole image within "
        "2 s); a headline card was generated instead."
    )
    assert took < 2 + 8  # the deadline plus the interpreter's start-up on a busy machine
