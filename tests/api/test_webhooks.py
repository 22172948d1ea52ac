"""The signed CMS webhook through the HTTP API: refusals store nothing, intake is idempotent,
updates re-render what has not gone out, unpublishing cancels it, WordPress objects work."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from config import Settings
from scheduler.api.app import create_app
from scheduler.channels import ensure_sandbox_channels
from scheduler.db.engine import make_engine, session_scope
from scheduler.intake.webhooks import UNPUBLISH_REASON, sign
from scheduler.models import (
    Article,
    ArticleState,
    AuditEvent,
    Post,
    PostStatus,
    WebhookReceipt,
)

SECRET = "webhook-test-secret-0123456789"
URL = "/api/v1/webhooks/articles"


@pytest.fixture
def db(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def _settings(tmp_path: Path, db_url: str, *, secret: str | None = SECRET) -> Settings:
    return Settings(
        environment="test",
        data_dir=tmp_path / "data",
        database_url=db_url,
        webhook_secret=secret,
    )


@pytest.fixture
def client(tmp_path: Path, db_url: str, db: Engine) -> Iterator[TestClient]:
    settings = _settings(tmp_path, db_url)
    with session_scope(db) as s:
        ensure_sandbox_channels(session=s, settings=settings)
    with TestClient(create_app(settings)) as c:
        yield c


def send(
    client: TestClient,
    payload: Any,
    *,
    ts: int | None = None,
    secret: str = SECRET,
    headers: dict[str, str] | None = None,
) -> Any:
    body = json.dumps(payload).encode()
    ts = int(time.time()) if ts is None else ts
    signed = {
        "X-Newsrelay-Timestamp": str(ts),
        "X-Newsrelay-Signature": sign(secret, ts, body),
        "Content-Type": "application/json",
    }
    return client.post(URL, content=body, headers={**signed, **(headers or {})})


def counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as s:
        return {
            name: int(s.exec(select(func.count()).select_from(model)).one())
            for name, model in (
                ("articles", Article),
                ("posts", Post),
                ("receipts", WebhookReceipt),
            )
        }


NOTHING = {"articles": 0, "posts": 0, "receipts": 0}


def _problem(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    detail: str = response.json()["detail"]
    return detail


def test_unsigned_webhook_is_refused_and_nothing_stored(
    client: TestClient, db: Engine, article_json: dict[str, Any]
) -> None:
    r = client.post(URL, json={"event": "published", "article": article_json})
    assert _problem(r, 401) == "missing X-Newsrelay-Signature header"
    assert counts(db) == NOTHING


def test_wrong_signature_is_refused_and_nothing_stored(
    client: TestClient, db: Engine, article_json: dict[str, Any]
) -> None:
    r = send(client, {"event": "published", "article": article_json}, secret="not-the-secret")
    assert _problem(r, 401) == "signature does not match"
    assert counts(db) == NOTHING


def test_old_timestamp_is_refused_with_its_age(
    client: TestClient, db: Engine, article_json: dict[str, Any]
) -> None:
    r = send(client, {"event": "published", "article": article_json}, ts=int(time.time()) - 412)
    assert re.fullmatch(r"timestamp is 41[23] s old; the limit is 300 s", _problem(r, 401))
    assert counts(db) == NOTHING


def test_replayed_request_is_refused_and_changes_nothing(
    client: TestClient, db: Engine, article_json: dict[str, Any]
) -> None:
    body = json.dumps({"event": "published", "article": article_json}).encode()
    ts = int(time.time())
    headers = {
        "X-Newsrelay-Timestamp": str(ts),
        "X-Newsrelay-Signature": sign(SECRET, ts, body),
        "Content-Type": "application/json",
    }
    assert client.post(URL, content=body, headers=headers).status_code == 201
    after_first = counts(db)
    r = client.post(URL, content=body, headers=headers)
    assert _problem(r, 401) == "this signature was already used (replay)"
    assert counts(db) == after_first == {"articles": 1, "posts": 3, "receipts": 1}


def test_valid_webhook_creates_the_posts_before_it_answers(
    client: TestClient, db: Engine, article_json: dict[str, Any]
) -> None:
    r = send(client, {"event": "published", "article": {**article_json, "revision": 4}})
    assert r.status_code == 201, r.text
    data = r.json()
    assert data["created"] and not data["duplicate"] and data["revision"] == 4
    with Session(db) as s:
        posts = s.exec(select(Post)).all()
        article = s.exec(select(Article)).one()
    assert str(article.id) == data["article_id"]
    assert {str(p.id) for p in posts} == {p["id"] for p in data["posts"]}
    assert {p.platform for p in posts} == {"x", "instagram", "facebook"}
    assert all(p["status"] == "rendering" for p in data["posts"])


def test_same_revision_resent_with_a_fresh_signature_is_a_duplicate(
    client: TestClient, db: Engine, article_json: dict[str, Any]
) -> None:
    payload = {"event": "published", "article": {**article_json, "revision": 7}}
    first = send(client, payload, ts=int(time.time()) - 5)
    second = send(client, payload)
    assert first.status_code == 201 and second.status_code == 200
    assert second.json()["duplicate"] is True
    assert second.json()["article_id"] == first.json()["article_id"]
    assert counts(db) == {"articles": 1, "posts": 3, "receipts": 2}


def test_without_revision_the_content_decides_duplicate_or_new_revision(
    client: TestClient, db: Engine, article_json: dict[str, Any]
) -> None:
    send(client, {"event": "published", "article": article_json}, ts=int(time.time()) - 2)
    same = send(client, {"event": "published", "article": article_json}, ts=int(time.time()) - 1)
    assert same.json()["duplicate"] is True and same.json()["revision"] == 1
    changed = {**article_json, "title": "Dar lands in Istanbul for Gaza talks"}
    r = send(client, {"event": "published", "article": changed})
    assert r.status_code == 200 and not r.json()["duplicate"] and r.json()["revision"] == 2
    assert counts(db)["posts"] == 3


def _mark(engine: Engine, platform: str, status: PostStatus, text: str = "") -> None:
    with session_scope(engine) as s:
        post = s.exec(select(Post).where(Post.platform == platform)).one()
        post.status = status
        post.text = text
        post.rendered_revision = 1
        if status == PostStatus.PUBLISHED:
            post.external_id = "1850000000000000001"
        s.add(post)


def test_updated_rerenders_unpublished_posts_and_leaves_published_ones(
    client: TestClient, db: Engine, article_json: dict[str, Any]
) -> None:
    send(client, {"event": "published", "article": {**article_json, "revision": 1}})
    _mark(db, "x", PostStatus.PUBLISHED, "as it went out")
    _mark(db, "facebook", PostStatus.SCHEDULED, "old facebook text")
    corrected = {**article_json, "title": "Corrected headline", "revision": 2}
    r = send(client, {"event": "updated", "article": corrected})
    assert r.status_code == 200, r.text
    assert r.json()["revision"] == 2
    with Session(db) as s:
        posts = {p.platform: p for p in s.exec(select(Post)).all()}
        assert s.exec(select(Article)).one().title == "Corrected headline"
    assert posts["x"].status == PostStatus.PUBLISHED and posts["x"].text == "as it went out"
    assert posts["x"].render_requested_revision == 1
    for platform in ("facebook", "instagram"):
        assert posts[platform].status == PostStatus.RENDERING
        assert posts[platform].render_requested_revision == 2


def test_unpublished_cancels_pending_posts_and_leaves_the_published_one(
    client: TestClient, db: Engine, article_json: dict[str, Any]
) -> None:
    send(client, {"event": "published", "article": article_json}, ts=int(time.time()) - 1)
    _mark(db, "x", PostStatus.PUBLISHED, "as it went out")
    _mark(db, "facebook", PostStatus.SCHEDULED, "scheduled text")
    ref = {"source": article_json["source"], "external_id": article_json["external_id"]}
    r = send(client, {"event": "unpublished", "article": ref})
    assert r.status_code == 200, r.text
    assert r.json()["cancelled"] == 2
    with Session(db) as s:
        posts = {p.platform: p for p in s.exec(select(Post)).all()}
        article = s.exec(select(Article)).one()
        audit = s.exec(select(AuditEvent).where(AuditEvent.action == "article.unpublish")).one()
    assert article.state == ArticleState.UNPUBLISHED
    assert posts["x"].status == PostStatus.PUBLISHED and posts["x"].last_error is None
    for platform in ("facebook", "instagram"):
        assert posts[platform].status == PostStatus.CANCELLED
        assert posts[platform].last_error == UNPUBLISH_REASON
    assert audit.detail is not None and "1 published" in audit.detail


def wordpress_post(**overrides: Any) -> dict[str, Any]:
    """A WordPress REST post object as ``GET /wp-json/wp/v2/posts/<id>?_embed`` returns it."""
    post: dict[str, Any] = {
        "id": 48213,
        "date": "2025-11-03T16:35:00",
        "date_gmt": "2025-11-03T11:35:00",
        "guid": {"rendered": "https://southasiandesk.example/?p=48213"},
        "modified": "2025-11-03T16:50:12",
        "modified_gmt": "2025-11-03T11:50:12",
        "slug": "pakistan-fm-dar-istanbul-gaza-talks",
        "status": "publish",
        "type": "post",
        "link": "https://southasiandesk.example/2025/11/03/pakistan-fm-dar-istanbul-gaza-talks/",
        "title": {"rendered": "Pakistan FM Dar&#8217;s Istanbul Gaza Talks &amp; Ceasefire"},
        "content": {
            "rendered": "<p>Pakistan&#8217;s Foreign Minister Ishaq Dar reached Istanbul.</p>\n"
            '<h2>Background</h2>\n<p>The <a href="/oic">OIC</a> unites 57 states.</p>\n',
            "protected": False,
        },
        "excerpt": {
            "rendered": "<p>Dar reached Istanbul on Monday for talks &hellip;</p>\n",
            "protected": False,
        },
        "author": 7,
        "featured_media": 48214,
        "categories": [12],
        "tags": [301, 302],
        "jetpack_featured_media_url": "https://southasiandesk.example/wp-content/uploads/dar.jpg",
        "_embedded": {
            "author": [{"id": 7, "name": "SouthAsianDesk"}],
            "wp:featuredmedia": [
                {"id": 48214, "source_url": "https://southasiandesk.example/media/dar-full.jpg"}
            ],
            "wp:term": [
                [{"id": 12, "taxonomy": "category", "name": "South Asia"}],
                [
                    {"id": 301, "taxonomy": "post_tag", "name": "Gaza"},
                    {"id": 302, "taxonomy": "post_tag", "name": "Law &amp; Order"},
                ],
            ],
        },
    }
    post.update(overrides)
    return post


def test_wordpress_post_object_is_mapped_to_an_article(client: TestClient, db: Engine) -> None:
    wp_source = {"X-Newsrelay-Source": "southasiandesk-wp"}
    r = send(client, wordpress_post(), ts=int(time.time()) - 2, headers=wp_source)
    assert r.status_code == 201, r.text
    with Session(db) as s:
        article = s.exec(select(Article)).one()
    assert article.source == "southasiandesk-wp" and article.external_id == "48213"
    assert article.title == "Pakistan FM Dar\u2019s Istanbul Gaza Talks & Ceasefire"
    assert article.summary == "Dar reached Istanbul on Monday for talks …"
    assert article.body == (
        "Pakistan\u2019s Foreign Minister Ishaq Dar reached Istanbul.\n\nBackground\n\n"
        "The OIC unites 57 states."
    )
    assert article.tags == ["Gaza", "Law & Order"] and article.section == "South Asia"
    assert article.image_url == "https://southasiandesk.example/wp-content/uploads/dar.jpg"
    assert article.author == "SouthAsianDesk"
    assert article.published_at is not None
    assert article.published_at.isoformat() == "2025-11-03T11:35:00+00:00"
    assert article.revision == 1762170612  # modified_gmt in epoch seconds
    assert counts(db)["posts"] == 3

    again = send(client, wordpress_post(), ts=int(time.time()) - 1, headers=wp_source)
    assert again.json()["duplicate"] is True

    trashed = wordpress_post(status="trash", modified_gmt="2025-11-03T12:10:00")
    r = send(client, trashed, headers=wp_source)
    assert r.status_code == 200 and r.json()["event"] == "unpublished"
    assert r.json()["cancelled"] == 3


def test_wordpress_excerpt_more_and_feed_footer_are_stripped(
    client: TestClient, db: Engine
) -> None:
    footer = (
        '<p>The post <a href="https://southasiandesk.example/dar/">Dar in Istanbul</a> '
        'appeared first on <a href="https://southasiandesk.example">South Asian Desk</a>.</p>\n'
    )
    post = wordpress_post(
        excerpt={"rendered": "<p>Dar reached Istanbul on Monday for talks [&hellip;]</p>\n"},
        content={"rendered": "<p>Dar reached Istanbul.</p>\n" + footer},
    )
    assert send(client, post).status_code == 201
    with Session(db) as s:
        article = s.exec(select(Article)).one()
    assert article.summary == "Dar reached Istanbul on Monday for talks…"
    assert article.body == "Dar reached Istanbul."


def test_wordpress_image_falls_back_to_embedded_media_and_source_defaults(
    client: TestClient, db: Engine
) -> None:
    post = wordpress_post()
    del post["jetpack_featured_media_url"]
    assert send(client, post).status_code == 201
    with Session(db) as s:
        article = s.exec(select(Article)).one()
    assert article.source == "wordpress"
    assert article.image_url == "https://southasiandesk.example/media/dar-full.jpg"


def test_webhooks_are_disabled_without_a_secret(
    tmp_path: Path, db_url: str, db: Engine, article_json: dict[str, Any]
) -> None:
    with TestClient(create_app(_settings(tmp_path, db_url, secret=None))) as c:
        r = send(c, {"event": "published", "article": article_json})
    assert _problem(r, 503) == "webhooks are disabled: set NEWSRELAY_WEBHOOK_SECRET"
    assert counts(db) == NOTHING


def test_invalid_article_gets_one_error_per_field_and_nothing_stored(
    client: TestClient, db: Engine, article_json: dict[str, Any]
) -> None:
    bad = {**article_json, "url": "ftp://x", "published_at": "2025-11-03T16:35:00", "colour": 1}
    del bad["title"]
    r = send(client, {"event": "published", "article": bad})
    _problem(r, 422)
    errors = r.json()["errors"]
    assert len(errors) == 4
    assert any(e.startswith("title:") for e in errors)
    assert any(e.startswith("url:") for e in errors)
    assert any(e.startswith("published_at:") for e in errors)
    assert "colour: unknown field" in errors
    assert counts(db) == NOTHING

    r = send(client, {"event": "deleted", "article": article_json})
    assert "event: must be one of published, updated, unpublished" in r.json()["errors"]
    assert counts(db) == NOTHING


def test_webhook_article_no_channel_takes_creates_no_post_and_says_so(
    client: TestClient, db: Engine, article_json: dict[str, Any]
) -> None:
    from scheduler.intake.routing import NO_ROUTE_NOTE
    from scheduler.models import Channel

    with session_scope(db) as s:
        for channel in s.exec(select(Channel)).all():
            channel.settings = {**(channel.settings or {}), "routing": {"sections": ["Sports"]}}
            s.add(channel)
    r = send(client, {"event": "published", "article": article_json})
    assert r.status_code == 201, r.text
    assert r.json()["posts_created"] == 0
    assert r.json()["note"] == NO_ROUTE_NOTE
    assert r.json()["posts"] == []
    assert counts(db) == {"articles": 1, "posts": 0, "receipts": 1}
