"""The kill switch and readiness through the running stack (API over HTTP, real Celery worker,
scheduler ticker): while the global pause is on a due post is not dispatched, and it goes out
once lifted; /readyz is green with everything running and names the dispatcher once it stops."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select

from scheduler.access.auth import create_api_key
from scheduler.db.engine import session_scope
from scheduler.intake.articles import ingest_article
from scheduler.intake.schemas import parse_article
from scheduler.models import DeliveryAttempt, Post, PostStatus, Role
from scheduler.ops.health import dispatcher_silence
from tests.integration.conftest import make_stack
from tests.utils.factories import article_variant
from tests.utils.stack import Stack, wait_until


@pytest.fixture(scope="module", params=["postgres+redis", "embedded"])
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    tmp: Path = tmp_path_factory.mktemp("pause_" + request.param.replace("+", "_"))
    st = make_stack(request, tmp, request.param)
    st.start_worker()
    st.start_scheduler()
    yield st
    st.close()


@pytest.fixture(scope="module")
def ops(stack: Stack) -> Iterator[httpx.Client]:
    with session_scope(stack.engine) as s:
        key = create_api_key(session=s, name="it-ops", role=Role.OPS)
    with httpx.Client(
        base_url=stack.api.url, headers={"Authorization": f"Bearer {key}"}, timeout=15
    ) as client:
        yield client


def _posts_of(stack: Stack, article_id: str) -> list[Post]:
    return [p for p in stack.posts() if str(p.article_id) == article_id]


def _attempts_for(stack: Stack, posts: list[Post]) -> list[DeliveryAttempt]:
    with Session(stack.engine) as s:
        ids = [p.id for p in posts]
        return list(
            s.exec(select(DeliveryAttempt).where(DeliveryAttempt.post_id.in_(ids))).all()  # type: ignore[attr-defined]
        )


def test_readyz_is_ready_while_the_worker_and_dispatcher_run(stack: Stack) -> None:
    response = wait_until(
        lambda: (r := httpx.get(f"{stack.api.url}/readyz", timeout=10)).status_code == 200 and r,
        timeout=20,
        message="/readyz to turn ready",
    )
    assert {c["name"]: c["ok"] for c in response.json()["checks"]} == {
        "database": True,
        "broker": True,
        "dispatcher": True,
        "workers": True,
    }


def test_due_post_waits_while_paused_and_is_published_after_resume(
    stack: Stack, ops: httpx.Client
) -> None:
    on = ops.post("/api/v1/pause", json={"reason": "integration drill: verifying a hold"})
    assert on.status_code == 200, on.text
    with session_scope(stack.engine) as s:
        article_id = str(
            ingest_article(session=s, data=parse_article(article_variant("paused"))).article.id
        )
    # Rendering still happens while paused; the posts become due at once (no delay configured).
    posts = wait_until(
        lambda: (
            (ps := _posts_of(stack, article_id))
            and all(p.status == PostStatus.SCHEDULED for p in ps)
            and ps
        ),
        timeout=60,
        message="rendered, scheduled posts\n" + stack.worker_logs(),
    )
    assert len(posts) == 3
    time.sleep(stack.settings.dispatch_interval * 15)  # many dispatcher ticks
    assert _attempts_for(stack, posts) == []
    assert {p.status for p in _posts_of(stack, article_id)} == {PostStatus.SCHEDULED}
    assert ops.get("/api/v1/pause").json()["active"] is True
    metrics = httpx.get(f"{stack.api.url}/metrics", timeout=10).text
    assert "newsrelay_global_pause 1.0" in metrics

    off = ops.delete("/api/v1/pause")
    assert off.status_code == 200 and off.json()["active"] is False
    wait_until(
        lambda: all(p.status == PostStatus.PUBLISHED for p in _posts_of(stack, article_id)),
        timeout=60,
        message="posts published after the pause was lifted\n" + stack.worker_logs(),
    )
    attempts = _attempts_for(stack, posts)
    assert len(attempts) == 3
    published = ops.get("/api/v1/deliveries", params={"status": "succeeded", "limit": 200})
    ids = {d["id"] for d in published.json()["deliveries"]}
    assert {str(a.id) for a in attempts} <= ids


def test_readyz_names_the_dispatcher_once_the_scheduler_stops(stack: Stack) -> None:
    stack.stop_scheduler()
    try:
        window = dispatcher_silence(stack.settings).total_seconds()
        response = wait_until(
            lambda: (
                (r := httpx.get(f"{stack.api.url}/readyz", timeout=10)).status_code == 503 and r
            ),
            timeout=window + 10,
            message="/readyz to report the stopped dispatcher",
        )
        body = response.json()
        assert body["errors"] == [e for e in body["errors"] if e.startswith("dispatcher:")]
        assert "dispatcher" in body["detail"]
    finally:
        stack.start_scheduler()
