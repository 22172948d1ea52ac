"""Failures reach a person: grouped, rate-limited alerts to a signed webhook and to SMTP email,
sent once however many scheduler replicas evaluate them (real PostgreSQL/SQLite, real receivers)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from config import Settings
from config.settings import AlertSettings
from scheduler.channels import ensure_sandbox_channels
from scheduler.db.engine import make_engine, session_scope
from scheduler.models import AttemptStatus, Channel, Post, PostStatus, utcnow
from scheduler.ops.alert_models import AlertState
from scheduler.ops.alerts import (
    alert_tick,
    current_findings,
    due_messages,
    record_findings,
    send_messages,
)
from scheduler.ops.state import (
    DISPATCHER_HEARTBEAT,
    WORKER_HEARTBEAT_PREFIX,
    lift_global_pause,
    put_state,
    set_global_pause,
)
from tests.ops.alert_receivers import smtp_server, webhook_receiver
from tests.utils.factories import add_attempt, seed_article

SECRET = "whsec-alerts-9f8e7d"
SMTP_PASSWORD = "smtp-pass-5a4b3c"


@pytest.fixture
def world(tmp_path: Path, engine: Engine, article_json: dict[str, Any]) -> Iterator[Post]:
    """Sandbox channels (no token expiry, so only what a test sets up is alerting) and one
    article's X post."""
    settings = Settings(environment="test", data_dir=tmp_path / "data")
    with session_scope(engine) as s:
        ensure_sandbox_channels(session=s, settings=settings)
        s.execute(sa.update(Channel).values(token_expires_at=None))
    posts = seed_article(engine, article_json, tag="alerts")
    yield next(p for p in posts if p.platform == "x")


def _settings(tmp_path: Path, **alerts: Any) -> Settings:
    return Settings(environment="test", data_dir=tmp_path / "data", alerts=AlertSettings(**alerts))


def _failing_posts(engine: Engine, like: Post, n: int) -> list[Post]:
    """``n`` failed posts on ``like``'s channel, each with a failed attempt a minute ago."""
    posts = []
    with session_scope(engine) as s:
        for i in range(n):
            post = Post(
                article_id=like.article_id,
                channel_id=like.channel_id,
                platform=like.platform,
                kind=f"variant{i}",
                status=PostStatus.FAILED,
            )
            s.add(post)
            posts.append(post)
        s.flush()
        s.expunge_all()
    for post in posts:
        add_attempt(engine, post, status=AttemptStatus.FAILED, error_class="retry", minutes_ago=1)
    return posts


def test_an_outage_is_one_message_one_reminder_and_one_resolved(
    tmp_path: Path, engine: Engine, world: Post
) -> None:
    posts = _failing_posts(engine, world, 50)
    with webhook_receiver(secret=SECRET) as hook:
        settings = _settings(
            tmp_path, webhook_url=hook.url, webhook_secret=SecretStr(SECRET), reminder_minutes=60
        )
        now = utcnow()
        alert_tick(engine=engine, settings=settings, now=now)
        alert_tick(engine=engine, settings=settings, now=now + timedelta(seconds=30))
        alert_tick(engine=engine, settings=settings, now=now + timedelta(minutes=59))
        assert hook.refused == 0
        assert hook.texts() == [
            "[newsrelay] ALERT: Channel Sandbox X is failing: its last 10 delivery attempts failed."
        ]
        body = hook.accepted[0]
        assert body["blocks"][0]["text"]["text"] == f"*{body['text']}*"

        alert_tick(engine=engine, settings=settings, now=now + timedelta(minutes=61))
        alert_tick(engine=engine, settings=settings, now=now + timedelta(minutes=62))
        assert len(hook.texts()) == 2
        assert hook.texts()[1].startswith("[newsrelay] STILL OPEN: Channel Sandbox X is failing")

        add_attempt(engine, posts[0], status=AttemptStatus.SUCCEEDED)
        for minutes in (63, 64, 200):
            alert_tick(engine=engine, settings=settings, now=now + timedelta(minutes=minutes))
        assert len(hook.texts()) == 3
        assert hook.texts()[2].startswith("[newsrelay] RESOLVED: Channel Sandbox X is failing")
        assert hook.texts()[2].endswith("Now resolved.")
    with session_scope(engine) as s:
        (row,) = s.exec(select(AlertState)).all()
        assert row.condition == "channel_failing" and row.sends == 3
        assert row.resolved_at is not None and row.resolved_sent_at is not None
        assert row.sent_to == "webhook" and row.last_error is None


def test_needs_review_posts_on_one_channel_are_one_alert_with_the_count(
    tmp_path: Path, engine: Engine, world: Post
) -> None:
    posts = _failing_posts(engine, world, 50)
    with session_scope(engine) as s:
        s.execute(
            sa.update(Post).where(col(Post.kind).like("variant%")).values(status="needs_review")
        )
    add_attempt(engine, posts[0], status=AttemptStatus.SUCCEEDED)  # the channel is not failing
    with webhook_receiver(secret=SECRET) as hook:
        settings = _settings(tmp_path, webhook_url=hook.url, webhook_secret=SecretStr(SECRET))
        alert_tick(engine=engine, settings=settings)
        alert_tick(engine=engine, settings=settings)
        assert hook.texts() == [
            "[newsrelay] ALERT: 50 posts on Sandbox X need review "
            "(the outcome is unknown; check the account)."
        ]
        assert "50 affected" in hook.accepted[0]["blocks"][1]["elements"][0]["text"]


def test_every_condition_is_found(tmp_path: Path, engine: Engine, world: Post) -> None:
    settings = _settings(tmp_path)
    now = utcnow()
    assert current_findings(engine=engine, settings=settings, now=now) == []
    with session_scope(engine) as s:
        s.execute(
            sa.update(Channel)
            .where(col(Channel.platform) == "facebook")
            .values(status="needs_reauth")
        )
        s.execute(
            sa.update(Channel)
            .where(col(Channel.platform) == "instagram")
            .values(token_expires_at=now + timedelta(days=3, minutes=1))
        )
        s.execute(sa.update(Post).where(col(Post.id) == world.id).values(status="needs_review"))
        set_global_pause(session=s, actor="user:ops", reason="bad feed")
        put_state(session=s, key=DISPATCHER_HEARTBEAT, value={})
        put_state(session=s, key=WORKER_HEARTBEAT_PREFIX + "w1", value={})
        s.execute(
            sa.text("UPDATE service_state SET updated_at = :t WHERE key LIKE 'heartbeat:%'"),
            {"t": now - timedelta(minutes=5)},
        )
    found = {f.condition: f.text for f in current_findings(engine=engine, settings=settings)}
    assert found == {
        "channel_reauth": "Channel Sandbox Facebook needs reconnecting: "
        "the platform refuses its login.",
        "token_expiring": "Instagram token for Sandbox Instagram expires in 3 days — reconnect.",
        "needs_review": "1 post on Sandbox X needs review "
        "(the outcome is unknown; check the account).",
        "kill_switch": "The kill switch is on (by user:ops: bad feed).",
        "dispatcher_stalled": found["dispatcher_stalled"],
        "workers_stalled": found["workers_stalled"],
    }
    assert found["dispatcher_stalled"].startswith("The dispatcher last ticked 3")
    assert found["workers_stalled"].startswith("No worker has answered for 3")


def _tick_together(engines: list[Engine], settings: Settings) -> list[BaseException]:
    """Every engine (a replica) runs one alert tick, all released at the same instant."""
    barrier = threading.Barrier(len(engines))
    errors: list[BaseException] = []

    def replica(e: Engine) -> None:
        try:
            barrier.wait()
            alert_tick(engine=e, settings=settings)
        except BaseException as exc:  # surfaced by the caller
            errors.append(exc)

    threads = [threading.Thread(target=replica, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_two_replicas_send_each_message_once(
    tmp_path: Path, db_url: str, engine: Engine, world: Post
) -> None:
    with session_scope(engine) as s:
        set_global_pause(session=s, actor="user:ops", reason="drill")
    engines = [make_engine(db_url), make_engine(db_url)]
    with webhook_receiver(secret=SECRET) as hook:
        settings = _settings(tmp_path, webhook_url=hook.url, webhook_secret=SecretStr(SECRET))
        for round_ in range(5):  # five rounds of both replicas ticking at the same instant
            errors = _tick_together(engines, settings)
            assert errors == []
            if round_ == 2:
                with session_scope(engine) as s:
                    s.execute(
                        sa.text(
                            "UPDATE service_state SET value = '{\"active\": false}' "
                            "WHERE key = 'global_pause'"
                        )
                    )
        assert hook.texts() == [
            "[newsrelay] ALERT: The kill switch is on (by user:ops: drill).",
            "[newsrelay] RESOLVED: The kill switch is on (by user:ops: drill). Now resolved.",
        ]
    for e in engines:
        e.dispose()


def test_replicas_that_read_the_same_due_alerts_send_them_once(
    tmp_path: Path, engine: Engine, world: Post
) -> None:
    """The worst interleaving, made deterministic: both replicas read the due list before
    either claims; the compare-and-set lets only the first send, for the open and the resolved
    message alike."""
    with session_scope(engine) as s:
        set_global_pause(session=s, actor="user:ops", reason="drill")
    with webhook_receiver(secret=SECRET) as hook:
        settings = _settings(tmp_path, webhook_url=hook.url, webhook_secret=SecretStr(SECRET))
        for expected in (1, 2):
            now = utcnow()
            findings = current_findings(engine=engine, settings=settings, now=now)
            record_findings(engine=engine, findings=findings, now=now)
            reads = [due_messages(engine=engine, settings=settings.alerts, now=now) for _ in "ab"]
            assert len(reads[0]) == len(reads[1]) == 1
            for due in reads:
                send_messages(engine=engine, settings=settings.alerts, due=due, now=now)
            assert len(hook.texts()) == expected
            with session_scope(engine) as s:
                lift_global_pause(session=s, actor="user:ops")
    assert hook.texts()[1].startswith("[newsrelay] RESOLVED: The kill switch is on")


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_email_reaches_a_real_smtp_server_and_holds_no_secret(
    tmp_path: Path, engine: Engine, world: Post, capfd: pytest.CaptureFixture[str]
) -> None:
    with session_scope(engine) as s:
        set_global_pause(session=s, actor="user:ops", reason="storm")
    with smtp_server(user="alerts", password=SMTP_PASSWORD) as smtp:
        settings = _settings(
            tmp_path,
            smtp_host="127.0.0.1",
            smtp_port=smtp.port,
            smtp_user="alerts",
            smtp_password=SecretStr(SMTP_PASSWORD),
            smtp_starttls=False,
            smtp_from="newsrelay@desk.example",
            email_to=["oncall@desk.example", "ops@desk.example"],
        )
        alert_tick(engine=engine, settings=settings)
        alert_tick(engine=engine, settings=settings)
    assert smtp.logins == [("alerts", "PLAIN")] or smtp.logins == [("alerts", "LOGIN")]
    (mail,) = smtp.messages
    assert mail["Subject"] == "[newsrelay] ALERT: The kill switch is on (by user:ops: storm)."
    assert mail["From"] == "newsrelay@desk.example"
    assert smtp.envelopes[0].rcpt_tos == ["oncall@desk.example", "ops@desk.example"]
    assert "Condition: kill_switch" in mail.get_payload()
    raw = smtp.envelopes[0].content
    assert isinstance(raw, bytes) and SMTP_PASSWORD.encode() not in raw
    out = capfd.readouterr()
    assert SMTP_PASSWORD not in out.out + out.err
    with session_scope(engine) as s:
        (row,) = s.exec(select(AlertState)).all()
        assert row.sent_to == "email"


def test_a_refusing_webhook_is_recorded_without_any_secret(
    tmp_path: Path, engine: Engine, world: Post, capfd: pytest.CaptureFixture[str]
) -> None:
    slack_path = f"/services/T000/B000/{uuid.uuid4().hex}"  # for Slack, the path is the secret
    with session_scope(engine) as s:
        set_global_pause(session=s, actor="user:ops", reason="storm")
    with webhook_receiver(secret="the-receiver-expects-another", path=slack_path) as hook:
        settings = _settings(tmp_path, webhook_url=hook.url, webhook_secret=SecretStr(SECRET))
        alert_tick(engine=engine, settings=settings)
    assert hook.refused == 1 and hook.accepted == []
    with session_scope(engine) as s:
        (row,) = s.exec(select(AlertState)).all()
    assert row.last_error == "webhook to 127.0.0.1: HTTP 401"
    assert row.sent_to == ""
    out = capfd.readouterr()
    for secret in (SECRET, slack_path):
        assert secret not in out.out + out.err
        assert secret not in (row.last_error or "") + row.text


def test_an_alert_back_after_its_resolved_message_is_announced_again_a_flap_is_not(
    tmp_path: Path, engine: Engine, world: Post
) -> None:
    with webhook_receiver(secret=SECRET) as hook:
        settings = _settings(tmp_path, webhook_url=hook.url, webhook_secret=SecretStr(SECRET))
        now = utcnow()
        with session_scope(engine) as s:
            set_global_pause(session=s, actor="user:ops", reason="one")
        alert_tick(engine=engine, settings=settings, now=now)
        with session_scope(engine) as s:
            lift_global_pause(session=s, actor="user:ops")
        # Resolved and back before any tick sent "resolved": still the same open alert.
        record_findings(engine=engine, findings=[], now=now)
        with session_scope(engine) as s:
            set_global_pause(session=s, actor="user:ops", reason="one")
        alert_tick(engine=engine, settings=settings, now=now)
        assert len(hook.texts()) == 1
        with session_scope(engine) as s:
            lift_global_pause(session=s, actor="user:ops")
        alert_tick(engine=engine, settings=settings, now=now)
        with session_scope(engine) as s:
            set_global_pause(session=s, actor="user:ops", reason="two")
        alert_tick(engine=engine, settings=settings, now=now)
        assert [t.split(":")[0] for t in hook.texts()] == [
            "[newsrelay] ALERT",
            "[newsrelay] RESOLVED",
            "[newsrelay] ALERT",
        ]
        assert hook.texts()[2].endswith("(by user:ops: two).")
