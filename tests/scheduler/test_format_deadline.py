"""The format task bounds itself (the threads pool ignores Celery's time limits): it holds its
post's lease for its own deadline, a slow image server gets only its share of downloads (the
other posts wait in ``rendering`` instead of holding threads), and past the image deadline the
post gets the headline card with the reason."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from adapters import platform_client
from adapters.images import FetchGate
from config import Settings
from scheduler.channels import ensure_sandbox_channels
from scheduler.db.engine import session_scope
from scheduler.delivery.dispatch import claim_posts_to_render
from scheduler.editorial.rendering import format_post, image_policy
from scheduler.intake.articles import ingest_article
from scheduler.intake.schemas import parse_article
from scheduler.models import Post, PostStatus, utcnow
from tests.utils.slow_server import SlowServer


@pytest.fixture
def slow() -> Iterator[SlowServer]:
    server = SlowServer(interval=0.2, length=300).start()
    yield server
    server.stop()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        environment="test",
        data_dir=tmp_path / "data",
        task_deadline_seconds=20,
        images={  # type: ignore[arg-type]
            "allowed_networks": ["127.0.0.0/8"],
            "fetch_deadline": 1.5,
            "fetches_per_server": 1,
            "busy_retry_seconds": 3,
        },
    )


def instagram_post(engine: Engine, settings: Settings, article: dict[str, Any], url: str) -> Any:
    data = {**article, "external_id": uuid.uuid4().hex, "image_url": url}
    with session_scope(engine) as s:
        ensure_sandbox_channels(session=s, settings=settings)
        ingest_article(session=s, data=parse_article(data))
    with Session(engine) as s:
        return next(p.id for p in s.exec(select(Post)).all() if p.platform == "instagram")


def claimed(engine: Engine, now: Any, post_id: Any) -> list[tuple[str, ...]]:
    """The format messages the dispatcher would send at ``now`` for this post."""
    messages = claim_posts_to_render(engine=engine, now=now, batch=10, lease_seconds=5)
    return [m.args for m in messages if m.args == (str(post_id),)]


def post(engine: Engine, post_id: Any) -> Post:
    with Session(engine) as s:
        row = s.get(Post, post_id)
        assert row is not None
        return row


def test_a_format_holds_its_lease_for_its_deadline_then_falls_back_with_the_reason(
    engine: Engine, settings: Settings, article_json: dict[str, Any], slow: SlowServer
) -> None:
    post_id = instagram_post(engine, settings, article_json, f"{slow.url}/trickle.jpg")
    claim_posts_to_render(engine=engine, now=utcnow(), batch=10, lease_seconds=5)
    done: list[Any] = []
    client = platform_client(settings)
    worker = threading.Thread(
        target=lambda: done.append(
            format_post(engine=engine, post_id=post_id, settings=settings, client=client)
        )
    )
    start = time.monotonic()
    worker.start()
    while not slow.requests_for("/trickle.jpg"):
        time.sleep(0.02)
    # Mid-download, 10 s on: the queued lease (5 s) would have run out, the task's has not.
    later = utcnow() + timedelta(seconds=10)
    assert claimed(engine, later, post_id) == []
    worker.join()
    assert time.monotonic() - start < 4
    row = post(engine, post_id)
    assert done == [row.status] and row.status != PostStatus.RENDERING
    assert row.warnings[0] == (
        "The article image was not used (the image server did not send the whole image within "
        "1.5 s); a headline card was generated instead."
    )


def test_a_format_past_its_lease_is_handed_to_another_task(
    engine: Engine, settings: Settings, article_json: dict[str, Any], slow: SlowServer
) -> None:
    post_id = instagram_post(engine, settings, article_json, f"{slow.url}/trickle.jpg")
    gate = FetchGate()
    with gate.slot(f"127.0.0.1:{slow.port}", image_policy(settings)):  # wedged elsewhere
        assert format_post(
            engine=engine, post_id=post_id, settings=settings, client=httpx.Client(), gate=gate
        ) is None  # fmt: skip
    row = post(engine, post_id)
    assert row.status == PostStatus.RENDERING and row.lease_until is not None
    assert row.lease_until - utcnow() <= timedelta(seconds=3)  # busy: back in 3 s, not 30
    past = row.lease_until + timedelta(seconds=1)
    assert claimed(engine, past, post_id) == [(str(post_id),)]


def test_a_busy_image_server_makes_the_post_wait_not_lose_its_image(
    engine: Engine, settings: Settings, article_json: dict[str, Any], slow: SlowServer
) -> None:
    post_id = instagram_post(engine, settings, article_json, f"{slow.url}/image.jpg")
    gate = FetchGate()
    client = platform_client(settings)
    with gate.slot(f"127.0.0.1:{slow.port}", image_policy(settings)):
        assert format_post(
            engine=engine, post_id=post_id, settings=settings, client=client, gate=gate
        ) is None  # fmt: skip
        assert slow.seen == []
    status = format_post(
        engine=engine, post_id=post_id, settings=settings, client=client, gate=gate
    )
    row = post(engine, post_id)
    assert status == row.status == PostStatus.SCHEDULED
    assert row.warnings == [] and row.media[0]["width"] == 1080
