"""``GET /api/v1/alerts``: ops see open and resolved alerts, when each was sent and where."""

from __future__ import annotations

from pydantic import SecretStr

from config.settings import AlertSettings
from scheduler.db.engine import session_scope
from scheduler.ops.alerts import alert_tick
from scheduler.ops.state import lift_global_pause, set_global_pause
from tests.api.conftest import ApiHarness
from tests.ops.alert_receivers import webhook_receiver

SECRET = "whsec-api-3c2b1a"


def test_alert_history_lists_open_then_resolved_with_where_sent(api: ApiHarness) -> None:
    with session_scope(api.engine) as s:
        set_global_pause(session=s, actor="user:ops", reason="drill")
    with webhook_receiver(secret=SECRET) as hook:
        settings = api.settings.model_copy(
            update={"alerts": AlertSettings(webhook_url=hook.url, webhook_secret=SecretStr(SECRET))}
        )
        alert_tick(engine=api.engine, settings=settings)
        first = api.client.get("/api/v1/alerts", headers=api.headers("ops")).json()["alerts"]
        with session_scope(api.engine) as s:
            lift_global_pause(session=s, actor="user:ops")
        alert_tick(engine=api.engine, settings=settings)
    kill = [a for a in first if a["condition"] == "kill_switch"]
    assert len(kill) == 1 and kill[0]["open"] is True
    assert kill[0]["label"] == "Kill switch on" and kill[0]["sent_to"] == ["webhook"]
    assert kill[0]["last_sent"] is not None and kill[0]["sends"] == 1

    response = api.client.get("/api/v1/alerts", headers=api.headers("ops"))
    assert response.status_code == 200
    (after,) = [a for a in response.json()["alerts"] if a["condition"] == "kill_switch"]
    assert after["open"] is False and after["sends"] == 2
    assert after["resolved_at"] is not None and after["resolved_sent_at"] is not None
    assert SECRET not in response.text and hook.url not in response.text


def test_alert_history_is_for_ops(api: ApiHarness) -> None:
    assert api.client.get("/api/v1/alerts", headers=api.headers("editor")).status_code == 403
    assert api.client.get("/api/v1/alerts").status_code == 401
    response = api.client.get("/api/v1/alerts?limit=0", headers=api.headers("ops"))
    assert response.status_code == 422
