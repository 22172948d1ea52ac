"""End to end through real Celery worker processes and the sandbox platform over HTTP:
the fixture article becomes three published posts, once each, on both runtimes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, select

from scheduler.db.engine import session_scope
from scheduler.intake.articles import ingest_article
from scheduler.intake.schemas import parse_article
from scheduler.models import AttemptStatus, DeliveryAttempt, Post, PostStatus
from tests.integration.conftest import make_stack
from tests.utils.factories import article_variant
from tests.utils.stack import Stack, wait_until


@pytest.fixture(scope="module", params=["postgres+redis", "embedded"])
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    tmp: Path = tmp_path_factory.mktemp(request.param.replace("+", "_"))
    st = make_stack(request, tmp, request.param)
    st.start_worker()
    st.start_scheduler()
    yield st
    st.close()


def ingest(stack: Stack, tag: str) -> str:
    with session_scope(stack.engine) as s:
        result = ingest_article(session=s, data=parse_article(article_variant(tag)))
        return str(result.article.id)


def article_posts(stack: Stack, article_id: str) -> list[Post]:
    return [p for p in stack.posts() if str(p.article_id) == article_id]


def settled(stack: Stack, article_id: str, statuses: set[str]) -> list[Post] | None:
    posts = article_posts(stack, article_id)
    return posts if posts and all(p.status in statuses for p in posts) else None


def test_fixture_article_ends_as_three_published_posts_with_attempts_recorded(
    stack: Stack,
) -> None:
    article_id = ingest(stack, "e2e")
    posts = wait_until(
        lambda: settled(stack, article_id, {PostStatus.PUBLISHED}),
        timeout=60,
        message="three published posts\n" + stack.worker_logs(),
    )
    assert sorted(p.platform for p in posts) == ["facebook", "instagram", "x"]
    for post in posts:
        assert post.external_id and post.external_url, post
        assert post.rendered_revision == 1
    with Session(stack.engine) as s:
        attempts = s.exec(
            select(DeliveryAttempt).where(DeliveryAttempt.post_id.in_([p.id for p in posts]))
        ).all()  # type: ignore[attr-defined]
    assert len(attempts) == 3
    assert {a.status for a in attempts} == {AttemptStatus.SUCCEEDED}
    assert all(a.latency_ms is not None and a.worker and a.http_status for a in attempts)
    # Exactly one live post per channel on the platforms.
    live = [p for p in stack.client.posts() if "e2e" in (p.get("text") or "")]
    assert sorted(p["platform"] for p in live) == ["facebook", "instagram", "x"]
    ig = next(p for p in posts if p.platform == "instagram")
    assert ig.media and ig.media[0]["url"].startswith(stack.api.url)
