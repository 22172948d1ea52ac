"""The ops API through HTTP on SQLite and PostgreSQL: metrics and readiness."""

from __future__ import annotations

from typing import Any

from scheduler.db.engine import session_scope
from scheduler.models import AttemptStatus
from scheduler.ops.state import DISPATCHER_HEARTBEAT, WORKER_HEARTBEAT_PREFIX, beat
from tests.api.conftest import ApiHarness
from tests.utils.factories import add_attempt, by_platform, seed_article


def _metric(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        head, _, value = line.rpartition(" ")
        metric, _, label_text = head.partition("{")
        if metric != name:
            continue
        found = dict(
            part.split("=", 1) for part in label_text.rstrip("}").split(",") if "=" in part
        )
        if all(found.get(k) == f'"{v}"' for k, v in labels.items()):
            return float(value)
    raise AssertionError(f"{name}{labels} not in metrics:\n{text}")


def test_metrics_report_posts_deliveries_lateness_latency_and_liveness(
    api: ApiHarness, article_json: dict[str, Any]
) -> None:
    posts = by_platform(seed_article(api.engine, article_json))
    add_attempt(api.engine, posts["x"], latency_ms=300)
    add_attempt(
        api.engine,
        posts["instagram"],
        status=AttemptStatus.FAILED,
        error_class="permanent",
        latency_ms=7000,
    )
    with session_scope(api.engine) as s:
        beat(session=s, key=DISPATCHER_HEARTBEAT)
        beat(session=s, key=WORKER_HEARTBEAT_PREFIX + "w1@test")
    api.client.post("/api/v1/pause", json={"reason": "drill"}, headers=api.headers("ops"))

    response = api.client.get("/metrics")  # no key: Prometheus scrapes without one
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert _metric(text, "newsrelay_posts", status="scheduled", channel="Sandbox Facebook") == 1
    assert (
        _metric(
            text,
            "newsrelay_deliveries_total",
            outcome="succeeded",
            error_class="",
            channel="Sandbox X",
        )
        == 1
    )
    assert (
        _metric(
            text,
            "newsrelay_deliveries_total",
            outcome="failed",
            error_class="permanent",
            channel="Sandbox Instagram",
        )
        == 1
    )
    # Both attempts started 2 s after they were due.
    assert _metric(text, "newsrelay_dispatch_lateness_seconds_bucket", le="1.0") == 0
    assert _metric(text, "newsrelay_dispatch_lateness_seconds_bucket", le="5.0") == 2
    assert _metric(text, "newsrelay_dispatch_lateness_seconds_count") == 2
    assert abs(_metric(text, "newsrelay_dispatch_lateness_seconds_sum") - 4.0) < 0.01
    x = "Sandbox X"
    assert _metric(text, "newsrelay_platform_latency_seconds_bucket", channel=x, le="0.5") == 1
    ig = "Sandbox Instagram"
    assert _metric(text, "newsrelay_platform_latency_seconds_bucket", channel=ig, le="5.0") == 0
    assert _metric(text, "newsrelay_platform_latency_seconds_bucket", channel=ig, le="10.0") == 1
    assert _metric(text, "newsrelay_dispatcher_last_tick_age_seconds") < 30
    assert _metric(text, "newsrelay_workers_alive") == 1
    assert _metric(text, "newsrelay_global_pause") == 1


def test_readyz_names_the_dispatcher_and_workers_when_they_are_silent(api: ApiHarness) -> None:
    silent = api.client.get("/readyz")
    assert silent.status_code == 503
    assert silent.headers["content-type"] == "application/problem+json"
    errors = silent.json()["errors"]
    assert [e.split(":")[0] for e in errors] == ["dispatcher", "workers"]
    with session_scope(api.engine) as s:
        beat(session=s, key=DISPATCHER_HEARTBEAT)
        beat(session=s, key=WORKER_HEARTBEAT_PREFIX + "w1@test")
    ready = api.client.get("/readyz")
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["status"] == "ready"
    assert [c["name"] for c in body["checks"]] == ["database", "broker", "dispatcher", "workers"]
